//! `kql consume` on a Kafka cluster (or `kql serve`): one member of a consumer group,
//! subscribed to a topic with the range assignor, its new assignment reported after each
//! rebalance with the group's generation; or, without a group, a reader of every partition
//! that commits nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kql_runtime::{LogError, OffsetReset, Record};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::context::LastError;
use super::errors::is_transient;
use super::KafkaLog;

/// The most records one `poll` returns.
const POLL_RECORDS_MAX: usize = 500;

/// The consumer's context: librdkafka's errors as the log's other clients keep them, and
/// the last assignment, until `poll` reports it.
#[derive(Clone, Default)]
struct Rebalances {
    last_error: LastError,
    assigned: Arc<Mutex<Option<Assignment>>>,
}

/// The partitions a rebalance gave this member, and the group's generation it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The generation id of the group's JoinGroup response (None without a group).
    pub generation: Option<i32>,
    /// Sorted.
    pub partitions: Vec<u32>,
}

impl ClientContext for Rebalances {
    fn log(&self, level: RDKafkaLogLevel, _fac: &str, message: &str) {
        self.last_error.log(level, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.last_error
            .set(error.rdkafka_error_code(), reason.to_string());
    }
}

impl ConsumerContext for Rebalances {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let mut partitions: Vec<u32> = tpl
                .elements()
                .iter()
                .map(|e| e.partition() as u32)
                .collect();
            partitions.sort_unstable();
            *self.assigned.lock().unwrap() = Some(Assignment {
                generation: group_generation(consumer),
                partitions,
            });
        }
    }
}

/// The generation of the group this member joined last, as the coordinator's JoinGroup
/// response gave it (Kafka's, or kql serve's), read from librdkafka's consumer group
/// metadata; None when the consumer has no group or has not joined yet. The rdkafka crate
/// keeps that metadata's accessors to itself, so this calls librdkafka directly.
fn group_generation(consumer: &BaseConsumer<Rebalances>) -> Option<i32> {
    use rdkafka::bindings as rd;
    // SAFETY: the client pointer is the live consumer's own; librdkafka returns a copy of
    // the group's metadata (or null), which is read and then destroyed here, once.
    let generation = unsafe {
        let metadata = rd::rd_kafka_consumer_group_metadata(consumer.client().native_ptr());
        if metadata.is_null() {
            return None;
        }
        let generation = rd::rd_kafka_consumer_group_metadata_generation_id(metadata);
        rd::rd_kafka_consumer_group_metadata_destroy(metadata);
        generation
    };
    // librdkafka says -1 while the member is not in a generation.
    (generation >= 0).then_some(generation)
}

/// A consumer of one topic.
pub struct TopicConsumer {
    log: KafkaLog,
    consumer: BaseConsumer<Rebalances>,
    context: Rebalances,
    group: Option<String>,
    /// How this process's member is named to the group (the start of its member id).
    pub client_id: String,
}

/// What a poll brought.
#[derive(Debug, Default)]
pub struct Polled {
    /// The partitions this consumer reads, when they changed (a rebalance, or the first
    /// poll).
    pub assignment: Option<Assignment>,
    /// (partition, record), in order within each partition.
    pub records: Vec<(u32, Record)>,
}

impl KafkaLog {
    /// Joins `group` as a member reading `topic`, or (without a group) reads every
    /// partition of it; `reset` says where a partition without a committed offset starts
    /// (without a group: every partition).
    pub fn topic_consumer(
        &self,
        topic: &str,
        group: Option<&str>,
        reset: OffsetReset,
    ) -> Result<TopicConsumer, LogError> {
        let partitions = self.partitions_of(topic)?;
        let client_id = format!("kql-consume-{}", std::process::id());
        let from_latest = reset == OffsetReset::Latest;
        let reset = match reset {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
            OffsetReset::None => "error",
        };
        let mut overrides = vec![
            ("client.id", client_id.as_str()),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", reset),
            ("partition.assignment.strategy", "range"),
        ];
        // librdkafka polls a consumer only with a group id; without a group this one is
        // never joined (partitions are assigned) and never committed to.
        overrides.push(("group.id", group.unwrap_or(&client_id)));
        let context = Rebalances {
            last_error: self.context.last_error.clone(),
            ..Rebalances::default()
        };
        let session = self.session_properties.lock().unwrap().clone();
        let consumer: BaseConsumer<Rebalances> =
            super::create(&self.settings, context.clone(), &session, &overrides)?;
        match group {
            Some(g) => consumer
                .subscribe(&[topic])
                .map_err(|e| self.failed().error(&e, &format!("group '{g}'")))?,
            None => {
                let start = if from_latest {
                    Offset::End
                } else {
                    Offset::Beginning
                };
                let mut tpl = TopicPartitionList::new();
                for p in 0..partitions {
                    tpl.add_partition_offset(topic, p as i32, start)
                        .map_err(|e| self.failed().error(&e, topic))?;
                }
                consumer
                    .assign(&tpl)
                    .map_err(|e| self.failed().error(&e, topic))?;
                *context.assigned.lock().unwrap() = Some(Assignment {
                    generation: None,
                    partitions: (0..partitions).collect(),
                });
            }
        }
        Ok(TopicConsumer {
            log: self.clone(),
            consumer,
            context,
            group: group.map(str::to_string),
            client_id,
        })
    }
}

impl TopicConsumer {
    /// The records that arrived, waiting up to `wait` for the first; a rebalance is served
    /// here (the member answers the group only while it is polled).
    pub fn poll(&mut self, wait: Duration) -> Result<Polled, LogError> {
        let mut polled = Polled::default();
        let mut wait = wait;
        while polled.records.len() < POLL_RECORDS_MAX {
            match self.consumer.poll(wait) {
                None => break,
                Some(Ok(m)) => polled
                    .records
                    .push((m.partition() as u32, super::fetch::record(&m))),
                Some(Err(e)) if is_transient(&e) => {}
                Some(Err(e)) => return Err(self.log.failed().error(&e, self.subject())),
            }
            wait = Duration::ZERO;
        }
        polled.assignment = self.context.assigned.lock().unwrap().take();
        Ok(polled)
    }

    /// Commits the positions of the records polled so far (a member only). A commit the
    /// group refuses because it rebalanced since the poll is not an error: the partitions'
    /// new owners start at the last commit (a record may be read twice, never skipped).
    pub fn commit(&self) -> Result<(), LogError> {
        if self.group.is_none() {
            return Ok(());
        }
        use RDKafkaErrorCode as C;
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.rdkafka_error_code(),
                    Some(
                        C::NoOffset
                            | C::RebalanceInProgress
                            | C::IllegalGeneration
                            | C::UnknownMemberId
                    )
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(self.log.failed().error(&e, self.subject())),
        }
    }

    fn subject(&self) -> &str {
        self.group.as_deref().unwrap_or("the consumer")
    }
}

impl Drop for TopicConsumer {
    /// Leaves the group at once (the others rebalance without waiting for a timeout).
    fn drop(&mut self) {
        if self.group.is_some() {
            self.consumer.unsubscribe();
            let _ = self.consumer.poll(Duration::from_millis(100));
        }
    }
}
