//! The unit of parallelism: a task produces batches of output rows, usually from one
//! partition of each of its inputs. `query::run_bounded` runs tasks on tokio and merges
//! their rows; each kind of query (stateless, joins, aggregations) is a `Task`.

use kql_runtime::{Cluster, Record};

use crate::data::Value;

/// How many records a task fetches at once.
pub const FETCH_BATCH_RECORDS: usize = 4096;
/// How many bad records are kept with their details (all are counted).
pub const BAD_RECORD_SAMPLES: usize = 10;

/// A row a query produced, with where it came from (for ordering and reports).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRow {
    pub event_time_ms: i64,
    pub partition: u32,
    pub offset: u64,
    pub values: Vec<Value>,
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

#[derive(Debug, Default, Clone)]
pub struct TaskStats {
    pub records_read: u64,
    pub bad_records: u64,
    pub bad_samples: Vec<BadRecord>,
}

impl TaskStats {
    pub fn add_bad(&mut self, bad: Vec<BadRecord>) {
        self.bad_records += bad.len() as u64;
        let room = BAD_RECORD_SAMPLES.saturating_sub(self.bad_samples.len());
        self.bad_samples.extend(bad.into_iter().take(room));
    }

    pub fn merge(&mut self, other: TaskStats) {
        self.records_read += other.records_read;
        self.bad_records += other.bad_records;
        let room = BAD_RECORD_SAMPLES.saturating_sub(self.bad_samples.len());
        self.bad_samples
            .extend(other.bad_samples.into_iter().take(room));
    }
}

pub trait Task: Send {
    /// Appends the next batch of output rows (possibly none); false when the task is done.
    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> Result<bool, String>;
    /// What the task read and skipped so far (taken: the counters start again).
    fn stats(&mut self) -> TaskStats;
}

/// Offsets one task reads of one partition: `[start, end)`.
#[derive(Debug, Clone, Copy)]
pub struct PartitionRange {
    pub partition: u32,
    pub start: u64,
    pub end: u64,
}

/// Reads a partition range in batches.
pub struct PartitionReader {
    cluster: Cluster,
    topic: String,
    pub range: PartitionRange,
    next: u64,
}

impl PartitionReader {
    pub fn new(cluster: Cluster, topic: String, range: PartitionRange) -> PartitionReader {
        PartitionReader {
            cluster,
            topic,
            next: range.start,
            range,
        }
    }

    /// The offset of the next record to read.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// Lets the reader go on to `end` (records appended since the range was fixed).
    pub fn extend_to(&mut self, end: u64) {
        self.range.end = self.range.end.max(end);
    }

    /// Moves the reader to `offset` (a position restored from a snapshot).
    pub fn seek(&mut self, offset: u64) {
        self.next = offset;
        self.range.start = offset;
        self.range.end = self.range.end.max(offset);
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The next batch, or None at the end of the range.
    pub fn next_batch(&mut self) -> Result<Option<Vec<Record>>, String> {
        if self.next >= self.range.end {
            return Ok(None);
        }
        let want = ((self.range.end - self.next) as usize).min(FETCH_BATCH_RECORDS);
        let records = self
            .cluster
            .fetch(&self.topic, self.range.partition, self.next, want)
            .map_err(|e| e.to_string())?;
        match records.last() {
            Some(last) => {
                self.next = last.offset + 1;
                Ok(Some(records))
            }
            None => {
                self.next = self.range.end;
                Ok(None)
            }
        }
    }
}
