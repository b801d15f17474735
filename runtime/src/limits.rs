//! Every limit of the runtime, in one place, so they can be read and changed together.

/// The largest encoded batch. `produce_batch` splits larger inputs into several batches.
pub const BATCH_BYTES_MAX: usize = 8 * 1024 * 1024;

/// The largest single record (key + value + headers, encoded). One record never spans
/// batches, so this is below `BATCH_BYTES_MAX`.
pub const RECORD_BYTES_MAX: usize = BATCH_BYTES_MAX - 1024;

/// Most records in one batch.
pub const BATCH_RECORDS_MAX: usize = 1 << 20;

/// A segment's log file holds positions as u32 in its index, so a segment stays below 4 GiB.
pub const SEGMENT_BYTES_MAX: u64 = u32::MAX as u64 - BATCH_BYTES_MAX as u64;

/// The smallest segment size a setting may ask for (a smaller one is raised to this).
pub const SEGMENT_BYTES_MIN: u64 = 128;

/// How many bytes one file read of the fetch path asks for at most (at least one batch).
pub const FETCH_READ_BYTES_MAX: usize = 1024 * 1024;

/// The longest topic name, as in Kafka.
pub const TOPIC_NAME_BYTES_MAX: usize = 249;

/// Most partitions per topic.
pub const PARTITIONS_MAX: u32 = 10_000;

/// Most brokers in a cluster.
pub const BROKERS_MAX: u32 = 64;

/// Most records one consumer `poll` returns.
pub const POLL_RECORDS_MAX: usize = 100_000;
