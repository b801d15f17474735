//! A view of a log in which some topics are still being loaded by source connectors: a
//! reader that reaches the end of such a topic waits for more records, or for the end of
//! the load, instead of stopping there (`Fetch::load_state`, read by
//! `task::PartitionReader`). Everything else is the log's own.
//!
//! A bounded run's queries read through it while connectors load (`exec/loads.rs`), so a
//! query processes the records as they arrive and still sees exactly what it would see
//! after the loads: every task stops only at the final end of its inputs, and merges
//! (of partitions, of a join's sides) wait for the records of a side that is behind, as
//! they wait for a slower task.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::load_progress::LoadProgress;
use super::{
    Acks, EmbeddedLog, Fetch, Fetched, GroupInfo, GroupOffsets, LoadState, Log, LogError,
    LogHandle, Membership, Offsets, Produce, ProducerRef, RecordMetadata, TopicConfig, TopicInfo,
    Topics,
};
use crate::exec::log::ProducerRecord;

pub struct LoadingLog {
    inner: LogHandle,
    /// Each loading topic, with its load's progress.
    loads: HashMap<String, Arc<LoadProgress>>,
}

impl LoadingLog {
    pub fn new(inner: LogHandle, loads: HashMap<String, Arc<LoadProgress>>) -> LoadingLog {
        LoadingLog { inner, loads }
    }
}

impl Topics for LoadingLog {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<(), LogError> {
        self.inner.create_topic(name, config)
    }
    fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        self.inner.delete_topic(name)
    }
    fn topic_names(&self) -> Vec<String> {
        self.inner.topic_names()
    }
    fn partition_count(&self, name: &str) -> Option<u32> {
        self.inner.partition_count(name)
    }
    fn describe_topic(&self, name: &str) -> Result<TopicInfo, LogError> {
        self.inner.describe_topic(name)
    }
}

impl Produce for LoadingLog {
    fn produce_batch(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        acks: Acks,
    ) -> Result<u64, LogError> {
        self.inner.produce_batch(topic, partition, records, acks)
    }
    fn produce_records(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRecord],
        acks: Acks,
    ) -> Result<u64, LogError> {
        self.inner.produce_records(topic, partition, records, acks)
    }
    fn produce(
        &self,
        topic: &str,
        record: ProducerRecord,
        acks: Acks,
    ) -> Result<RecordMetadata, LogError> {
        self.inner.produce(topic, record, acks)
    }
    fn partition_for(&self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError> {
        self.inner.partition_for(topic, key)
    }
}

impl Fetch for LoadingLog {
    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        until: u64,
        max_records: usize,
    ) -> Result<Fetched, LogError> {
        self.inner.fetch(topic, partition, from, until, max_records)
    }
    fn offsets(&self, topic: &str, partition: u32) -> Result<Offsets, LogError> {
        self.inner.offsets(topic, partition)
    }
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<u64>, LogError> {
        self.inner
            .offset_for_timestamp(topic, partition, timestamp_ms)
    }
    fn append_count(&self) -> u64 {
        self.inner.append_count()
    }
    fn wait_for_appends(&self, seen: u64, timeout: std::time::Duration) -> u64 {
        self.inner.wait_for_appends(seen, timeout)
    }
    fn wake_waiters(&self) {
        self.inner.wake_waiters()
    }
    fn load_state(&self, topic: &str) -> LoadState {
        match self.loads.get(topic) {
            None => LoadState::None,
            Some(load) if load.is_done() => LoadState::Loaded,
            Some(_) => LoadState::Loading,
        }
    }
    fn follow_load(&self, topic: &str, partition: u32, position: u64) -> Option<Arc<AtomicU64>> {
        let load = self.loads.get(topic).filter(|l| !l.is_done())?;
        Some(load.follow(partition, position))
    }
}

impl GroupOffsets for LoadingLog {
    fn commit_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), LogError> {
        self.inner.commit_offset(group, topic, partition, offset)
    }
    fn committed_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, LogError> {
        self.inner.committed_offset(group, topic, partition)
    }
    fn group_names(&self) -> Vec<String> {
        self.inner.group_names()
    }
    fn describe_group(&self, group: &str) -> Result<GroupInfo, LogError> {
        self.inner.describe_group(group)
    }
}

impl Log for LoadingLog {
    fn application_id(&self) -> &str {
        self.inner.application_id()
    }
    fn is_durable(&self) -> bool {
        self.inner.is_durable()
    }
    fn embedded(&self) -> Option<&dyn EmbeddedLog> {
        self.inner.embedded()
    }
    fn set_client_property(&self, name: &str, value: &str) -> Result<bool, LogError> {
        self.inner.set_client_property(name, value)
    }
    fn client_properties(&self) -> bool {
        self.inner.client_properties()
    }
    fn shares_groups(&self) -> bool {
        self.inner.shares_groups()
    }
    fn join_group(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Option<Box<dyn Membership>>, LogError> {
        self.inner.join_group(group, topics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::task::{PartitionRange, PartitionReader};
    use bytes::Bytes;

    fn append(log: &LogHandle, n: usize) {
        let records: Vec<ProducerRecord> = (0..n)
            .map(|i| ProducerRecord::new(None, Some(Bytes::from(format!("{i}")))))
            .collect();
        log.produce_records("t", 0, &records, Acks::All).unwrap();
    }

    /// A reader of a loading topic goes on past the end it was given, waiting for the
    /// records appended later, and stops at the end the load leaves.
    #[test]
    fn a_reader_of_a_loading_topic_reads_to_the_end_of_the_load() {
        let log = crate::exec::log::in_memory(1);
        log.create_topic("t", TopicConfig::default()).unwrap();
        append(&log, 10);
        let progress = LoadProgress::new();
        let loading: LogHandle = Arc::new(LoadingLog::new(
            log.clone(),
            HashMap::from([("t".to_string(), progress.clone())]),
        ));
        let loader = {
            let (log, progress) = (log.clone(), progress.clone());
            std::thread::spawn(move || {
                for _ in 0..5 {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    append(&log, 10);
                }
                progress.finish();
            })
        };
        let range = PartitionRange {
            partition: 0,
            start: 0,
            end: 10,
        };
        let mut reader = PartitionReader::new(loading, "t".into(), range);
        // The reader is one the load knows of, at its start.
        assert_eq!(progress.slowest(0), Some(0));
        let mut read = 0;
        while reader.next_record().unwrap().is_some() {
            read += 1;
        }
        loader.join().unwrap();
        assert_eq!(read, 60);
        // It told the load how far it read; gone, it is forgotten.
        assert_eq!(progress.slowest(0), Some(60));
        drop(reader);
        assert_eq!(progress.slowest(0), None);
        // Through the log itself, the range is what it was given.
        let range = PartitionRange {
            partition: 0,
            start: 0,
            end: 10,
        };
        let mut reader = PartitionReader::new(log, "t".into(), range);
        let mut read = 0;
        while reader.next_record().unwrap().is_some() {
            read += 1;
        }
        assert_eq!(read, 10);
    }
}
