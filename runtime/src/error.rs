//! Errors the log reports to its callers. Every one is something a user can cause and
//! gets a message that says what to do.

use thiserror::Error;

// Serialize: the owner of a data directory answers other processes with the error itself
// (runtime/src/local.rs), so they handle it as they would their own.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
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
    #[error("a topic needs 1 to 10000 partitions (got {0})")]
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
    #[error("acks=all on {topic}-{partition} needs {min_insync} in-sync replica(s) but only {isr} in sync (NOT_ENOUGH_REPLICAS)")]
    NotEnoughReplicas {
        topic: String,
        partition: u32,
        isr: u32,
        min_insync: u32,
    },
    #[error(
        "{topic}-{partition} has no live leader: every in-sync replica is on a stopped broker"
    )]
    LeaderNotAvailable { topic: String, partition: u32 },
    #[error("broker {broker} does not exist (the cluster has brokers 1..={brokers})")]
    UnknownBroker { broker: u32, brokers: u32 },
    #[error("a record of {bytes} bytes is larger than the limit of {max} bytes")]
    RecordTooLarge { bytes: usize, max: usize },
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("corrupt log data: {0}")]
    Corrupt(String),
    #[error("I/O error: {0}")]
    Io(String),
    #[error("{0} is in use by another open cluster (close it first)")]
    DirectoryInUse(String),
    #[error("the process that owns the data directory answered: {0}")]
    Remote(String),
    #[error("consumer group '{group}' has no committed offset for {topic}-{partition} and auto.offset.reset is 'none'")]
    NoOffsetForPartition {
        group: String,
        topic: String,
        partition: u32,
    },
    #[error("consumer group '{group}' has no member '{member}' (it left or was never joined)")]
    UnknownMember { group: String, member: String },
    #[error("commit failed: group '{group}' rebalanced (member generation {member_generation}, group generation {group_generation}); poll again and retry")]
    CommitFailed {
        group: String,
        member_generation: u64,
        group_generation: u64,
    },
    #[error("consumer group '{0}' does not exist")]
    UnknownGroup(String),
    // The errors below come from an external Kafka cluster (the executor's Kafka backend).
    #[error("no Kafka broker answered at {servers} within {timeout_ms} ms{detail}")]
    Unreachable {
        servers: String,
        timeout_ms: u64,
        /// What the client saw last (", last error: ..."), or empty.
        detail: String,
    },
    #[error("the Kafka cluster refused the client's credentials: {0}")]
    AuthenticationFailed(String),
    #[error("not authorized by the Kafka cluster's ACLs: {0}")]
    NotAuthorized(String),
    #[error("Kafka client: {0}")]
    Client(String),
}

impl From<std::io::Error> for LogError {
    fn from(e: std::io::Error) -> Self {
        LogError::Io(e.to_string())
    }
}
