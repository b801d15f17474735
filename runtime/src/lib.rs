//! kql-runtime: an embedded log with Apache Kafka's model (topics, partitions, records with
//! key, value and timestamp, offsets, Kafka's partitioner). It knows nothing of the kql
//! language and can be used on its own as a library.
//!
//! Entry point: [`Cluster`]. Create topics, produce records (one or a batch), fetch from a
//! partition at an offset.

pub mod batch;
pub mod cluster;
pub mod error;
pub mod limits;
pub mod log;
pub mod partition;
pub mod partitioner;
pub mod record;
pub mod retention;
pub mod segment;
pub mod settings;

pub use cluster::{Acks, Cluster, TopicConfig, TopicInfo};
pub use error::LogError;
pub use record::{Header, ProducerRecord, Record, RecordMetadata};
