//! The cluster: the set of topics and the entry point of the library. Cheap to clone and
//! shared between tasks.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::LogError;
use crate::partition::Partition;
use crate::partitioner::{partition_for_key, RoundRobin};
use crate::record::{ProducerRecord, Record, RecordMetadata};

/// How many replicas must have a record before `produce` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// Return at once.
    None,
    /// Return when the leader has it.
    Leader,
    /// Return when every in-sync replica has it.
    #[default]
    All,
}

/// A topic's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub partitions: u32,
    pub replicas: u32,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            partitions: 1,
            replicas: 1,
        }
    }
}

/// What `describe_topic` tells about a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub config: TopicConfig,
    pub partitions: Vec<PartitionInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: u32,
    pub log_start_offset: u64,
    pub log_end_offset: u64,
    pub high_watermark: u64,
    pub size_bytes: u64,
}

struct Topic {
    config: TopicConfig,
    partitions: Vec<RwLock<Partition>>,
    round_robin: RoundRobin,
}

/// An embedded cluster. Clones share the same topics.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    brokers: u32,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
}

impl Cluster {
    /// A cluster of `brokers` brokers that keeps its log in memory.
    pub fn in_memory(brokers: u32) -> Cluster {
        Cluster {
            inner: Arc::new(Inner {
                brokers: brokers.max(1),
                topics: RwLock::new(BTreeMap::new()),
            }),
        }
    }

    pub fn broker_count(&self) -> u32 {
        self.inner.brokers
    }

    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<(), LogError> {
        if config.partitions == 0 {
            return Err(LogError::InvalidPartitions(0));
        }
        if config.replicas == 0 || config.replicas > self.inner.brokers {
            return Err(LogError::InvalidReplicationFactor {
                replicas: config.replicas,
                brokers: self.inner.brokers,
            });
        }
        let mut topics = self.inner.topics.write().unwrap();
        if topics.contains_key(name) {
            return Err(LogError::TopicExists(name.to_string()));
        }
        let partitions = (0..config.partitions)
            .map(|_| RwLock::new(Partition::default()))
            .collect();
        topics.insert(
            name.to_string(),
            Arc::new(Topic {
                config,
                partitions,
                round_robin: RoundRobin::default(),
            }),
        );
        Ok(())
    }

    pub fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        match self.inner.topics.write().unwrap().remove(name) {
            Some(_) => Ok(()),
            None => Err(LogError::UnknownTopic(name.to_string())),
        }
    }

    pub fn topic_names(&self) -> Vec<String> {
        self.inner.topics.read().unwrap().keys().cloned().collect()
    }

    /// The real partition count of a topic, if it exists.
    pub fn partition_count(&self, name: &str) -> Option<u32> {
        self.topic(name).ok().map(|t| t.config.partitions)
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>, LogError> {
        self.inner
            .topics
            .read()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))
    }

    /// Appends one record; the partitioner chooses the partition unless the record names one.
    pub fn produce(
        &self,
        topic: &str,
        record: ProducerRecord,
        _acks: Acks,
    ) -> Result<RecordMetadata, LogError> {
        let t = self.topic(topic)?;
        let partition = choose_partition(topic, &t, &record)?;
        let now = now_ms();
        let timestamp_ms = record.timestamp_ms.unwrap_or(now);
        let offset = t.partitions[partition as usize]
            .write()
            .unwrap()
            .append(std::iter::once(record), now);
        Ok(RecordMetadata {
            partition,
            offset,
            timestamp_ms,
        })
    }

    /// Appends a batch of records to one partition (records' own partition fields are
    /// ignored) and returns the offset of the first.
    pub fn produce_batch(
        &self,
        topic: &str,
        partition: u32,
        records: Vec<ProducerRecord>,
        _acks: Acks,
    ) -> Result<u64, LogError> {
        let t = self.topic(topic)?;
        let p = partition_slot(topic, &t, partition)?;
        let first = p.write().unwrap().append(records, now_ms());
        Ok(first)
    }

    /// The partition the default partitioner would choose for `key`.
    pub fn partition_for(&self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError> {
        let t = self.topic(topic)?;
        Ok(match key {
            Some(k) => partition_for_key(k, t.config.partitions),
            None => t.round_robin.next(t.config.partitions),
        })
    }

    /// Up to `max_records` committed records of one partition from `offset` on (cloned:
    /// keys and values are reference-counted, so this copies no payload).
    pub fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max_records: usize,
    ) -> Result<Vec<Record>, LogError> {
        let t = self.topic(topic)?;
        let p = partition_slot(topic, &t, partition)?.read().unwrap();
        let records = p.read(offset, max_records).to_vec();
        Ok(records)
    }

    /// Log start, high watermark and log end of one partition.
    pub fn offsets(&self, topic: &str, partition: u32) -> Result<(u64, u64, u64), LogError> {
        let t = self.topic(topic)?;
        let p = partition_slot(topic, &t, partition)?.read().unwrap();
        let offsets = (p.log_start_offset(), p.high_watermark(), p.log_end_offset());
        Ok(offsets)
    }

    pub fn describe_topic(&self, name: &str) -> Result<TopicInfo, LogError> {
        let t = self.topic(name)?;
        let partitions = t
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = p.read().unwrap();
                PartitionInfo {
                    partition: i as u32,
                    log_start_offset: p.log_start_offset(),
                    log_end_offset: p.log_end_offset(),
                    high_watermark: p.high_watermark(),
                    size_bytes: p.size_bytes(),
                }
            })
            .collect();
        Ok(TopicInfo {
            name: name.to_string(),
            config: t.config.clone(),
            partitions,
        })
    }
}

fn choose_partition(name: &str, t: &Topic, record: &ProducerRecord) -> Result<u32, LogError> {
    let n = t.config.partitions;
    match (record.partition, &record.key) {
        (Some(p), _) => partition_slot(name, t, p).map(|_| p),
        (None, Some(k)) => Ok(partition_for_key(k, n)),
        (None, None) => Ok(t.round_robin.next(n)),
    }
}

fn partition_slot<'a>(name: &str, t: &'a Topic, p: u32) -> Result<&'a RwLock<Partition>, LogError> {
    t.partitions
        .get(p as usize)
        .ok_or_else(|| LogError::UnknownPartition {
            topic: name.to_string(),
            partition: p,
            partitions: t.config.partitions,
        })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn keyed_records_land_where_kafka_puts_them_and_offsets_are_dense() {
        let c = Cluster::in_memory(1);
        c.create_topic(
            "t",
            TopicConfig {
                partitions: 3,
                replicas: 1,
            },
        )
        .unwrap();
        let mut offsets = Vec::new();
        for _ in 0..3 {
            let m = c
                .produce(
                    "t",
                    ProducerRecord::new(
                        Some(Bytes::from_static(b"foobar")),
                        Some(Bytes::from_static(b"v")),
                    ),
                    Acks::All,
                )
                .unwrap();
            assert_eq!(m.partition, 1357151166 % 3);
            offsets.push(m.offset);
        }
        assert_eq!(offsets, vec![0, 1, 2]);
        let got = c.fetch("t", m_partition(), 1, 10).unwrap();
        assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![1, 2]);
    }

    fn m_partition() -> u32 {
        1357151166 % 3
    }

    #[test]
    fn unknown_topic_and_bad_replication_are_errors() {
        let c = Cluster::in_memory(3);
        assert_eq!(
            c.create_topic(
                "t",
                TopicConfig {
                    partitions: 1,
                    replicas: 4
                }
            ),
            Err(LogError::InvalidReplicationFactor {
                replicas: 4,
                brokers: 3
            })
        );
        assert!(matches!(
            c.fetch("nope", 0, 0, 1),
            Err(LogError::UnknownTopic(_))
        ));
    }
}
