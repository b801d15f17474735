//! A data directory that another process holds, reached through that process (its owner)
//! on the directory's socket (`kql_runtime::local`). Everything the executor does goes to
//! the owner's log, so a second shell or run sees the same topics, records, groups and
//! brokers as the owner, and the owner's queries see what this one writes.
//!
//! Each call is one request and its answer on a connection taken from a small pool, so
//! tasks on several threads do not wait for each other (a `wait_for_appends` holds its
//! connection while it waits).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use kql_runtime::local::LocalClient;

use super::*;

/// A log owned by another process on the same machine.
pub struct RemoteLog {
    dir: PathBuf,
    idle: Mutex<Vec<LocalClient>>,
    brokers: u32,
}

impl RemoteLog {
    /// A log over a connection already made to the process that holds `dir`.
    pub fn with_client(dir: &Path, mut first: LocalClient) -> Result<RemoteLog, LogError> {
        let brokers = first.brokers()?.len() as u32;
        Ok(RemoteLog {
            dir: dir.to_path_buf(),
            idle: Mutex::new(vec![first]),
            brokers,
        })
    }

    /// Runs `f` on an idle connection (a new one when all are busy), then keeps it for the
    /// next call unless it failed on the way.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut LocalClient) -> Result<T, LogError>,
    ) -> Result<T, LogError> {
        let taken = self.idle.lock().unwrap().pop();
        let mut client = match taken {
            Some(c) => c,
            None => LocalClient::connect(&self.dir).map_err(|e| {
                LogError::Remote(format!(
                    "the process that holds {} is gone: {e}",
                    self.dir.display()
                ))
            })?,
        };
        let result = f(&mut client);
        if !matches!(result, Err(LogError::Remote(_))) {
            self.idle.lock().unwrap().push(client);
        }
        result
    }
}

impl Topics for RemoteLog {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<(), LogError> {
        self.with(|c| c.create_topic(name, config))
    }

    fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        self.with(|c| c.delete_topic(name))
    }

    fn topic_names(&self) -> Vec<String> {
        self.with(|c| c.topic_names()).unwrap_or_default()
    }

    fn partition_count(&self, name: &str) -> Option<u32> {
        self.with(|c| c.partition_count(name)).ok().flatten()
    }

    fn describe_topic(&self, name: &str) -> Result<TopicInfo, LogError> {
        self.with(|c| c.describe_topic(name))
    }
}

impl Produce for RemoteLog {
    fn produce_batch(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        acks: Acks,
    ) -> Result<u64, LogError> {
        self.with(|c| c.produce_batch(topic, partition, records, acks))
    }

    fn produce(
        &self,
        topic: &str,
        record: ProducerRecord,
        acks: Acks,
    ) -> Result<RecordMetadata, LogError> {
        self.with(|c| c.produce_one(topic, &record, acks))
    }

    fn partition_for(&self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError> {
        self.with(|c| c.partition_for(topic, key))
    }
}

impl Fetch for RemoteLog {
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
        let records = self.with(|c| c.fetch(topic, partition, from, until, max_records))?;
        Ok(Fetched::records(records, until))
    }

    fn offsets(&self, topic: &str, partition: u32) -> Result<Offsets, LogError> {
        let (start, hw, end) = self.with(|c| c.offsets(topic, partition))?;
        Ok(Offsets::new(start, hw, end))
    }

    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<u64>, LogError> {
        self.with(|c| c.offset_for_timestamp(topic, partition, timestamp_ms))
    }

    fn append_count(&self) -> u64 {
        self.with(|c| c.append_count()).unwrap_or(0)
    }

    fn wait_for_appends(&self, seen: u64, timeout: Duration) -> u64 {
        match self.with(|c| c.wait_for_appends(seen, timeout)) {
            Ok(count) => count,
            // The owner is gone: the next call reports it; do not spin meanwhile.
            Err(_) => {
                std::thread::sleep(timeout);
                seen
            }
        }
    }
}

impl GroupOffsets for RemoteLog {
    fn commit_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), LogError> {
        self.with(|c| c.commit_offset(group, topic, partition, offset))
    }

    fn committed_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, LogError> {
        self.with(|c| c.committed_offset(group, topic, partition))
    }

    fn group_names(&self) -> Vec<String> {
        self.with(|c| c.group_names()).unwrap_or_default()
    }

    fn describe_group(&self, group: &str) -> Result<GroupInfo, LogError> {
        self.with(|c| c.describe_group(group))
    }
}

impl Log for RemoteLog {
    fn is_durable(&self) -> bool {
        true // a data directory
    }

    fn embedded(&self) -> Option<&dyn EmbeddedLog> {
        Some(self)
    }
}

impl EmbeddedLog for RemoteLog {
    fn data_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn broker_count(&self) -> u32 {
        self.brokers
    }

    fn brokers(&self) -> Vec<BrokerInfo> {
        self.with(|c| c.brokers()).unwrap_or_default()
    }

    fn stop_broker(&self, id: u32) -> Result<(), LogError> {
        self.with(|c| c.stop_broker(id))
    }

    fn start_broker(&self, id: u32) -> Result<(), LogError> {
        self.with(|c| c.start_broker(id))
    }

    /// Retention is the owner's: it runs it on its own schedule.
    fn enforce_retention(&self, _now_ms: i64) -> Result<CleanReport, LogError> {
        Ok(CleanReport::default())
    }

    /// The owner reported what it found when it opened the directory.
    fn storage_reports(&self) -> Vec<StorageReport> {
        Vec::new()
    }
}
