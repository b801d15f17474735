//! Topics on the cluster: create (with partitions, replicas and the topic settings kql
//! knows), delete, list, and describe (leader, replicas, ISR and offsets per partition,
//! from the cluster's metadata and watermarks).

use std::time::{Duration, Instant};

use futures_executor::block_on;
use kql_runtime::{CleanupPolicy, LogError, PartitionInfo, TopicConfig, TopicInfo};
use rdkafka::admin::{AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::consumer::Consumer;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::metadata::MetadataTopic;

use super::KafkaLog;
use crate::exec::log::{Fetch, Topics};
use crate::exec::naming;

impl Topics for KafkaLog {
    /// Creates a topic and returns once its partitions have leaders.
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<(), LogError> {
        if config.partitions == 0 || config.partitions > 10_000 {
            return Err(LogError::InvalidPartitions(config.partitions));
        }
        let settings = topic_settings(&config);
        // kql's own topics (command topic, changelogs, repartitions) get the cluster's
        // default replication factor, as Kafka Streams' replication.factor=-1 gives its
        // internal topics: they must survive a broker as well as the user's topics do.
        let replicas = if naming::is_internal(name) {
            -1
        } else {
            config.replicas as i32
        };
        let mut topic = NewTopic::new(
            name,
            config.partitions as i32,
            TopicReplication::Fixed(replicas),
        );
        for (k, v) in &settings {
            topic = topic.set(k, v);
        }
        let results = block_on(self.admin.create_topics([&topic], &self.admin_options()))
            .map_err(|e| self.failed().error(&e, name))?;
        for result in results {
            if let Err((_, code)) = result {
                return Err(match code {
                    RDKafkaErrorCode::InvalidReplicationFactor => {
                        LogError::InvalidReplicationFactor {
                            replicas: config.replicas,
                            brokers: self.broker_count()?,
                        }
                    }
                    RDKafkaErrorCode::InvalidPartitions => {
                        LogError::InvalidPartitions(config.partitions)
                    }
                    other => self.failed().code(other, name),
                });
            }
        }
        self.wait_for_leaders(name, config.partitions)?;
        self.partition_counts
            .lock()
            .unwrap()
            .insert(name.to_string(), config.partitions);
        Ok(())
    }

    fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        let results = block_on(self.admin.delete_topics(&[name], &self.admin_options()))
            .map_err(|e| self.failed().error(&e, name))?;
        self.partition_counts.lock().unwrap().remove(name);
        self.readers.forget_topic(name);
        for result in results {
            if let Err((_, code)) = result {
                return Err(self.failed().code(code, name));
            }
        }
        // Kafka deletes a topic asynchronously; until it is gone a topic of the same name
        // cannot be created.
        let deadline = Instant::now() + self.settings.timeout;
        while self.topic_metadata(name)?.is_some() {
            if Instant::now() > deadline {
                return Err(self.failed().unreachable());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn topic_names(&self) -> Vec<String> {
        let Ok(metadata) = self.meta.fetch_metadata(None, self.settings.timeout) else {
            return Vec::new();
        };
        let mut names: Vec<String> = metadata
            .topics()
            .iter()
            .map(|t| t.name().to_string())
            .filter(|n| !n.starts_with("__"))
            .collect();
        names.sort();
        names
    }

    /// The topic's real partition count on the cluster; None if it does not exist.
    fn partition_count(&self, name: &str) -> Option<u32> {
        if let Some(n) = self.partition_counts.lock().unwrap().get(name) {
            return Some(*n);
        }
        let n = self.topic_metadata(name).ok()??.partitions.len() as u32;
        self.partition_counts
            .lock()
            .unwrap()
            .insert(name.to_string(), n);
        Some(n)
    }

    /// A topic this client knows exists (it created it, or has seen it, and has not
    /// deleted it) that the cluster calls unknown is asked about again until the timeout:
    /// the brokers learn of a new topic one after another, and the one asked (for its
    /// metadata, watermarks or settings) may not know it yet.
    fn describe_topic(&self, name: &str) -> Result<TopicInfo, LogError> {
        let deadline = Instant::now() + self.settings.timeout;
        loop {
            match self.describe_now(name) {
                Err(LogError::UnknownTopic(_))
                    if Instant::now() < deadline
                        && self.partition_counts.lock().unwrap().contains_key(name) =>
                {
                    std::thread::sleep(Duration::from_millis(50))
                }
                described => return described,
            }
        }
    }
}

impl KafkaLog {
    /// The topic as the broker asked describes it now.
    fn describe_now(&self, name: &str) -> Result<TopicInfo, LogError> {
        let topic = self
            .topic_metadata(name)?
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))?;
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let offsets = self.offsets(name, p.partition)?;
            partitions.push(PartitionInfo {
                partition: p.partition,
                leader: p.leader,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                log_start_offset: offsets.log_start,
                log_end_offset: offsets.log_end,
                high_watermark: offsets.high_watermark,
                // Kafka tells partition sizes only through DescribeLogDirs, which librdkafka
                // does not offer.
                size_bytes: 0,
            });
        }
        let mut config = self.topic_config(name)?;
        config.partitions = partitions.len() as u32;
        config.replicas = partitions.first().map_or(0, |p| p.replicas.len() as u32);
        Ok(TopicInfo {
            name: name.to_string(),
            config,
            partitions,
        })
    }

    fn admin_options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.settings.timeout))
            .operation_timeout(Some(self.settings.timeout))
    }

    /// Kafka creates a topic's partitions asynchronously; a write right after CreateTopics
    /// could find no leader yet.
    fn wait_for_leaders(&self, name: &str, partitions: u32) -> Result<(), LogError> {
        let deadline = Instant::now() + self.settings.timeout;
        loop {
            let ready = self.topic_metadata(name)?.is_some_and(|t| {
                t.partitions.len() as u32 == partitions
                    && t.partitions.iter().all(|p| p.leader.is_some())
            });
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failed().unreachable());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The partition count, or `UnknownTopic`.
    pub(super) fn partitions_of(&self, name: &str) -> Result<u32, LogError> {
        self.partition_count(name)
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))
    }

    /// The settings kql knows of a topic, as the cluster reports them.
    fn topic_config(&self, name: &str) -> Result<TopicConfig, LogError> {
        let results = block_on(
            self.admin
                .describe_configs([&ResourceSpecifier::Topic(name)], &self.admin_options()),
        )
        .map_err(|e| self.failed().error(&e, name))?;
        let mut config = TopicConfig::default();
        let Some(Ok(resource)) = results.into_iter().next() else {
            return Ok(config);
        };
        let entries = resource.entry_map();
        let value = |k: &str| entries.get(k).and_then(|e| e.value.clone());
        let number = |k: &str| value(k).and_then(|v| v.parse::<i64>().ok());
        config.retention_ms = number("retention.ms").filter(|ms| *ms >= 0);
        config.retention_bytes = number("retention.bytes")
            .filter(|b| *b >= 0)
            .map(|b| b as u64);
        config.cleanup_policy = match value("cleanup.policy").as_deref() {
            Some("compact") => CleanupPolicy::Compact,
            Some("compact,delete") | Some("delete,compact") => CleanupPolicy::CompactDelete,
            _ => CleanupPolicy::Delete,
        };
        if let Some(ms) = number("delete.retention.ms") {
            config.delete_retention_ms = ms;
        }
        if let Some(n) = number("min.insync.replicas") {
            config.min_insync_replicas = n as u32;
        }
        config.segment_bytes = number("segment.bytes").map(|b| b as u64);
        config.segment_ms = number("segment.ms");
        Ok(config)
    }

    fn broker_count(&self) -> Result<u32, LogError> {
        let metadata = self
            .meta
            .fetch_metadata(None, self.settings.timeout)
            .map_err(|e| self.failed().error(&e, "the cluster's metadata"))?;
        Ok(metadata.brokers().len() as u32)
    }

    /// A topic's partitions as the cluster's metadata has them; None if it does not exist.
    fn topic_metadata(&self, name: &str) -> Result<Option<TopicMetadata>, LogError> {
        let metadata = self
            .meta
            .fetch_metadata(Some(name), self.settings.timeout)
            .map_err(|e| self.failed().error(&e, name))?;
        let Some(topic) = metadata.topics().iter().find(|t| t.name() == name) else {
            return Ok(None);
        };
        match topic.error() {
            None => Ok(Some(TopicMetadata::from(topic))),
            Some(e) => match RDKafkaErrorCode::from(e) {
                RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
                    Ok(None)
                }
                // Still being created: the partitions have no leader yet.
                RDKafkaErrorCode::LeaderNotAvailable => Ok(Some(TopicMetadata::from(topic))),
                code => Err(self.failed().code(code, name)),
            },
        }
    }
}

/// The part of a topic's metadata kql uses, with broker ids as the embedded log numbers
/// them.
struct TopicMetadata {
    partitions: Vec<PartitionMetadata>,
}

struct PartitionMetadata {
    partition: u32,
    leader: Option<u32>,
    replicas: Vec<u32>,
    isr: Vec<u32>,
}

impl From<&MetadataTopic> for TopicMetadata {
    fn from(t: &MetadataTopic) -> Self {
        let ids = |v: &[i32]| v.iter().map(|b| *b as u32).collect::<Vec<_>>();
        let mut partitions: Vec<PartitionMetadata> = t
            .partitions()
            .iter()
            .map(|p| PartitionMetadata {
                partition: p.id() as u32,
                leader: (p.leader() >= 0).then_some(p.leader() as u32),
                replicas: ids(p.replicas()),
                isr: ids(p.isr()),
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        TopicMetadata { partitions }
    }
}

/// A topic's settings as Kafka topic configs (`retention.ms`, `cleanup.policy`, ...).
fn topic_settings(config: &TopicConfig) -> Vec<(&'static str, String)> {
    let defaults = TopicConfig::default();
    let mut settings = Vec::new();
    if let Some(ms) = config.retention_ms {
        settings.push(("retention.ms", ms.to_string()));
    }
    if let Some(bytes) = config.retention_bytes {
        settings.push(("retention.bytes", bytes.to_string()));
    }
    match config.cleanup_policy {
        CleanupPolicy::Delete => {}
        CleanupPolicy::Compact => settings.push(("cleanup.policy", "compact".into())),
        CleanupPolicy::CompactDelete => settings.push(("cleanup.policy", "compact,delete".into())),
    }
    if config.delete_retention_ms != defaults.delete_retention_ms {
        settings.push((
            "delete.retention.ms",
            config.delete_retention_ms.to_string(),
        ));
    }
    if config.min_insync_replicas != defaults.min_insync_replicas {
        settings.push((
            "min.insync.replicas",
            config.min_insync_replicas.to_string(),
        ));
    }
    if let Some(bytes) = config.segment_bytes {
        settings.push(("segment.bytes", bytes.to_string()));
    }
    if let Some(ms) = config.segment_ms {
        settings.push(("segment.ms", ms.to_string()));
    }
    settings
}
