//! The log interface: everything the executor does to a log, split by concern as Kafka's
//! clients split it (topics, produce, fetch, consumer-group offsets), plus the capabilities
//! only the embedded log has (`EmbeddedLog`: brokers, retention, a data directory).
//!
//! `embedded.rs` adapts the embedded `kql_runtime` cluster to it; `remote.rs` reaches the
//! embedded log another process holds; `memory.rs` is a log over plain `Vec`s for operator
//! tests; `loading.rs` is a view of a log whose readers wait for the topics still loading. Every other module of the executor reaches a log only
//! through a `LogHandle` (or `&dyn Log`), and reads records only as `LogRecord` views of a
//! `Fetched` (records.rs), which assume no batch layout.
//!
//! The interface is synchronous, as the operators are: see ARCHITECTURE.md.

use std::path::Path;
use std::sync::Arc;

mod embedded;
mod load_progress;
mod loading;
pub mod memory;
mod records;
mod remote;

pub use embedded::{default_cluster, in_memory, spilling};
/// The largest record the embedded log accepts.
pub use kql_runtime::limits::RECORD_BYTES_MAX;
/// The embedded log's `__consumer_offsets` records (PRINT decodes them).
pub use kql_runtime::offsets as offsets_topic;
pub use kql_runtime::partitioner::partition_for_key;
pub use kql_runtime::{
    Acks, BrokerInfo, CleanReport, CleanupPolicy, GroupInfo, Header, LogError, PartitionInfo,
    ProducerRecord, ProducerRef, Record, RecordMetadata, StorageReport, TopicConfig, TopicInfo,
};
pub use load_progress::LoadProgress;
pub use loading::LoadingLog;
pub use memory::MemoryLog;
pub use records::{header_text, Fetched, Headers, LogRecord, Run};
pub use remote::RemoteLog;

/// A shared log: cheap to clone, usable from any task.
pub type LogHandle = Arc<dyn Log>;

/// What a log is handed over as: a `LogHandle`, or any log (wrapped in a new handle).
pub trait IntoLogHandle {
    fn into_log_handle(self) -> LogHandle;
}

impl<L: Log + 'static> IntoLogHandle for L {
    fn into_log_handle(self) -> LogHandle {
        Arc::new(self)
    }
}

impl IntoLogHandle for LogHandle {
    fn into_log_handle(self) -> LogHandle {
        self
    }
}

/// Where a partition's records are: `log_start <= high_watermark <= log_end`. Records
/// below the high watermark are committed (readable); the rest wait for replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    pub log_start: u64,
    pub high_watermark: u64,
    pub log_end: u64,
}

impl Offsets {
    /// Panics when the order does not hold: a log that reports it is broken.
    pub fn new(log_start: u64, high_watermark: u64, log_end: u64) -> Offsets {
        assert!(
            log_start <= high_watermark && high_watermark <= log_end,
            "log offsets out of order: start {log_start}, high watermark {high_watermark}, end {log_end}"
        );
        Offsets {
            log_start,
            high_watermark,
            log_end,
        }
    }
}

/// Topics: create, delete, list, describe, and their real partition counts.
pub trait Topics {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<(), LogError>;
    fn delete_topic(&self, name: &str) -> Result<(), LogError>;
    /// User topics in name order (internal ones, named `__...`, left out).
    fn topic_names(&self) -> Vec<String>;
    /// The real partition count of a topic; None if it does not exist.
    fn partition_count(&self, name: &str) -> Option<u32>;
    fn describe_topic(&self, name: &str) -> Result<TopicInfo, LogError>;
}

/// Appending records.
pub trait Produce {
    /// Appends records to one partition in order, acknowledged as `acks` says; returns the
    /// offset of the first (the log end when `records` is empty).
    fn produce_batch(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        acks: Acks,
    ) -> Result<u64, LogError>;
    /// `produce_batch` of owned records.
    fn produce_records(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRecord],
        acks: Acks,
    ) -> Result<u64, LogError> {
        let refs: Vec<ProducerRef> = records.iter().map(ProducerRef::from).collect();
        self.produce_batch(topic, partition, &refs, acks)
    }
    /// Appends one record to the partition it names, or the one Kafka's partitioner picks.
    fn produce(
        &self,
        topic: &str,
        record: ProducerRecord,
        acks: Acks,
    ) -> Result<RecordMetadata, LogError>;
    /// The partition Kafka's default partitioner picks for `key`.
    fn partition_for(&self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError>;
}

/// Reading records and positions.
pub trait Fetch {
    /// About `max_records` committed records of a partition from offset `from` on, none at
    /// or after `until`. An offset past the log end reads nothing; one below the log start
    /// is `OffsetOutOfRange`. With compaction, offsets may have gaps.
    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        until: u64,
        max_records: usize,
    ) -> Result<Fetched, LogError>;
    fn offsets(&self, topic: &str, partition: u32) -> Result<Offsets, LogError>;
    /// The first committed offset whose timestamp is at or after `timestamp_ms` (Kafka's
    /// `offsetsForTimes`); None if every record is older.
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<u64>, LogError>;
    /// A count that grows with every append batch the log takes (to any topic), to pass
    /// to `wait_for_appends`. A log that cannot see appends says 0.
    fn append_count(&self) -> u64 {
        0
    }
    /// Blocks until an append batch after the one counted `seen`, or `timeout`; returns
    /// the new count. Callers then look at the high watermarks they care about. A log that
    /// cannot signal appends (a remote one) sleeps `timeout`.
    fn wait_for_appends(&self, seen: u64, timeout: std::time::Duration) -> u64 {
        std::thread::sleep(timeout);
        seen
    }
    /// Wakes every caller blocked in `wait_for_appends` now (a stop request). A log that
    /// cannot signal appends has nobody to wake.
    fn wake_waiters(&self) {}
    /// Whether a source connector is appending to `topic`, so that a reader at its end
    /// waits for more instead of stopping (`LoadingLog`). No log loads by itself.
    fn load_state(&self, _topic: &str) -> LoadState {
        LoadState::None
    }
    /// A reader of `partition` of a loading topic, from `position` on: the cell it tells
    /// how far it has read in, which the load waits for (`LoadProgress`). None when the
    /// topic is not loading.
    fn follow_load(
        &self,
        _topic: &str,
        _partition: u32,
        _position: u64,
    ) -> Option<std::sync::Arc<std::sync::atomic::AtomicU64>> {
        None
    }
}

/// A topic's load by a source connector, as a `LoadingLog` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadState {
    /// No load: readers stop at the end they were given.
    None,
    /// Records are still being appended: readers at the end wait for more.
    Loading,
    /// The load has ended: readers read on to the topic's end.
    Loaded,
}

/// Consumer groups' committed offsets.
pub trait GroupOffsets {
    fn commit_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), LogError>;
    fn committed_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, LogError>;
    /// Groups with members or committed offsets.
    fn group_names(&self) -> Vec<String>;
    fn describe_group(&self, group: &str) -> Result<GroupInfo, LogError>;
}

/// The application of a log that does not name one (the embedded log).
pub const DEFAULT_APPLICATION: &str = "default";

/// A log the executor can run on.
pub trait Log: Topics + Produce + Fetch + GroupOffsets + Send + Sync {
    /// The application kql runs as on this log: its internal topics and consumer groups
    /// carry this name (`exec::naming`), so applications sharing a cluster stay apart.
    fn application_id(&self) -> &str {
        DEFAULT_APPLICATION
    }
    /// Does what is appended outlive the process (so queries save and restore state)?
    fn is_durable(&self) -> bool;
    /// The embedded log's own capabilities, if this is the embedded log.
    fn embedded(&self) -> Option<&dyn EmbeddedLog> {
        None
    }
    /// A session property set with `SET`, for a log whose client takes it
    /// (`compression.type`, `linger.ms`, ... on Kafka): Ok(true) when the client uses it
    /// from now on, Ok(false) when it is not the client's, an error when the client
    /// refuses the value. The embedded log has no client properties.
    fn set_client_property(&self, _name: &str, _value: &str) -> Result<bool, LogError> {
        Ok(false)
    }
    /// Does `set_client_property` take properties that are not kql's?
    fn client_properties(&self) -> bool {
        false
    }
    /// Whether `join_group` gives a membership: processes of one application share
    /// queries on this log (Kafka), rather than one process holding it alone.
    fn shares_groups(&self) -> bool {
        false
    }
    /// Joins `group` as a member that shares the partitions of `topics` with the other
    /// processes of the application in that group. None on a log that one process holds
    /// alone (the embedded log): that process has every partition.
    fn join_group(
        &self,
        _group: &str,
        _topics: &[String],
    ) -> Result<Option<Box<dyn Membership>>, LogError> {
        Ok(None)
    }
}

/// A process's membership of a consumer group: which partitions the group gives it.
/// Dropping it leaves the group, and the others take its partitions over.
pub trait Membership: Send + Sync {
    /// The (topic, partition)s this process holds now; empty until the group has assigned
    /// them. A rebalance (a member joined or left) shows as a new set.
    fn assigned(&mut self) -> Result<std::collections::BTreeSet<(String, u32)>, LogError>;
    /// The member's transaction, when its writes are exactly once (Kafka's transactions);
    /// None: it writes plainly, at least once across a hand-over.
    fn transaction(&self) -> Option<&dyn Transaction> {
        None
    }
}

/// A group member's writes and its group's offset commits as one transaction: they become
/// visible together (readers read committed records only), or not at all.
pub trait Transaction: Send + Sync {
    /// The log to run the member's tasks on: what they append joins the open transaction
    /// (one begins with the first write), and the offsets they commit for the member's
    /// group are committed with it. Everything else is the log's.
    fn log(&self) -> LogHandle;
    /// Commits the open transaction. Ok(false): the transaction was aborted instead (the
    /// group moved on without this member, or the cluster gave up on the transaction):
    /// nothing of it is visible, and the member goes back to its last committed state.
    fn commit(&self) -> Result<bool, LogError>;
    /// Aborts the open transaction: nothing written since the last commit becomes visible.
    fn abort(&self) -> Result<(), LogError>;
}

/// What only the embedded log can do.
pub trait EmbeddedLog {
    /// The directory of a durable log.
    fn data_dir(&self) -> Option<&Path>;
    fn broker_count(&self) -> u32;
    fn brokers(&self) -> Vec<BrokerInfo>;
    fn stop_broker(&self, id: u32) -> Result<(), LogError>;
    fn start_broker(&self, id: u32) -> Result<(), LogError>;
    /// Runs retention and compaction as of `now_ms`.
    fn enforce_retention(&self, now_ms: i64) -> Result<CleanReport, LogError>;
    /// Every damaged region of the replicas found since the log was opened, and what was
    /// done about it.
    fn storage_reports(&self) -> Vec<StorageReport>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "out of order")]
    fn offsets_refuse_a_high_watermark_past_the_log_end() {
        Offsets::new(0, 5, 4);
    }
}
