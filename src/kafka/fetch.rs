//! Reading records of one partition from a given offset, as the log interface asks: each
//! partition being read has its own consumer (no group, nothing committed) assigned at the
//! offset wanted; reading on from where the last fetch stopped needs no new request.
//! Consumers read committed records only (`read_committed`), so records of aborted or open
//! transactions are never seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kql_runtime::{Header, LogError, Record};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::context::Context;
use super::errors::is_transient;
use super::KafkaLog;
use crate::exec::log::{Fetch, Fetched, Offsets};

/// How long one poll for a fetch's first record waits before the fetch checks whether the
/// consumer went past the range without a record.
const POLL_WAIT: Duration = Duration::from_millis(100);

/// The consumers of the partitions being read.
#[derive(Default)]
pub struct Readers(Mutex<HashMap<(String, u32), Arc<Mutex<Reader>>>>);

struct Reader {
    consumer: BaseConsumer<Context>,
    /// The offset the consumer delivers next, if it is known.
    position: Option<u64>,
}

impl Readers {
    /// Lets every reader go: the next fetch of a partition makes a new one.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    pub fn forget_topic(&self, topic: &str) {
        self.0.lock().unwrap().retain(|(t, _), _| t != topic);
    }
}

/// What a fetch returns: records in offset order and where the next fetch starts.
#[derive(Debug, Default)]
pub struct FetchedRecords {
    pub records: Vec<Record>,
    /// One past the last offset read (gaps of compaction and transaction markers
    /// included); None when nothing was read.
    pub next_offset: Option<u64>,
}

impl Fetch for KafkaLog {
    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        until: u64,
        max_records: usize,
    ) -> Result<Fetched, LogError> {
        let fetched = self.fetch_records(topic, partition, from, until, max_records)?;
        Ok(Fetched::records_then(
            fetched.records,
            fetched.next_offset,
            until,
        ))
    }

    /// `(log start, high watermark)`: for a `read_committed` client the high watermark is
    /// the last stable offset, the end of what a consumer can read.
    fn offsets(&self, topic: &str, partition: u32) -> Result<Offsets, LogError> {
        self.check_partition(topic, partition)?;
        let (low, high) = self
            .retrying(|| {
                self.meta
                    .fetch_watermarks(topic, partition as i32, self.settings.timeout)
            })
            .map_err(|e| self.failed().error(&e, &format!("{topic}-{partition}")))?;
        let (low, high) = (low.max(0) as u64, high.max(0) as u64);
        Ok(Offsets::new(low, high, high))
    }

    /// The first offset whose timestamp is at or after `timestamp_ms`; None if every
    /// record is older.
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<u64>, LogError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition as i32, Offset::Offset(timestamp_ms))
            .map_err(|e| self.failed().error(&e, topic))?;
        let found = self
            .meta
            .offsets_for_times(tpl, self.settings.timeout)
            .map_err(|e| self.failed().error(&e, topic))?;
        Ok(found.elements().first().and_then(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => Some(o as u64),
            _ => None,
        }))
    }
}

impl KafkaLog {
    /// About `max_records` committed records from `from` on, none at or after `until`.
    pub(super) fn fetch_records(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        until: u64,
        max_records: usize,
    ) -> Result<FetchedRecords, LogError> {
        if from >= until || max_records == 0 {
            return Ok(FetchedRecords::default());
        }
        let reader = self.reader(topic, partition)?;
        let mut reader = reader.lock().unwrap();
        if reader.position != Some(from) {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, partition as i32, Offset::Offset(from as i64))
                .map_err(|e| self.failed().error(&e, topic))?;
            reader
                .consumer
                .assign(&tpl)
                .map_err(|e| self.failed().error(&e, topic))?;
            reader.position = Some(from);
        }
        // The records asked for are below the high watermark, so they are normally there
        // at once; a fetch returns nothing only when what is left of the range holds no
        // record (transaction markers, records of aborted transactions), and an error when
        // the cluster does not deliver them in time.
        let deadline = Instant::now() + self.settings.timeout;
        let mut fetched = FetchedRecords::default();
        while fetched.records.len() < max_records {
            // After the first record, take only what the client already holds.
            let wait = if fetched.records.is_empty() {
                POLL_WAIT.min(deadline.saturating_duration_since(Instant::now()))
            } else {
                Duration::ZERO
            };
            let message = match reader.consumer.poll(wait) {
                None if !fetched.records.is_empty() => break,
                None => {
                    let position = self.consumer_position(&reader.consumer, topic, partition);
                    if position >= until {
                        // Nothing but markers or aborted records up to `until`.
                        fetched.next_offset = Some(until);
                        reader.position = Some(position);
                        break;
                    }
                    if Instant::now() >= deadline {
                        reader.position = None;
                        return Err(self.failed().unreachable());
                    }
                    continue;
                }
                Some(Ok(m)) => m,
                // A broker that died: the consumer goes on with the partition's new leader.
                Some(Err(e)) if is_transient(&e) && Instant::now() < deadline => continue,
                Some(Err(e)) => {
                    reader.position = None;
                    return Err(self.read_error(&e, topic, partition, from));
                }
            };
            let offset = message.offset() as u64;
            if offset >= until {
                // Read past what was asked: what lay between was not for the reader
                // (markers, aborted records), and the next fetch starts again from here.
                reader.position = None;
                fetched.next_offset = Some(until);
                break;
            }
            fetched.records.push(record(&message));
            reader.position = Some(offset + 1);
            fetched.next_offset = Some(offset + 1);
            if offset + 1 >= until {
                break;
            }
        }
        Ok(fetched)
    }

    fn reader(&self, topic: &str, partition: u32) -> Result<Arc<Mutex<Reader>>, LogError> {
        let key = (topic.to_string(), partition);
        if let Some(r) = self.readers.0.lock().unwrap().get(&key) {
            return Ok(r.clone());
        }
        // librdkafka wants a group id to assign partitions; this one never joins a group
        // and never commits.
        let group = format!("{}-kql-reader", self.settings.application_id);
        let consumer: BaseConsumer<Context> = self.client(&[
            ("group.id", &group),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("isolation.level", "read_committed"),
            // An offset below the log start is an error, never a silent jump.
            ("auto.offset.reset", "error"),
            ("fetch.wait.max.ms", "100"),
            // Bounded read-ahead per partition.
            ("queued.max.messages.kbytes", "8192"),
        ])?;
        let reader = Arc::new(Mutex::new(Reader {
            consumer,
            position: None,
        }));
        self.readers.0.lock().unwrap().insert(key, reader.clone());
        Ok(reader)
    }

    /// Where the consumer reads next (past transaction markers it skipped); 0 if unknown.
    fn consumer_position(
        &self,
        consumer: &BaseConsumer<Context>,
        topic: &str,
        partition: u32,
    ) -> u64 {
        consumer
            .position()
            .ok()
            .and_then(|tpl| {
                tpl.find_partition(topic, partition as i32)
                    .and_then(|e| match e.offset() {
                        Offset::Offset(o) if o >= 0 => Some(o as u64),
                        _ => None,
                    })
            })
            .unwrap_or(0)
    }

    fn read_error(&self, e: &KafkaError, topic: &str, partition: u32, from: u64) -> LogError {
        if e.rdkafka_error_code() == Some(RDKafkaErrorCode::OffsetOutOfRange) {
            let (log_start, log_end) = self
                .offsets(topic, partition)
                .map_or((0, 0), |o| (o.log_start, o.log_end));
            return LogError::OffsetOutOfRange {
                topic: topic.to_string(),
                partition,
                offset: from,
                log_start,
                log_end,
            };
        }
        self.failed().error(e, &format!("{topic}-{partition}"))
    }
}

/// A librdkafka message as the log's record.
pub(super) fn record(m: &BorrowedMessage<'_>) -> Record {
    let headers = m
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| Header {
                    name: h.key.to_string(),
                    value: h.value.map(Bytes::copy_from_slice),
                })
                .collect()
        })
        .unwrap_or_default();
    Record {
        offset: m.offset() as u64,
        timestamp_ms: m.timestamp().to_millis().unwrap_or(-1),
        key: m.key().map(Bytes::copy_from_slice),
        value: m.payload().map(Bytes::copy_from_slice),
        headers,
    }
}
