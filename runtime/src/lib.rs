//! kql-runtime: an embedded log with Apache Kafka's model (topics, partitions, records with
//! key, value and timestamp, offsets, Kafka's partitioner), kept in segment files on disk
//! or in memory, replicated across in-process brokers, with retention, compaction and
//! consumer groups. It knows nothing of the kql language and can be used on its own.
//!
//! Entry point: [`Cluster`] (`Cluster::in_memory(brokers)` or
//! `Cluster::open(dir, brokers, settings)`). Create topics, produce records (one or a
//! batch), fetch from a partition at an offset, or consume in a group with [`Consumer`].

mod appends;
pub mod batch;
pub mod cluster;
pub mod consumer;
pub mod damage;
pub mod error;
pub mod group;
pub mod index;
pub mod limits;
pub mod local;
pub mod log;
pub mod metadata;
pub mod offsets;
pub mod open_files;
pub mod partitioner;
pub mod rebuild;
pub mod record;
pub mod replica;
pub mod retention;
pub mod segment;
pub mod settings;
pub mod spill;
pub mod view;

pub use cluster::{BrokerInfo, Cluster, PartitionInfo, StorageReport, TopicInfo};
pub use consumer::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset};
pub use error::LogError;
pub use group::{GroupInfo, GroupPartitionInfo, MemberInfo};
pub use record::{Header, ProducerRecord, ProducerRef, Record, RecordMetadata};
pub use replica::Acks;
pub use retention::CleanReport;
pub use settings::{CleanupPolicy, FsyncPolicy, Settings, TopicConfig};
pub use spill::Spill;
pub use view::{RecordBatch, RecordCursor, RecordIter, RecordView, Run};
