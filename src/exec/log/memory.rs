//! A log over plain `Vec`s, for operator tests: one broker, every record committed on
//! append, offsets from 0 with no gaps, group offsets in a map. It implements the log
//! interface and nothing of `EmbeddedLog`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kql_runtime::partitioner::partition_for_key;
use kql_runtime::GroupPartitionInfo;

use super::*;

#[derive(Default)]
pub struct MemoryLog {
    topics: Mutex<BTreeMap<String, MemoryTopic>>,
    committed: Mutex<BTreeMap<(String, String, u32), u64>>,
}

struct MemoryTopic {
    config: TopicConfig,
    partitions: Vec<Vec<Record>>,
    round_robin: u32,
}

impl MemoryLog {
    pub fn new() -> MemoryLog {
        MemoryLog::default()
    }

    /// A handle on a new, empty log.
    pub fn handle() -> LogHandle {
        Arc::new(MemoryLog::new())
    }

    fn with_partition<T>(
        &self,
        topic: &str,
        partition: u32,
        f: impl FnOnce(&mut Vec<Record>) -> T,
    ) -> Result<T, LogError> {
        let mut topics = self.topics.lock().unwrap();
        let t = topics
            .get_mut(topic)
            .ok_or_else(|| LogError::UnknownTopic(topic.to_string()))?;
        let partitions = t.partitions.len() as u32;
        let p =
            t.partitions
                .get_mut(partition as usize)
                .ok_or_else(|| LogError::UnknownPartition {
                    topic: topic.to_string(),
                    partition,
                    partitions,
                })?;
        Ok(f(p))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Topics for MemoryLog {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<(), LogError> {
        if config.partitions == 0 {
            return Err(LogError::InvalidPartitions(0));
        }
        let mut topics = self.topics.lock().unwrap();
        if topics.contains_key(name) {
            return Err(LogError::TopicExists(name.to_string()));
        }
        let partitions = vec![Vec::new(); config.partitions as usize];
        topics.insert(
            name.to_string(),
            MemoryTopic {
                config,
                partitions,
                round_robin: 0,
            },
        );
        Ok(())
    }

    fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        match self.topics.lock().unwrap().remove(name) {
            Some(_) => Ok(()),
            None => Err(LogError::UnknownTopic(name.to_string())),
        }
    }

    fn topic_names(&self) -> Vec<String> {
        let topics = self.topics.lock().unwrap();
        topics
            .keys()
            .filter(|n| !n.starts_with("__"))
            .cloned()
            .collect()
    }

    fn partition_count(&self, name: &str) -> Option<u32> {
        let topics = self.topics.lock().unwrap();
        topics.get(name).map(|t| t.partitions.len() as u32)
    }

    fn describe_topic(&self, name: &str) -> Result<TopicInfo, LogError> {
        let topics = self.topics.lock().unwrap();
        let t = topics
            .get(name)
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))?;
        let partitions = t
            .partitions
            .iter()
            .enumerate()
            .map(|(i, records)| PartitionInfo {
                partition: i as u32,
                leader: Some(1),
                replicas: vec![1],
                isr: vec![1],
                log_start_offset: 0,
                log_end_offset: records.len() as u64,
                high_watermark: records.len() as u64,
                size_bytes: 0,
            })
            .collect();
        Ok(TopicInfo {
            name: name.to_string(),
            config: t.config.clone(),
            partitions,
        })
    }
}

impl Produce for MemoryLog {
    fn produce_batch(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        _acks: Acks,
    ) -> Result<u64, LogError> {
        let now = now_ms();
        self.with_partition(topic, partition, |p| {
            let first = p.len() as u64;
            for r in records {
                p.push(Record {
                    offset: p.len() as u64,
                    timestamp_ms: r.timestamp_ms.unwrap_or(now),
                    key: r.key.map(Bytes::copy_from_slice),
                    value: r.value.map(Bytes::copy_from_slice),
                    headers: r.headers.to_vec(),
                });
            }
            first
        })
    }

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
        let timestamp_ms = record.timestamp_ms.unwrap_or_else(now_ms);
        let record = record.with_timestamp(timestamp_ms);
        let offset = self.produce_batch(topic, partition, &[ProducerRef::from(&record)], acks)?;
        Ok(RecordMetadata {
            partition,
            offset,
            timestamp_ms,
        })
    }

    fn partition_for(&self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError> {
        let mut topics = self.topics.lock().unwrap();
        let t = topics
            .get_mut(topic)
            .ok_or_else(|| LogError::UnknownTopic(topic.to_string()))?;
        let n = t.partitions.len() as u32;
        Ok(match key {
            Some(k) => partition_for_key(k, n),
            None => {
                t.round_robin = t.round_robin.wrapping_add(1);
                t.round_robin % n
            }
        })
    }
}

impl Fetch for MemoryLog {
    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        until: u64,
        max_records: usize,
    ) -> Result<Fetched, LogError> {
        self.with_partition(topic, partition, |p| {
            let from = (from as usize).min(p.len());
            let to = (until.min(p.len() as u64) as usize)
                .min(from + max_records.max(1))
                .max(from);
            Fetched::records(p[from..to].to_vec(), until)
        })
    }

    fn offsets(&self, topic: &str, partition: u32) -> Result<Offsets, LogError> {
        self.with_partition(topic, partition, |p| {
            Offsets::new(0, p.len() as u64, p.len() as u64)
        })
    }

    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<u64>, LogError> {
        self.with_partition(topic, partition, |p| {
            p.iter()
                .find(|r| r.timestamp_ms >= timestamp_ms)
                .map(|r| r.offset)
        })
    }
}

impl GroupOffsets for MemoryLog {
    fn commit_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), LogError> {
        self.committed
            .lock()
            .unwrap()
            .insert((group.to_string(), topic.to_string(), partition), offset);
        Ok(())
    }

    fn committed_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, LogError> {
        let committed = self.committed.lock().unwrap();
        let key = (group.to_string(), topic.to_string(), partition);
        Ok(committed.get(&key).copied())
    }

    fn group_names(&self) -> Vec<String> {
        let committed = self.committed.lock().unwrap();
        let mut names: Vec<String> = committed.keys().map(|(g, _, _)| g.clone()).collect();
        names.dedup();
        names
    }

    fn describe_group(&self, group: &str) -> Result<GroupInfo, LogError> {
        let committed: Vec<((String, u32), u64)> = {
            let c = self.committed.lock().unwrap();
            c.iter()
                .filter(|((g, _, _), _)| g == group)
                .map(|((_, t, p), o)| ((t.clone(), *p), *o))
                .collect()
        };
        if committed.is_empty() {
            return Err(LogError::UnknownGroup(group.to_string()));
        }
        let mut partitions = Vec::new();
        for ((topic, partition), offset) in committed {
            let end = self.offsets(&topic, partition)?.log_end;
            partitions.push(GroupPartitionInfo {
                topic,
                partition,
                committed: Some(offset),
                log_end_offset: end,
                lag: Some(end.saturating_sub(offset)),
                owner: None,
            });
        }
        Ok(GroupInfo {
            group: group.to_string(),
            generation: 0,
            members: Vec::new(),
            partitions,
        })
    }
}

impl Log for MemoryLog {
    fn is_durable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(f: &mut Fetched) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        while let Some(r) = f.next_record() {
            let r = r.unwrap();
            out.push((
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            ));
        }
        out
    }

    #[test]
    fn fetch_reads_from_an_offset_up_to_a_bound_and_says_where_to_resume() {
        let log = MemoryLog::new();
        let config = TopicConfig {
            partitions: 2,
            ..TopicConfig::default()
        };
        log.create_topic("t", config).unwrap();
        let rs: Vec<ProducerRecord> = (0..5)
            .map(|i| ProducerRecord::new(None, Some(Bytes::from(format!("v{i}")))))
            .collect();
        let refs: Vec<ProducerRef> = rs.iter().map(ProducerRef::from).collect();
        assert_eq!(log.produce_batch("t", 1, &refs, Acks::All).unwrap(), 0);
        assert_eq!(log.offsets("t", 1).unwrap(), Offsets::new(0, 5, 5));
        assert_eq!(log.partition_count("t"), Some(2));
        let mut f = log.fetch("t", 1, 1, 4, 10).unwrap();
        assert_eq!(f.resume_at(), Some(4));
        assert_eq!(
            values(&mut f),
            vec![(1, "v1".into()), (2, "v2".into()), (3, "v3".into())]
        );
        let mut f = log.fetch("t", 1, 3, 100, 1).unwrap();
        assert_eq!(values(&mut f), vec![(3, "v3".into())]);
        assert!(log.fetch("t", 2, 0, 1, 1).is_err());
        log.commit_offset("g", "t", 1, 3).unwrap();
        assert_eq!(log.committed_offset("g", "t", 1).unwrap(), Some(3));
        assert_eq!(log.describe_group("g").unwrap().partitions[0].lag, Some(2));
    }
}
