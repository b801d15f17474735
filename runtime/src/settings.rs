//! Settings: the cluster's (segment size and age, fsync policy) and each topic's
//! (partitions, replicas, retention, cleanup policy, min.insync.replicas).

use serde::{Deserialize, Serialize};

use crate::limits::{SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN};

/// When appended data is forced to disk with fsync.
///
/// `Always` fsyncs the log file before an append returns: an acknowledged record survives
/// a power loss, at the price of one fsync per batch. `EveryMs(n)` fsyncs at most every `n`
/// ms (checked on append, at segment roll and on `Cluster::flush`): a process crash loses
/// nothing (the data is in the OS page cache) but a power loss can lose the last `n` ms.
/// `Never` leaves it to the OS (and to replication, as Kafka does by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum FsyncPolicy {
    Always,
    EveryMs(u64),
    #[default]
    Never,
}

/// Settings of every partition log of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// A segment rolls when the next batch would take it past this size.
    pub segment_bytes: u64,
    /// A non-empty segment rolls when it is older than this (wall clock since its creation).
    pub segment_ms: i64,
    pub fsync: FsyncPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            segment_bytes: 64 * 1024 * 1024,
            segment_ms: 7 * 24 * 3600 * 1000,
            fsync: FsyncPolicy::Never,
        }
    }
}

impl Settings {
    /// The segment size actually used: within the limits.
    pub fn segment_bytes_clamped(&self) -> u64 {
        self.segment_bytes
            .clamp(SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX)
    }
}

/// `delete` drops old segments by retention; `compact` keeps the latest value per key;
/// `compact,delete` (windowed tables' changelogs) does both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CleanupPolicy {
    #[default]
    Delete,
    Compact,
    CompactDelete,
}

/// A topic's settings. Build with `TopicConfig { partitions: 3, ..Default::default() }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicConfig {
    pub partitions: u32,
    pub replicas: u32,
    /// Closed segments whose newest record is older than this are deleted (None: forever).
    pub retention_ms: Option<i64>,
    /// Oldest closed segments are deleted while the partition is larger (None: no limit).
    pub retention_bytes: Option<u64>,
    pub cleanup_policy: CleanupPolicy,
    /// Tombstones of a compacted topic are removed once older than this.
    pub delete_retention_ms: i64,
    /// acks=all fails with `NotEnoughReplicas` while fewer replicas are in sync.
    pub min_insync_replicas: u32,
    /// Overrides the cluster's segment size for this topic.
    pub segment_bytes: Option<u64>,
    /// Overrides the cluster's segment age for this topic.
    pub segment_ms: Option<i64>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            partitions: 1,
            replicas: 1,
            retention_ms: None,
            retention_bytes: None,
            cleanup_policy: CleanupPolicy::Delete,
            delete_retention_ms: 24 * 3600 * 1000,
            min_insync_replicas: 1,
            segment_bytes: None,
            segment_ms: None,
        }
    }
}

impl TopicConfig {
    /// The log settings of this topic's partitions.
    pub fn log_settings(&self, cluster: &Settings) -> Settings {
        Settings {
            segment_bytes: self.segment_bytes.unwrap_or(cluster.segment_bytes),
            segment_ms: self.segment_ms.unwrap_or(cluster.segment_ms),
            fsync: cluster.fsync,
        }
    }
}
