//! Exactly-once for a persistent query that several processes share
//! (`processing.guarantee=exactly_once_v2`, as Kafka Streams' instances write): each
//! process's member of the query's group has a transactional producer of its own. What the
//! query's tasks write in this process (sink, repartition and changelog records) and the
//! input offsets they commit go into one transaction, begun at the first write after a
//! commit and committed with the offsets (`send_offsets_to_transaction` with the group's
//! metadata as of the transaction's beginning). Readers read committed records only, so a
//! transaction that does not commit (the process was killed, or the group moved on) leaves
//! nothing visible, and the partitions' next owner starts from the last commit.
//!
//! Fencing: the offsets carry the member's generation; once the group has rebalanced, the
//! cluster refuses them, the transaction is aborted, and the process goes back to its last
//! committed state (`exec::share`). A process killed mid-transaction leaves it open until
//! the cluster aborts it (the transaction timeout, 10 s).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kql_runtime::{
    Acks, GroupInfo, LogError, ProducerRecord, ProducerRef, RecordMetadata, TopicConfig, TopicInfo,
};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::error::KafkaError;
use rdkafka::producer::{Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use super::context::Context;
use super::produce::Delivery;
use super::KafkaLog;
use crate::exec::log::{
    Fetch, Fetched, GroupOffsets, Log, LogHandle, Offsets, Produce, Topics, Transaction,
};

/// A member's transaction: cheap to clone, and a log of its own (`Transaction::log`).
#[derive(Clone)]
pub struct KafkaTransaction(Arc<Inner>);

struct Inner {
    log: KafkaLog,
    group: String,
    /// The member's consumer: the group's metadata (member id, generation) comes from it.
    member: Arc<BaseConsumer<Context>>,
    producer: ThreadedProducer<Delivery>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The group's metadata when the open transaction began; None: no transaction is open.
    open: Option<ConsumerGroupMetadata>,
    /// The group's offsets committed in the open transaction.
    offsets: BTreeMap<(String, u32), u64>,
}

impl KafkaTransaction {
    pub(super) fn new(
        log: &KafkaLog,
        group: &str,
        member: Arc<BaseConsumer<Context>>,
    ) -> Result<KafkaTransaction, LogError> {
        // One producer per process and query, as Kafka Streams' exactly_once_v2 has one per
        // thread: the group's generation fences a stale member, so the id need not be
        // stable, only unique.
        let id = format!("{group}-{}-{}", std::process::id(), unique_suffix());
        Ok(KafkaTransaction(Arc::new(Inner {
            producer: log.transactional_producer(&id)?,
            log: log.clone(),
            group: group.to_string(),
            member,
            state: Mutex::new(State::default()),
        })))
    }
}

/// Nanoseconds of the clock: two processes with the same pid (in two containers) still
/// get two transactional ids.
fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

impl Inner {
    /// Begins a transaction if none is open.
    fn begin(&self, state: &mut State) -> Result<(), LogError> {
        if state.open.is_some() {
            return Ok(());
        }
        let metadata = self.member.group_metadata().ok_or_else(|| {
            LogError::Client(format!(
                "consumer group '{}': no group metadata",
                self.group
            ))
        })?;
        self.producer
            .begin_transaction()
            .map_err(|e| self.error(&e))?;
        state.open = Some(metadata);
        Ok(())
    }

    fn error(&self, e: &KafkaError) -> LogError {
        self.log
            .failed()
            .error(e, &format!("transaction of group '{}'", self.group))
    }

    fn abort_open(&self, state: &mut State) -> Result<(), LogError> {
        state.offsets.clear();
        if state.open.take().is_none() {
            return Ok(());
        }
        self.producer
            .abort_transaction(self.log.settings.timeout)
            .map_err(|e| self.error(&e))
    }

    /// Sends the offsets and commits; Ok(false) when the transaction had to be aborted.
    fn commit_open(&self, state: &mut State) -> Result<bool, LogError> {
        let Some(metadata) = state.open.as_ref() else {
            return Ok(true);
        };
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in &state.offsets {
            offsets
                .add_partition_offset(topic, *partition as i32, Offset::Offset(*offset as i64))
                .map_err(|e| self.error(&e))?;
        }
        let timeout = self.log.settings.timeout;
        let sent = if offsets.count() > 0 {
            self.producer
                .send_offsets_to_transaction(&offsets, metadata, timeout)
        } else {
            Ok(())
        };
        match sent.and_then(|()| self.producer.commit_transaction(timeout)) {
            Ok(()) => {
                state.open = None;
                state.offsets.clear();
                Ok(true)
            }
            Err(e) if requires_abort(&e) => {
                self.abort_open(state)?;
                Ok(false)
            }
            Err(e) => Err(self.error(&e)),
        }
    }
}

/// The transaction cannot commit, but the producer can go on after an abort: the group
/// fenced this member (a rebalance gave its partitions to others), or the cluster aborted
/// the transaction after its timeout.
fn requires_abort(e: &KafkaError) -> bool {
    matches!(e, KafkaError::Transaction(t) if t.txn_requires_abort())
}

impl Transaction for KafkaTransaction {
    fn log(&self) -> LogHandle {
        self.0.clone()
    }

    fn commit(&self) -> Result<bool, LogError> {
        let mut state = self.0.state.lock().unwrap();
        self.0.commit_open(&mut state)
    }

    fn abort(&self) -> Result<(), LogError> {
        let mut state = self.0.state.lock().unwrap();
        self.0.abort_open(&mut state)
    }
}

impl Drop for Inner {
    /// A transaction left open (the query stopped on an error) is aborted now rather than
    /// holding up readers until the cluster's timeout.
    fn drop(&mut self) {
        let mut state = std::mem::take(self.state.get_mut().unwrap());
        let _ = self.abort_open(&mut state);
    }
}

impl Produce for Inner {
    fn produce_batch(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        _acks: Acks,
    ) -> Result<u64, LogError> {
        if records.is_empty() {
            return self.log.produce_batch(topic, partition, records, Acks::All);
        }
        self.begin(&mut self.state.lock().unwrap())?;
        let sent = self
            .log
            .send_with(&self.producer, topic, partition, records)?;
        Ok(sent.expect("records were sent").0)
    }

    fn produce(
        &self,
        topic: &str,
        record: ProducerRecord,
        _acks: Acks,
    ) -> Result<RecordMetadata, LogError> {
        let partition = match record.partition {
            Some(p) => p,
            None => self.log.partition_for(topic, record.key.as_deref())?,
        };
        self.begin(&mut self.state.lock().unwrap())?;
        self.log.send_one(&self.producer, topic, partition, &record)
    }

    fn partition_for(&self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError> {
        self.log.partition_for(topic, key)
    }
}

impl GroupOffsets for Inner {
    /// The member's group's offsets go into the transaction; another group's are
    /// committed at once.
    fn commit_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), LogError> {
        if group != self.group {
            return self.log.commit_offset(group, topic, partition, offset);
        }
        let mut state = self.state.lock().unwrap();
        self.begin(&mut state)?;
        state.offsets.insert((topic.to_string(), partition), offset);
        Ok(())
    }

    fn committed_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, LogError> {
        self.log.committed_offset(group, topic, partition)
    }

    fn group_names(&self) -> Vec<String> {
        self.log.group_names()
    }

    fn describe_group(&self, group: &str) -> Result<GroupInfo, LogError> {
        self.log.describe_group(group)
    }
}

impl Topics for Inner {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<(), LogError> {
        self.log.create_topic(name, config)
    }

    fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        self.log.delete_topic(name)
    }

    fn topic_names(&self) -> Vec<String> {
        self.log.topic_names()
    }

    fn partition_count(&self, name: &str) -> Option<u32> {
        self.log.partition_count(name)
    }

    fn describe_topic(&self, name: &str) -> Result<TopicInfo, LogError> {
        self.log.describe_topic(name)
    }
}

impl Fetch for Inner {
    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        until: u64,
        max_records: usize,
    ) -> Result<Fetched, LogError> {
        self.log.fetch(topic, partition, from, until, max_records)
    }

    fn offsets(&self, topic: &str, partition: u32) -> Result<Offsets, LogError> {
        self.log.offsets(topic, partition)
    }

    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<u64>, LogError> {
        self.log
            .offset_for_timestamp(topic, partition, timestamp_ms)
    }
}

impl Log for Inner {
    fn is_durable(&self) -> bool {
        true
    }

    fn application_id(&self) -> &str {
        self.log.application_id()
    }

    fn client_properties(&self) -> bool {
        true
    }
}
