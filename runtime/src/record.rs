//! Records as Kafka defines them: key and value are bytes or null (a null value is a
//! tombstone), a timestamp in milliseconds, headers, and the offset the log gave it.

use bytes::Bytes;

/// A header: a name and a byte value, or no value (null), as in Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Option<Bytes>,
}

/// A record as stored in a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: u64,
    pub timestamp_ms: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
}

/// A record as a producer sends it: without an offset; without a partition the
/// partitioner chooses; without a timestamp the log uses the time of append.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub timestamp_ms: Option<i64>,
    pub partition: Option<u32>,
    pub headers: Vec<Header>,
}

impl ProducerRecord {
    pub fn new(key: Option<Bytes>, value: Option<Bytes>) -> Self {
        ProducerRecord {
            key,
            value,
            ..Default::default()
        }
    }

    pub fn with_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp_ms = Some(timestamp_ms);
        self
    }
}

/// A record to produce, borrowed from the caller's buffers (`Cluster::produce_refs`): no
/// `Bytes` per key and value; the log copies them into its batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProducerRef<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp_ms: Option<i64>,
    pub headers: &'a [Header],
}

impl<'a> From<&'a ProducerRecord> for ProducerRef<'a> {
    fn from(r: &'a ProducerRecord) -> Self {
        ProducerRef {
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            timestamp_ms: r.timestamp_ms,
            headers: &r.headers,
        }
    }
}

/// Where an appended record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMetadata {
    pub partition: u32,
    pub offset: u64,
    pub timestamp_ms: i64,
}
