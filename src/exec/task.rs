//! The unit of parallelism: a task produces batches of output rows, usually from one
//! partition of each of its inputs. `query::run_bounded` runs them through the driver and merges
//! their rows; each kind of query (stateless, joins, aggregations) is a `Task`.

use super::log::{Fetched, LogHandle, LogRecord, Run};

use crate::data::Value;
use crate::exec::error::ExecResult;
use crate::exec::input::Input;
use crate::exec::state::codec::{Reader, Writer};

use super::limits::BAD_RECORD_SAMPLES;
/// (The operators' unit of work, defined with the other bounds.)
pub use super::limits::FETCH_BATCH_RECORDS;

/// How long a reader at the end of a topic still loading sleeps before it looks again. Not
/// the log's append signal: every append raises it, the sink's too, so a waiting task
/// would wake for every batch the other tasks wrote. A connector appends a chunk every
/// few milliseconds.
const LOAD_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// A row an operator produced (filter/project, aggregate, every join kind), with where it
/// came from (for the merge's order, the sink's tag and reports): the one row type that
/// operators hand to each other, to a sink and to the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRow {
    pub event_time_ms: i64,
    pub partition: u32,
    pub offset: u64,
    /// The query's output columns.
    pub values: RowValues,
    /// A deletion of the row's key (a table join's row that left the result, a session
    /// merged away, a group HAVING no longer keeps): the key columns of `values` are
    /// meaningful, the record has no value.
    pub tombstone: bool,
    /// The row's window: an aggregation's (`[start, end)` of a time window, `[start, end]`
    /// of a session), or the window of a windowed source's key that the output key keeps.
    pub window: Option<(i64, i64)>,
    /// The Kafka headers of the input record, for the record written.
    pub headers: super::row_headers::RowHeaders,
}

/// An output row's values, inline up to four: a row that a batch makes per input record
/// costs no allocation and free of its own (the common projections have a few columns).
pub type RowValues = smallvec::SmallVec<[Value; 4]>;

impl OutputRow {
    /// Where the row goes in a merge across tasks: event time, then partition and offset.
    pub fn order(&self) -> (i64, u32, u64) {
        (self.event_time_ms, self.partition, self.offset)
    }
}

/// A record that could not be processed.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRecord {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub reason: String,
}

/// The warning about skipped records: `head`, then where the first ones were, then how
/// many more there were.
pub fn bad_records_message(head: String, total: u64, samples: &[BadRecord]) -> String {
    let mut msg = head;
    for b in samples {
        msg.push_str(&format!(
            "\n  topic '{}' partition {} offset {}: {}",
            b.topic, b.partition, b.offset, b.reason
        ));
    }
    if total > samples.len() as u64 {
        msg.push_str(&format!(
            "\n  ... and {} more",
            total - samples.len() as u64
        ));
    }
    msg
}

/// What tasks read, wrote and skipped: a task's counters, summed into a query's.
#[derive(Debug, Default, Clone)]
pub struct TaskStats {
    pub records_read: u64,
    pub records_written: u64,
    pub bad_records: u64,
    pub bad_samples: Vec<BadRecord>,
    /// Records that arrived after their window closed (aggregations).
    pub late_records: u64,
}

/// Adds bad records to the kept details, up to `BAD_RECORD_SAMPLES` (the count is kept
/// apart).
pub fn keep_samples(samples: &mut Vec<BadRecord>, more: Vec<BadRecord>) {
    let room = BAD_RECORD_SAMPLES.saturating_sub(samples.len());
    samples.extend(more.into_iter().take(room));
}

impl TaskStats {
    pub fn add_bad(&mut self, bad: Vec<BadRecord>) {
        self.bad_records += bad.len() as u64;
        keep_samples(&mut self.bad_samples, bad);
    }

    pub fn merge(&mut self, other: TaskStats) {
        self.records_read += other.records_read;
        self.records_written += other.records_written;
        self.late_records += other.late_records;
        self.bad_records += other.bad_records;
        keep_samples(&mut self.bad_samples, other.bad_samples);
    }

    /// The warning about skipped records, if any.
    pub fn bad_report(&self, what: &str) -> Option<String> {
        if self.bad_records == 0 {
            return None;
        }
        Some(bad_records_message(
            format!(
                "{what} skipped {} bad record(s) that could not be read:",
                self.bad_records
            ),
            self.bad_records,
            &self.bad_samples,
        ))
    }
}

/// What `Task::next_batch_each` hands each input record's output to, as soon as it is
/// made: the sink's encoder.
pub trait EachRecord<Item> {
    /// Items made (the receiver may leave them; the task clears them after).
    fn items(&mut self, items: &mut Vec<Item>) -> ExecResult<()>;
    /// A row whose columns are read where they are (`sinks/row.rs`), instead of an output
    /// row made of their copies.
    fn picked(&mut self, row: &crate::exec::sinks::row::PickedRow<'_>) -> ExecResult<()>;
}

/// The one task interface: every unit the driver runs (`drivers/driver.rs`) is a `Task`,
/// whatever its operators: a transient query's filter/project, every join kind, a
/// persistent query's stage (filter/project, repartition, aggregate) and the sink that
/// encodes its rows, a join side re-keyed into its internal topic. A task makes `Item`s
/// batch by batch: rows (`OutputRow`) for an operator read by another, records to append
/// for one that ends in a sink or an internal topic.
///
/// A task that reads its partition ranges once needs only `next_batch` and `stats`; a
/// task that outlives one run (a join of a persistent query) also says what its inputs
/// are, so the driver resumes them when they grow and durability saves their positions
/// with its state (`state::OperatorState`).
pub trait Task: Send {
    /// What a batch makes.
    type Item: Send + 'static;
    /// Appends what the next batch makes (possibly nothing); false when the task is done.
    fn next_batch(&mut self, out: &mut Vec<Self::Item>) -> ExecResult<bool>;
    /// `next_batch`, handing what each input record makes to `each` as soon as it is made,
    /// so that a sink encodes a record's rows before the next record is decoded
    /// (`sinks/batch.rs`). By default, everything the batch made, at its end.
    fn next_batch_each(&mut self, each: &mut dyn EachRecord<Self::Item>) -> ExecResult<bool> {
        let mut items = Vec::new();
        let more = self.next_batch(&mut items)?;
        if !items.is_empty() {
            each.items(&mut items)?;
        }
        Ok(more)
    }
    /// What the task read, wrote and skipped so far (taken: the counters start again).
    /// By default its inputs' counters, merged: a join reads and skips only through its
    /// inputs; a task with counters of its own says so.
    fn stats(&mut self) -> TaskStats {
        let mut stats = TaskStats::default();
        for input in self.inputs() {
            stats.merge(std::mem::take(&mut input.stats));
        }
        stats
    }
    /// The task's inputs, to resume them and to save and restore their positions (none:
    /// a task that reads its ranges once).
    fn inputs(&mut self) -> Vec<&mut Input> {
        Vec::new()
    }
    /// Whether reaching the end of the inputs closes every window (the end of a bounded
    /// run) or only pauses the task (a persistent query between catch-ups).
    fn close_at_end(&mut self, _close: bool) {}
    /// The task's state (tables, window buffers) for a snapshot; a stateless task has none.
    fn save(&self, _w: &mut Writer) {}
    /// Puts back what `save` wrote.
    fn load(&mut self, _r: &mut Reader) -> Result<(), String> {
        Ok(())
    }
}

/// A task whose batches are rows: an operator whose output another reads (a join, a
/// transient filter/project).
pub type RowTask = Box<dyn Task<Item = OutputRow>>;

/// Offsets one task reads of one partition: `[start, end)`.
#[derive(Debug, Clone, Copy)]
pub struct PartitionRange {
    pub partition: u32,
    pub start: u64,
    pub end: u64,
}

/// Reads a partition range: records fetched from the log (`Fetch::fetch`) and handed out
/// as views borrowed from them, one record at a time (`next_record`) or in runs of at most
/// `FETCH_BATCH_RECORDS` (`next_batch`); no allocation or reference count per record. The
/// range can grow (`extend_to`) and reading goes on from where it stopped.
pub struct PartitionReader {
    log: LogHandle,
    topic: String,
    pub range: PartitionRange,
    /// The offset the next fetch starts at.
    next: u64,
    cursor: Fetched,
    /// Records taken from earlier fetches.
    taken_before: u64,
    /// Set once the reader is at the end of its range and no load goes on: it need not
    /// look again until its next run (a join's exhausted side is asked for every record).
    settled: bool,
    /// Where it tells a connector loading its topic how far it has read (`LoadProgress`).
    follows: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

impl PartitionReader {
    pub fn new(log: LogHandle, topic: String, range: PartitionRange) -> PartitionReader {
        let follows = log.follow_load(&topic, range.partition, range.start);
        PartitionReader {
            log,
            topic,
            next: range.start,
            range,
            cursor: Fetched::default(),
            taken_before: 0,
            settled: false,
            follows,
        }
    }

    /// Reads through `log` from now on: the view of the log a run reads through (the same
    /// log, or a `LoadingLog` over it), for a reader kept from one run to the next.
    pub fn read_through(&mut self, log: &LogHandle) {
        if !std::sync::Arc::ptr_eq(&self.log, log) {
            self.log = log.clone();
            self.follows = log.follow_load(&self.topic, self.range.partition, self.next);
        }
        self.settled = false;
    }

    /// Reads on to `end` (more records arrived since the range was set).
    pub fn extend_to(&mut self, end: u64) {
        self.settled = false;
        self.range.end = self.range.end.max(end);
    }

    /// Moves the reader to `offset` (a position restored from a snapshot); what was
    /// fetched ahead is dropped.
    pub fn seek(&mut self, offset: u64) {
        self.taken_before += self.cursor.taken();
        self.cursor = Fetched::default();
        self.next = offset;
        if let Some(cell) = &self.follows {
            cell.store(offset, std::sync::atomic::Ordering::Relaxed);
        }
        self.range.start = offset;
        self.range.end = self.range.end.max(offset);
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Is there a record left in the range? Fetches when the read-ahead is used up.
    pub(crate) fn ready(&mut self) -> Result<bool, String> {
        loop {
            if self.cursor.has_next().map_err(|e| e.to_string())? {
                return Ok(true);
            }
            if self.next >= self.range.end && !self.wait_for_load()? {
                return Ok(false);
            }
            let fetched = self
                .log
                .fetch(
                    &self.topic,
                    self.range.partition,
                    self.next,
                    self.range.end,
                    FETCH_BATCH_RECORDS,
                )
                .map_err(|e| e.to_string())?;
            let Some(resume_at) = fetched.resume_at() else {
                self.next = self.range.end;
                return Ok(false);
            };
            // Records past the range are left for a later `extend_to`.
            self.next = resume_at;
            if let Some(cell) = &self.follows {
                cell.store(resume_at, std::sync::atomic::Ordering::Relaxed);
            }
            self.taken_before += self.cursor.taken();
            self.cursor = fetched;
        }
    }

    /// At the end of the range of a topic a connector is loading: waits until the topic
    /// has records past it, or the load has ended, and reads on to the new end. False
    /// when nothing is left to read.
    fn wait_for_load(&mut self) -> Result<bool, String> {
        use crate::exec::log::LoadState;
        if self.settled {
            return Ok(false);
        }
        loop {
            let state = self.log.load_state(&self.topic);
            if state == LoadState::None {
                self.settled = true;
                return Ok(false);
            }
            let end = self
                .log
                .offsets(&self.topic, self.range.partition)
                .map_err(|e| e.to_string())?
                .high_watermark;
            if end > self.range.end {
                self.range.end = end;
                return Ok(true);
            }
            if state == LoadState::Loaded {
                self.settled = true;
                return Ok(false);
            }
            std::thread::sleep(LOAD_POLL);
        }
    }

    /// The next record of the range, or None at the end of the range.
    pub fn next_record(&mut self) -> Result<Option<LogRecord<'_>>, String> {
        if !self.ready()? {
            return Ok(None);
        }
        match self.cursor.next_record() {
            Some(r) => r.map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    /// The next run of records (at most `FETCH_BATCH_RECORDS`), or None at the end of the
    /// range. Records are taken as the run is iterated.
    pub fn next_batch(&mut self) -> Result<Option<Records<'_>>, String> {
        if !self.ready()? {
            return Ok(None);
        }
        Ok(Some(Records(self.cursor.take(FETCH_BATCH_RECORDS))))
    }

    /// Where reading would go on: the offset of the next record, or of the next fetch.
    pub fn position(&mut self) -> Result<u64, String> {
        let next = self.cursor.peek_offset().map_err(|e| e.to_string())?;
        Ok(next.unwrap_or(self.next))
    }

    /// How many records were handed out so far.
    pub fn records_read(&self) -> u64 {
        self.taken_before + self.cursor.taken()
    }
}

/// Every committed record of a partition in `[from, until)`, in offset order, handed to
/// `f`; returns the offset reading goes on from. For reads that keep what they read or read
/// little (restores, replays, file sinks, test outputs); operators read runs of views with
/// `PartitionReader::next_batch`.
pub fn read_partition(
    log: &LogHandle,
    topic: &str,
    partition: u32,
    from: u64,
    until: u64,
    mut f: impl FnMut(&LogRecord) -> Result<(), String>,
) -> Result<u64, String> {
    let range = PartitionRange {
        partition,
        start: from,
        end: until,
    };
    let mut reader = PartitionReader::new(log.clone(), topic.to_string(), range);
    while let Some(r) = reader.next_record()? {
        f(&r)?;
    }
    reader.position()
}

/// A run of records of a `PartitionReader` (see `PartitionReader::next_batch`).
pub struct Records<'a>(Run<'a>);

impl<'a> Iterator for Records<'a> {
    type Item = Result<LogRecord<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|r| r.map_err(|e| e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::super::log::{in_memory, Acks, MemoryLog, ProducerRecord, ProducerRef, TopicConfig};
    use super::*;

    /// The embedded log and the in-memory one, each with `batches` appends to topic "t".
    fn logs_with(batches: &[u64]) -> Vec<LogHandle> {
        let logs: Vec<LogHandle> = vec![in_memory(1), MemoryLog::handle()];
        for log in &logs {
            log.create_topic("t", TopicConfig::default()).unwrap();
            let mut next = 0;
            for &n in batches {
                let records: Vec<ProducerRecord> = (next..next + n)
                    .map(|i| ProducerRecord::new(None, Some(Bytes::from(i.to_string()))))
                    .collect();
                let refs: Vec<ProducerRef> = records.iter().map(ProducerRef::from).collect();
                log.produce_batch("t", 0, &refs, Acks::All).unwrap();
                next += n;
            }
        }
        logs
    }

    fn value(v: &LogRecord) -> u64 {
        std::str::from_utf8(v.value.unwrap())
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn runs_cover_the_range_exactly_and_reading_goes_on_after_extend_to() {
        // A batch larger than a run, starting and ending inside batches.
        for log in logs_with(&[10, 3 * FETCH_BATCH_RECORDS as u64, 7, 5]) {
            reads_the_range_and_more(log);
        }
    }

    fn reads_the_range_and_more(log: LogHandle) {
        let total = 10 + 3 * FETCH_BATCH_RECORDS as u64 + 12;
        let range = PartitionRange {
            partition: 0,
            start: 4,
            end: total - 8,
        };
        let mut reader = PartitionReader::new(log, "t".into(), range);
        let mut seen = Vec::new();
        while let Some(run) = reader.next_batch().unwrap() {
            let run: Vec<u64> = run.map(|v| value(&v.unwrap())).collect();
            assert!(!run.is_empty() && run.len() <= FETCH_BATCH_RECORDS);
            seen.extend(run);
            let at = reader.position().unwrap();
            assert_eq!(at, seen.last().unwrap() + 1);
        }
        assert_eq!(seen, (4..total - 8).collect::<Vec<_>>());
        assert_eq!(reader.records_read(), total - 12);
        reader.extend_to(total);
        let mut rest = Vec::new();
        while let Some(v) = reader.next_record().unwrap() {
            rest.push(value(&v));
        }
        assert_eq!(rest, (total - 8..total).collect::<Vec<_>>());
        assert_eq!(reader.position().unwrap(), total);
    }
}
