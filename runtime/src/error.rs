//! Errors the log reports to its callers. Every one is something a user can cause and
//! gets a message that says what to do.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogError {
    #[error("topic '{0}' does not exist")]
    UnknownTopic(String),
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    #[error("topic '{topic}' has {partitions} partition(s); partition {partition} does not exist")]
    UnknownPartition {
        topic: String,
        partition: u32,
        partitions: u32,
    },
    #[error("a topic needs at least one partition (got {0})")]
    InvalidPartitions(u32),
    #[error("replication factor {replicas} is larger than the {brokers} live broker(s)")]
    InvalidReplicationFactor { replicas: u32, brokers: u32 },
    #[error("offset {offset} is out of range for {topic}-{partition} (log start {log_start}, log end {log_end})")]
    OffsetOutOfRange {
        topic: String,
        partition: u32,
        offset: u64,
        log_start: u64,
        log_end: u64,
    },
}
