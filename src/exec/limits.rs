//! The bounds the executor works within, in one place (the log's own are in the runtime's
//! `limits.rs`). Each says what happens when it is reached; docs/execution.md lists them
//! for users.

/// The largest record the log takes (key, value and headers, encoded). A sink row larger
/// than this stops its query with a topic error (KQL0601) naming the query and topic.
pub use crate::exec::log::RECORD_BYTES_MAX;

/// How many records a task fetches and processes at once: the unit of work between two
/// checks for cancellation and of the rows a task hands on.
pub const FETCH_BATCH_RECORDS: usize = 4096;

/// The stack of each thread that runs tasks. Expressions are evaluated by recursion over
/// their tree, whose depth the syntax limits bound (a chain of up to `OPERATORS_MAX`
/// binary operators leans one level per operator, plus `NESTING_MAX` levels of nesting):
/// about 1,100 levels, of up to 5 KB each in a debug build. Tokio's default of 2 MiB
/// holds about 450; this leaves room for the rest. It is address space, touched only as
/// deep as an expression goes.
pub const TASK_STACK_BYTES: usize = 16 << 20;

/// How many bad records are kept with their details for the report (all are counted).
pub const BAD_RECORD_SAMPLES: usize = 10;

/// How many batches (of rows, or of records to append) may wait in the driver's channel
/// from a task to the merge: a task that gets ahead waits, so memory stays bounded by the
/// slowest task.
pub const CHANNEL_BATCHES: usize = 4;

/// How far, in bytes of lines, a source connector's load may get ahead of the slowest
/// query reading its topic as it loads (`log::LoadProgress`): with the chunk appended on
/// top, within the newest 4 MiB of a partition that a log without a data directory keeps
/// in memory, so that the queries do not read the load back from the disk.
pub const LOAD_LEAD_BYTES: u64 = 1 << 20;

/// Records appended to one partition of a sink or internal topic in one batch.
pub const APPEND_BATCH_RECORDS: usize = 4096;

/// The most groups one aggregation task holds (a group per key, and per window of a
/// windowed aggregation; a key's sessions count once): about 1 to 2 GB of state. A record
/// that would open one more stops the query with KQL0604 (its state up to that batch is
/// not committed), instead of growing until the
/// process dies.
pub const GROUPS_PER_TASK_MAX: usize = 8_000_000;

/// The most rows one join task holds: the table rows of a stream-table join's partition,
/// the rows of both tables of a table-table or foreign-key join, the records in the windows
/// of both sides of a stream-stream join, the rows of a global table. About the memory of
/// `GROUPS_PER_TASK_MAX`. A record that would add one more stops the query with KQL0604
/// (nothing since its last commit is committed), instead of growing until the process dies.
pub const JOIN_ROWS_PER_TASK_MAX: usize = 8_000_000;

/// The environment variable that lowers the state bounds (`GROUPS_PER_TASK_MAX`,
/// `JOIN_ROWS_PER_TASK_MAX`) of every task of a process, for a machine with less memory
/// than they assume. It never raises them.
pub const STATE_ROWS_MAX_VARIABLE: &str = "KQL_STATE_ROWS_MAX";

/// `default`, or the lower bound `STATE_ROWS_MAX_VARIABLE` sets (read once per process; a
/// value that is not a number is reported on stderr and ignored).
pub fn state_rows_max(default: usize) -> usize {
    static LOWERED: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let lowered = *LOWERED.get_or_init(|| {
        let value = std::env::var(STATE_ROWS_MAX_VARIABLE).ok()?;
        match value.trim().parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => {
                eprintln!(
                    "warning: {STATE_ROWS_MAX_VARIABLE}='{value}' is not a number of rows; \
                     the default state bounds apply"
                );
                None
            }
        }
    });
    lowered.map_or(default, |n| n.min(default))
}

/// The longest line a file source connector takes, key included: one record of the log,
/// less room for its framing. A longer line stops the connector with its line number.
pub const LINE_BYTES_MAX: usize = RECORD_BYTES_MAX - 1024;

/// The most bytes a file source connector reads in one run from a file that is not a
/// regular file (a pipe, a device); then it stops and says so.
pub const STREAM_BYTES_MAX: u64 = 256 << 20;

/// The most records a task of a query that several processes share reads in one round:
/// under exactly-once a round's work goes into the open transaction, which must commit
/// within the transaction timeout (10 s), and the query's group member is polled between
/// rounds (a member silent for `max.poll.interval.ms` is dropped from the group).
pub const SHARED_ROUND_RECORDS_MAX: u64 = 50_000;
