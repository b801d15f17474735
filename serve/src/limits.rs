//! Every limit of the wire-protocol server, in one place. Each bounds what one client can
//! make the server hold or wait for.

use std::time::Duration;

/// A request frame larger than this is refused and its connection closed (Kafka's
/// `socket.request.max.bytes` is 100 MiB; a producer's default request is at most 1 MiB).
pub const REQUEST_FRAME_BYTES_MAX: usize = 16 * 1024 * 1024;

/// The bytes the compressed batches of one Produce request may expand to. Requests are
/// handled one at a time per connection, and a Produce without waiting (so at most one
/// per runtime thread at once), which bounds the memory expansions take. Past it the
/// partition's batch is refused with MESSAGE_TOO_LARGE. A producer's request is 1 MiB
/// by default: this allows a 64-fold expansion of it.
pub const PRODUCE_EXPANDED_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Request bytes held at once by all connections together: a frame's buffer is reserved
/// from this budget before it is read, so many large requests wait instead of exhausting
/// memory.
pub const REQUEST_BYTES_IN_FLIGHT_MAX: usize = 256 * 1024 * 1024;

/// Open connections across every listener; more are accepted and closed at once.
pub const CONNECTIONS_MAX: usize = 1024;

/// A connection that sends no request for this long is closed (Kafka: 10 minutes).
pub const CONNECTION_IDLE: Duration = Duration::from_secs(600);

/// Once a frame's length has arrived, the rest must arrive within this time (a slow or
/// half-open client loses its connection instead of holding a buffer forever).
pub const FRAME_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A response the client does not read within this time closes the connection.
pub const RESPONSE_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a Fetch waits for `min_bytes` (its `max_wait_ms` is capped to this).
pub const FETCH_WAIT_MAX: Duration = Duration::from_secs(30);

/// How often a waiting Fetch looks again for records written by the file's queries (a
/// Produce through the wire wakes it at once).
pub const FETCH_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The most record bytes one Fetch response carries, whatever the request's `max_bytes`.
pub const FETCH_RESPONSE_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Records read from the log per partition and read call while a Fetch fills its response.
pub const FETCH_READ_RECORDS: usize = 4096;

/// A JoinGroup or SyncGroup waits at most this long for the rest of the group, whatever
/// the client's rebalance timeout says.
pub const REBALANCE_WAIT_MAX: Duration = Duration::from_secs(300);

/// Session timeouts a member may ask for (Kafka's group.min/max.session.timeout.ms).
pub const SESSION_TIMEOUT_MIN: Duration = Duration::from_millis(1000);
pub const SESSION_TIMEOUT_MAX: Duration = Duration::from_secs(1800);

/// Members of one group, and groups with live members, at most.
pub const GROUP_MEMBERS_MAX: usize = 1000;
pub const GROUPS_MAX: usize = 10_000;

/// Idempotent producers whose last sequence numbers are remembered (per partition);
/// beyond it the table is cleared and producers start over (a retry after that may be
/// appended twice).
pub const PRODUCER_STATES_MAX: usize = 100_000;

/// The allocation size from which memory is reserved lazily (see `alloc`).
pub const LAZY_ALLOCATION_BYTES_MIN: usize = 1 << 30;
