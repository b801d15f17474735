//! Writing records to chosen partitions: one idempotent producer per acks level, a batch
//! sent as a whole and waited for once. The partition is chosen by kql (Kafka's murmur2
//! partitioner over the serialized key, as the Java client does), so a record lands where
//! a Java or Python producer would put the same key.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use kql_runtime::partitioner::partition_for_key;
use kql_runtime::{Acks, Header, LogError, ProducerRecord, ProducerRef, RecordMetadata};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use super::context::LastError;
use super::{create, KafkaLog};
use crate::exec::log::{Fetch, Produce};

/// The producers, one per acks level, made when first needed.
#[derive(Default)]
pub struct Producers(Mutex<[Option<Arc<ThreadedProducer<Delivery>>>; 3]>);

impl Producers {
    /// Lets the producers go: the next write makes new ones.
    pub fn clear(&self) {
        *self.0.lock().unwrap() = Default::default();
    }
}

/// Delivery reports of a producer go to the batch each record belongs to.
#[derive(Clone)]
pub struct Delivery {
    last_error: LastError,
}

impl ClientContext for Delivery {
    fn log(&self, level: RDKafkaLogLevel, _fac: &str, message: &str) {
        self.last_error.log(level, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.last_error
            .set(error.rdkafka_error_code(), reason.to_string());
    }
}

impl ProducerContext for Delivery {
    type DeliveryOpaque = Arc<Batch>;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: Arc<Batch>) {
        let mut state = batch.state.lock().unwrap();
        match result {
            Ok(m) => {
                let offset = m.offset() as u64;
                if state.first.is_none_or(|(o, _)| offset < o) {
                    state.first = Some((offset, m.timestamp().to_millis().unwrap_or(-1)));
                }
            }
            Err((e, _)) => {
                if state.error.is_none() {
                    state.error = Some(e.clone());
                }
            }
        }
        state.left -= 1;
        if state.left == 0 {
            batch.done.notify_all();
        }
    }
}

/// The records of one `produce_batch` still in flight.
pub struct Batch {
    state: Mutex<BatchState>,
    done: Condvar,
}

struct BatchState {
    left: usize,
    /// The lowest offset written and its record's timestamp.
    first: Option<(u64, i64)>,
    error: Option<KafkaError>,
}

impl Produce for KafkaLog {
    /// Appends records to one partition in order; returns the offset of the first (the
    /// log end when `records` is empty).
    fn produce_batch(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        acks: Acks,
    ) -> Result<u64, LogError> {
        Ok(self.send(topic, partition, records, acks)?.map_or_else(
            || self.offsets(topic, partition).map(|o| o.log_end),
            |(o, _)| Ok(o),
        )?)
    }

    /// Appends one record to the partition it names, or the one Kafka's partitioner picks.
    fn produce(
        &self,
        topic: &str,
        record: ProducerRecord,
        acks: Acks,
    ) -> Result<RecordMetadata, LogError> {
        let partition = match record.partition {
            Some(p) => p,
            None => self.partition_for(topic, record.key.as_deref())?,
        };
        self.check_partition(topic, partition)?;
        let producer = self.producer(acks)?;
        self.send_one(&producer, topic, partition, &record)
    }

    /// The partition Kafka's default partitioner picks for `key` (round robin without one).
    fn partition_for(&self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError> {
        let partitions = self.partitions_of(topic)?;
        Ok(match key {
            Some(k) => partition_for_key(k, partitions),
            None => self.round_robin.fetch_add(1, Ordering::Relaxed) % partitions,
        })
    }
}

impl KafkaLog {
    /// Sends records with the producer of `acks` and waits for every delivery report: the
    /// first offset and its timestamp, None for no records.
    fn send(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        acks: Acks,
    ) -> Result<Option<(u64, i64)>, LogError> {
        self.check_partition(topic, partition)?;
        if records.is_empty() {
            return Ok(None);
        }
        let producer = self.producer(acks)?;
        self.send_with(&producer, topic, partition, records)
    }

    /// Sends records with `producer` (one of kql's, or a transaction's) and waits for every
    /// delivery report: the first offset and its timestamp, None for no records.
    pub(super) fn send_with(
        &self,
        producer: &ThreadedProducer<Delivery>,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
    ) -> Result<Option<(u64, i64)>, LogError> {
        self.check_partition(topic, partition)?;
        if records.is_empty() {
            return Ok(None);
        }
        if records.iter().any(|r| r.timestamp_ms == Some(0)) {
            // librdkafka reads a timestamp of 0 as "now": the record would silently get the
            // time of sending instead of its event time.
            return Err(LogError::Client(format!(
                "{topic}-{partition}: a record timestamp of 0 (1970-01-01T00:00:00Z) cannot be written to Kafka through librdkafka, which reads 0 as 'now'; use 1 ms or later"
            )));
        }
        let batch = Arc::new(Batch {
            state: Mutex::new(BatchState {
                left: records.len(),
                first: None,
                error: None,
            }),
            done: Condvar::new(),
        });
        for r in records {
            let mut record =
                BaseRecord::with_opaque_to(topic, batch.clone()).partition(partition as i32);
            if let Some(k) = r.key {
                record = record.key(k);
            }
            if let Some(v) = r.value {
                record = record.payload(v);
            }
            if let Some(ts) = r.timestamp_ms {
                record = record.timestamp(ts);
            }
            if !r.headers.is_empty() {
                record = record.headers(headers(r.headers));
            }
            send_waiting_for_room(producer, record)
                .map_err(|e| self.failed().error(&e, &format!("{topic}-{partition}")))?;
        }
        let mut state = batch.state.lock().unwrap();
        // librdkafka fails a record after message.timeout.ms; wait a little longer.
        let wait = self.delivery_timeout() + Duration::from_secs(5);
        while state.left > 0 {
            let (s, timeout) = batch.done.wait_timeout(state, wait).unwrap();
            state = s;
            if timeout.timed_out() && state.left > 0 {
                return Err(self.failed().unreachable());
            }
        }
        if let Some(e) = &state.error {
            return Err(self.produce_error(e, topic, partition));
        }
        Ok(state.first)
    }

    /// Sends one record to `partition` with `producer` and waits for its delivery.
    pub(super) fn send_one(
        &self,
        producer: &ThreadedProducer<Delivery>,
        topic: &str,
        partition: u32,
        record: &ProducerRecord,
    ) -> Result<RecordMetadata, LogError> {
        let (offset, timestamp_ms) = self
            .send_with(producer, topic, partition, &[ProducerRef::from(record)])?
            .expect("one record was sent");
        Ok(RecordMetadata {
            partition,
            offset,
            timestamp_ms,
        })
    }

    pub(super) fn check_partition(&self, topic: &str, partition: u32) -> Result<(), LogError> {
        let partitions = self.partitions_of(topic)?;
        if partition >= partitions {
            return Err(LogError::UnknownPartition {
                topic: topic.to_string(),
                partition,
                partitions,
            });
        }
        Ok(())
    }

    fn produce_error(&self, e: &KafkaError, topic: &str, partition: u32) -> LogError {
        match e.rdkafka_error_code() {
            Some(RDKafkaErrorCode::NotEnoughReplicas)
            | Some(RDKafkaErrorCode::NotEnoughReplicasAfterAppend) => LogError::Client(format!(
                "acks=all on {topic}-{partition}: fewer in-sync replicas than min.insync.replicas (NotEnoughReplicas)"
            )),
            Some(RDKafkaErrorCode::MessageSizeTooLarge) => LogError::Client(format!(
                "{topic}-{partition}: a record is larger than the broker accepts (message.max.bytes)"
            )),
            _ => self.failed().error(e, &format!("{topic}-{partition}")),
        }
    }

    fn delivery_timeout(&self) -> Duration {
        ["message.timeout.ms", "delivery.timeout.ms"]
            .iter()
            .find_map(|k| self.settings.properties.get(*k)?.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(DELIVERY_TIMEOUT)
    }

    fn producer(&self, acks: Acks) -> Result<Arc<ThreadedProducer<Delivery>>, LogError> {
        let (slot, acks_value) = match acks {
            Acks::None => (0, "0"),
            Acks::Leader => (1, "1"),
            Acks::All => (2, "all"),
        };
        let mut producers = self.producers.0.lock().unwrap();
        if let Some(p) = &producers[slot] {
            return Ok(p.clone());
        }
        let timeout_ms = DELIVERY_TIMEOUT.as_millis().to_string();
        let mut overrides = vec![("acks", acks_value)];
        if !self.settings.properties.contains_key("message.timeout.ms")
            && !self.settings.properties.contains_key("delivery.timeout.ms")
        {
            overrides.push(("message.timeout.ms", &timeout_ms));
        }
        // Idempotence keeps a batch's order through retries; it needs acks=all.
        overrides.push((
            "enable.idempotence",
            if slot == 2 { "true" } else { "false" },
        ));
        let context = Delivery {
            last_error: self.context.last_error.clone(),
        };
        let session = self.session_properties.lock().unwrap().clone();
        let producer = Arc::new(create(&self.settings, context, &session, &overrides)?);
        producers[slot] = Some(Arc::clone(&producer));
        Ok(producer)
    }
}

impl KafkaLog {
    /// A producer of its own for a transaction (`transaction.rs`): acks=all, idempotent,
    /// `transactional.id` set, a record's delivery bounded by the transaction's timeout (as
    /// librdkafka requires), and transactions initialised.
    pub(super) fn transactional_producer(
        &self,
        transactional_id: &str,
    ) -> Result<ThreadedProducer<Delivery>, LogError> {
        let timeout_ms = TRANSACTION_TIMEOUT.as_millis().to_string();
        let mut overrides = vec![
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("transactional.id", transactional_id),
        ];
        for name in ["transaction.timeout.ms", "message.timeout.ms"] {
            if !self.has_property(name) && !self.has_property("delivery.timeout.ms") {
                overrides.push((name, &timeout_ms));
            }
        }
        let context = Delivery {
            last_error: self.context.last_error.clone(),
        };
        let session = self.session_properties.lock().unwrap().clone();
        let producer: ThreadedProducer<Delivery> =
            create(&self.settings, context, &session, &overrides)?;
        self.retrying(|| producer.init_transactions(self.settings.timeout))
            .map_err(|e| {
                self.failed()
                    .error(&e, &format!("transactional id '{transactional_id}'"))
            })?;
        Ok(producer)
    }
}

/// How long a transaction may stay open before the cluster aborts it (Kafka Streams'
/// exactly-once default): the records of a process killed mid-transaction hold up the
/// read_committed readers of the topics it wrote for at most this long.
pub(super) const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(10);

/// How long librdkafka may try to deliver a record (its `message.timeout.ms`) unless the
/// user's properties say otherwise.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends a record, waiting while the producer's local queue is full.
fn send_waiting_for_room<'a>(
    producer: &ThreadedProducer<Delivery>,
    mut record: BaseRecord<'a, [u8], [u8], Arc<Batch>>,
) -> Result<(), KafkaError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(2));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

fn headers(headers: &[Header]) -> OwnedHeaders {
    headers
        .iter()
        .fold(OwnedHeaders::new_with_capacity(headers.len()), |h, x| {
            h.insert(KafkaHeader {
                key: &x.name,
                value: x.value.as_deref(),
            })
        })
}
