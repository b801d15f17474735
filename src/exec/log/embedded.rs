//! The embedded log (`kql_runtime::Cluster`) behind the log interface: the one module of
//! the executor that names it.

use std::path::Path;

use kql_runtime::Cluster;

use super::*;

impl Topics for Cluster {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<(), LogError> {
        Cluster::create_topic(self, name, config)
    }

    fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        Cluster::delete_topic(self, name)
    }

    fn topic_names(&self) -> Vec<String> {
        Cluster::topic_names(self)
    }

    fn partition_count(&self, name: &str) -> Option<u32> {
        Cluster::partition_count(self, name)
    }

    fn describe_topic(&self, name: &str) -> Result<TopicInfo, LogError> {
        Cluster::describe_topic(self, name)
    }
}

impl Produce for Cluster {
    fn produce_batch(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        acks: Acks,
    ) -> Result<u64, LogError> {
        Cluster::produce_refs(self, topic, partition, records, acks)
    }

    fn produce(
        &self,
        topic: &str,
        record: ProducerRecord,
        acks: Acks,
    ) -> Result<RecordMetadata, LogError> {
        Cluster::produce(self, topic, record, acks)
    }

    fn partition_for(&self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError> {
        Cluster::partition_for(self, topic, key)
    }
}

impl Fetch for Cluster {
    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        until: u64,
        max_records: usize,
    ) -> Result<Fetched, LogError> {
        if from >= until {
            return Ok(Fetched::default());
        }
        let batches = Cluster::fetch_batches(self, topic, partition, from, max_records)?;
        Ok(Fetched::batches(batches, until))
    }

    fn offsets(&self, topic: &str, partition: u32) -> Result<Offsets, LogError> {
        let (start, hw, end) = Cluster::offsets(self, topic, partition)?;
        Ok(Offsets::new(start, hw, end))
    }

    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<u64>, LogError> {
        Cluster::offset_for_timestamp(self, topic, partition, timestamp_ms)
    }

    fn append_count(&self) -> u64 {
        Cluster::append_count(self)
    }

    fn wait_for_appends(&self, seen: u64, timeout: std::time::Duration) -> u64 {
        Cluster::wait_for_appends(self, seen, timeout)
    }
    fn wake_waiters(&self) {
        Cluster::wake_waiters(self)
    }
}

impl GroupOffsets for Cluster {
    fn commit_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), LogError> {
        Cluster::commit_offset(self, group, topic, partition, offset)
    }

    fn committed_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, LogError> {
        Ok(Cluster::committed_offset(self, group, topic, partition))
    }

    fn group_names(&self) -> Vec<String> {
        Cluster::groups(self)
    }

    fn describe_group(&self, group: &str) -> Result<GroupInfo, LogError> {
        Cluster::describe_group(self, group)
    }
}

impl Log for Cluster {
    fn is_durable(&self) -> bool {
        self.dir().is_some()
    }

    fn embedded(&self) -> Option<&dyn EmbeddedLog> {
        Some(self)
    }
}

impl EmbeddedLog for Cluster {
    fn data_dir(&self) -> Option<&Path> {
        self.dir()
    }

    fn broker_count(&self) -> u32 {
        Cluster::broker_count(self)
    }

    fn brokers(&self) -> Vec<BrokerInfo> {
        Cluster::brokers(self)
    }

    fn stop_broker(&self, id: u32) -> Result<(), LogError> {
        Cluster::stop_broker(self, id)
    }

    fn start_broker(&self, id: u32) -> Result<(), LogError> {
        Cluster::start_broker(self, id)
    }

    fn enforce_retention(&self, now_ms: i64) -> Result<CleanReport, LogError> {
        Cluster::enforce_retention(self, now_ms)
    }

    fn storage_reports(&self) -> Vec<StorageReport> {
        Cluster::storage_reports(self)
    }
}

/// An embedded log of `brokers` brokers kept in memory (tests, checks, EXPLAIN).
pub fn in_memory(brokers: u32) -> LogHandle {
    std::sync::Arc::new(Cluster::in_memory(brokers))
}

/// The log of a run without a data directory: in memory, each partition spilling its
/// older batches to an unlinked temporary file (`kql_runtime::Spill`).
pub fn spilling(brokers: u32) -> LogHandle {
    std::sync::Arc::new(default_cluster(brokers))
}

/// The cluster behind `spilling`.
pub fn default_cluster(brokers: u32) -> Cluster {
    Cluster::in_memory_spilling(
        brokers,
        kql_runtime::Settings::default(),
        kql_runtime::Spill::in_temp_dir(),
    )
}
