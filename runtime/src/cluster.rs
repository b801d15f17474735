//! The cluster: brokers, topics and the entry point of the library. Cheap to clone and
//! shared between tasks. Each partition's replicas live on brokers 1..=N; stopping a
//! broker moves leadership to an in-sync follower and re-replicates onto a healthy broker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod failover;
mod repair;

pub use repair::StorageReport;

use crate::appends::AppendSignal;
use crate::error::LogError;
use crate::group::GroupCoordinator;
use crate::limits::{BROKERS_MAX, PARTITIONS_MAX, TOPIC_NAME_BYTES_MAX};
use crate::local::LocalServer;
use crate::log::PartitionLog;
use crate::metadata::{self, ClusterMeta, PartitionMeta, TopicMeta};
use crate::open_files;
use crate::partitioner::{partition_for_key, RoundRobin};
use crate::record::{ProducerRecord, ProducerRef, Record, RecordMetadata};
use crate::replica::PartitionState;
use crate::retention::{self, CleanReport};
use crate::settings::Settings;
use crate::spill::Spill;
use crate::view::RecordBatch;

pub use crate::replica::Acks;
pub use crate::settings::TopicConfig;

/// What `describe_topic` tells about a topic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicInfo {
    pub name: String,
    pub config: TopicConfig,
    pub partitions: Vec<PartitionInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionInfo {
    pub partition: u32,
    /// The broker leading the partition; None while every in-sync replica is stopped.
    pub leader: Option<u32>,
    /// Brokers holding a replica, in preference order.
    pub replicas: Vec<u32>,
    /// In-sync replicas.
    pub isr: Vec<u32>,
    pub log_start_offset: u64,
    pub log_end_offset: u64,
    pub high_watermark: u64,
    pub size_bytes: u64,
}

/// What `brokers` tells about one broker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerInfo {
    pub id: u32,
    pub alive: bool,
    pub leader_count: u32,
    pub replica_count: u32,
}

pub(crate) struct Topic {
    pub(crate) config: TopicConfig,
    pub(crate) partitions: Vec<RwLock<PartitionState>>,
    round_robin: RoundRobin,
}

/// An embedded cluster. Clones share the same brokers and topics.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    dir: Option<PathBuf>,
    /// An in-memory cluster's spilling of older batches (`spill.rs`).
    spill: Option<Spill>,
    /// Holds an exclusive lock on `dir/.lock` while the cluster is open.
    _lock: Option<std::fs::File>,
    settings: Settings,
    brokers: u32,
    alive: RwLock<Vec<bool>>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serialises topic creation and deletion, broker stops and starts, metadata writes.
    admin: Mutex<()>,
    pub(crate) groups: GroupCoordinator,
    maintenance_error: Mutex<Option<LogError>>,
    /// Damage found on open and reads that fell back to another replica (`repair.rs`).
    reports: Mutex<Vec<StorageReport>>,
    /// Raised after each append batch: live readers wait on it.
    appends: AppendSignal,
    /// Serves other processes on the data directory's socket (`serve_local`).
    local: Mutex<Option<LocalServer>>,
}

impl Cluster {
    /// A cluster of `brokers` brokers that keeps its log in memory.
    pub fn in_memory(brokers: u32) -> Cluster {
        Cluster::in_memory_with(brokers, Settings::default())
    }

    /// An in-memory cluster with explicit log settings (segment size and age).
    pub fn in_memory_with(brokers: u32, settings: Settings) -> Cluster {
        Cluster::new(None, None, brokers, settings)
    }

    /// An in-memory cluster whose partitions keep only their newest batches in memory
    /// and spill older ones to unlinked temporary files (`Spill`): memory bounded by
    /// partitions rather than records, nothing left on disk after the process ends.
    pub fn in_memory_spilling(brokers: u32, settings: Settings, spill: Spill) -> Cluster {
        let mut c = Cluster::new(None, None, brokers, settings);
        Arc::get_mut(&mut c.inner)
            .expect("a new cluster is not shared")
            .spill = Some(spill);
        c
    }

    fn new(
        dir: Option<PathBuf>,
        lock: Option<std::fs::File>,
        brokers: u32,
        settings: Settings,
    ) -> Cluster {
        let brokers = brokers.clamp(1, BROKERS_MAX);
        Cluster {
            inner: Arc::new(Inner {
                dir,
                spill: None,
                _lock: lock,
                settings,
                brokers,
                alive: RwLock::new(vec![true; brokers as usize]),
                topics: RwLock::new(BTreeMap::new()),
                admin: Mutex::new(()),
                groups: GroupCoordinator::default(),
                maintenance_error: Mutex::new(None),
                reports: Mutex::new(Vec::new()),
                appends: AppendSignal::default(),
                local: Mutex::new(None),
            }),
        }
    }

    /// A durable cluster in `dir`: every replica's log is a directory of segment files
    /// under `dir/broker-{id}/{topic}-{partition}`, topics' configs and assignments are in
    /// `dir/cluster.json`. Reopening finds everything again, recovers each log's last
    /// segment, and rebuilds committed consumer offsets from `__consumer_offsets`.
    /// The broker count is the larger of `brokers` and the count the directory was made with.
    pub fn open(
        dir: impl AsRef<Path>,
        brokers: u32,
        settings: Settings,
    ) -> Result<Cluster, LogError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let lock = metadata::lock_dir(&dir)?;
        let meta = metadata::load(&dir)?.unwrap_or_default();
        metadata::validate(&meta, brokers.max(meta.brokers).clamp(1, BROKERS_MAX))?;
        let replicas: usize = meta
            .topics
            .values()
            .flat_map(|t| &t.partitions)
            .map(|p| p.replicas.len())
            .sum();
        open_files::check(replicas as u64, &format!("opening {}", dir.display()))?;
        let c = Cluster::new(
            Some(dir.clone()),
            Some(lock),
            brokers.max(meta.brokers),
            settings,
        );
        let now = now_ms();
        {
            let mut topics = c.inner.topics.write().unwrap();
            for (name, tm) in &meta.topics {
                let mut parts = Vec::with_capacity(tm.partitions.len());
                for (p, pm) in tm.partitions.iter().enumerate() {
                    let mut st = PartitionState {
                        topic: name.clone(),
                        partition: p as u32,
                        replicas: pm.replicas.clone(),
                        leader: pm.leader,
                        isr: pm.isr.clone(),
                        leader_epoch: pm.leader_epoch,
                        high_watermark: 0,
                        logs: BTreeMap::new(),
                    };
                    for &b in &pm.replicas {
                        let log = c.new_log(b, name, p as u32, &tm.config, 0, now)?;
                        st.logs.insert(b, log);
                    }
                    c.repair_on_open(&mut st)?;
                    parts.push(RwLock::new(st));
                }
                topics.insert(
                    name.clone(),
                    Arc::new(Topic {
                        config: tm.config.clone(),
                        partitions: parts,
                        round_robin: RoundRobin::default(),
                    }),
                );
            }
        }
        metadata::remove_stray_logs(&dir, &meta)?;
        {
            let _admin = c.inner.admin.lock().unwrap();
            c.heal_all(now)?;
            c.save_meta()?;
        }
        c.inner.groups.rebuild(&c)?;
        Ok(c)
    }

    pub fn broker_count(&self) -> u32 {
        self.inner.brokers
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The directory of a durable cluster.
    pub fn dir(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }

    fn alive(&self) -> Vec<bool> {
        self.inner.alive.read().unwrap().clone()
    }

    fn live_brokers(&self) -> Vec<u32> {
        self.alive()
            .iter()
            .enumerate()
            .filter(|(_, &a)| a)
            .map(|(i, _)| i as u32 + 1)
            .collect()
    }

    fn new_log(
        &self,
        broker: u32,
        topic: &str,
        partition: u32,
        config: &TopicConfig,
        base_offset: u64,
        now: i64,
    ) -> Result<PartitionLog, LogError> {
        let settings = config.log_settings(&self.inner.settings);
        match &self.inner.dir {
            None => Ok(match &self.inner.spill {
                Some(spill) => {
                    PartitionLog::in_memory_spilling(settings, base_offset, now, spill.clone())
                }
                None => PartitionLog::in_memory(settings, base_offset, now),
            }),
            Some(d) => PartitionLog::open(
                &self.replica_dir(d, broker, topic, partition),
                settings,
                base_offset,
                now,
            ),
        }
    }

    fn replica_dir(&self, dir: &Path, broker: u32, topic: &str, partition: u32) -> PathBuf {
        dir.join(format!("broker-{broker}"))
            .join(format!("{topic}-{partition}"))
    }

    /// `new_log` of a new topic: a leftover directory of an old topic of the same name
    /// is removed first, not reused.
    fn fresh_log(
        &self,
        broker: u32,
        topic: &str,
        partition: u32,
        config: &TopicConfig,
        now: i64,
    ) -> Result<PartitionLog, LogError> {
        if let Some(d) = &self.inner.dir {
            match std::fs::remove_dir_all(self.replica_dir(d, broker, topic, partition)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        self.new_log(broker, topic, partition, config, 0, now)
    }

    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<(), LogError> {
        validate_topic_name(name)?;
        if config.partitions == 0 || config.partitions > PARTITIONS_MAX {
            return Err(LogError::InvalidPartitions(config.partitions));
        }
        let _admin = self.inner.admin.lock().unwrap();
        let live = self.live_brokers();
        if config.replicas == 0 || config.replicas as usize > live.len() {
            return Err(LogError::InvalidReplicationFactor {
                replicas: config.replicas,
                brokers: live.len() as u32,
            });
        }
        if config.min_insync_replicas == 0 || config.min_insync_replicas > config.replicas {
            return Err(LogError::InvalidConfig(format!(
                "min_insync_replicas must be between 1 and the replication factor {} (got {})",
                config.replicas, config.min_insync_replicas
            )));
        }
        if self.inner.topics.read().unwrap().contains_key(name) {
            return Err(LogError::TopicExists(name.to_string()));
        }
        if self.inner.dir.is_some() {
            let files = config.partitions as u64 * config.replicas as u64;
            open_files::check(files, &format!("topic '{name}'"))?;
        }
        let now = now_ms();
        let n = live.len();
        let mut partitions = Vec::with_capacity(config.partitions as usize);
        for p in 0..config.partitions {
            // Kafka's round-robin placement: partition p starts at the p-th live broker.
            let replicas: Vec<u32> = (0..config.replicas as usize)
                .map(|k| live[(p as usize + k) % n])
                .collect();
            let mut logs = BTreeMap::new();
            for &b in &replicas {
                match self.fresh_log(b, name, p, &config, now) {
                    Ok(log) => logs.insert(b, log),
                    Err(e) => {
                        // Nothing of a topic that could not be created stays behind.
                        let made = partitions
                            .into_iter()
                            .map(|p: RwLock<PartitionState>| p.into_inner().unwrap().logs);
                        for (_, log) in made.chain([logs]).flatten() {
                            let _ = log.delete();
                        }
                        return Err(e);
                    }
                };
            }
            partitions.push(RwLock::new(PartitionState {
                topic: name.to_string(),
                partition: p,
                leader: Some(replicas[0]),
                isr: replicas.clone(),
                replicas,
                leader_epoch: 0,
                high_watermark: 0,
                logs,
            }));
        }
        self.inner.topics.write().unwrap().insert(
            name.to_string(),
            Arc::new(Topic {
                config,
                partitions,
                round_robin: RoundRobin::default(),
            }),
        );
        self.save_meta()
    }

    pub fn delete_topic(&self, name: &str) -> Result<(), LogError> {
        let _admin = self.inner.admin.lock().unwrap();
        let t = self
            .inner
            .topics
            .write()
            .unwrap()
            .remove(name)
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))?;
        for p in &t.partitions {
            let mut st = p.write().unwrap();
            // A produce or fetch that found the topic just before it went sees an offline
            // partition (LeaderNotAvailable), never a leader without a log.
            st.leader = None;
            st.isr.clear();
            st.replicas.clear();
            let logs = std::mem::take(&mut st.logs);
            drop(st);
            for (_, log) in logs {
                log.delete()?;
            }
        }
        self.save_meta()
    }

    /// User topics, in name order (internal topics such as `__consumer_offsets` are left
    /// out, as `kafka-topics --list` does without `--include-internal`).
    pub fn topic_names(&self) -> Vec<String> {
        self.all_topic_names()
            .into_iter()
            .filter(|n| !n.starts_with("__"))
            .collect()
    }

    /// Every topic, internal ones included.
    pub fn all_topic_names(&self) -> Vec<String> {
        self.inner.topics.read().unwrap().keys().cloned().collect()
    }

    /// The real partition count of a topic, if it exists.
    pub fn partition_count(&self, name: &str) -> Option<u32> {
        self.topic(name).ok().map(|t| t.config.partitions)
    }

    pub(crate) fn topic(&self, name: &str) -> Result<Arc<Topic>, LogError> {
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
        acks: Acks,
    ) -> Result<RecordMetadata, LogError> {
        let t = self.topic(topic)?;
        let partition = choose_partition(topic, &t, &record)?;
        let now = now_ms();
        let timestamp_ms = record.timestamp_ms.unwrap_or(now);
        let offset = partition_slot(topic, &t, partition)?
            .write()
            .unwrap()
            .produce(vec![record], acks, t.config.min_insync_replicas, now);
        self.inner.appends.raise();
        let offset = offset?;
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
        acks: Acks,
    ) -> Result<u64, LogError> {
        let refs: Vec<ProducerRef> = records.iter().map(ProducerRef::from).collect();
        self.produce_refs(topic, partition, &refs, acks)
    }

    /// `produce_batch` of records borrowed from the caller's buffers: the log copies keys
    /// and values into its batch, with no `Bytes` per record.
    pub fn produce_refs(
        &self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        acks: Acks,
    ) -> Result<u64, LogError> {
        let t = self.topic(topic)?;
        let p = partition_slot(topic, &t, partition)?;
        let mut st = p.write().unwrap();
        if records.is_empty() {
            return Ok(st.offsets().2);
        }
        let first = st.produce_refs(records, acks, t.config.min_insync_replicas, now_ms());
        drop(st);
        // Raised even when the append failed part-way: some records may have landed.
        self.inner.appends.raise();
        first
    }

    /// Appends records to a topic, each to the partition it names or the partitioner
    /// chooses, as one batch per partition (in the records' order within each partition);
    /// returns each record's place, in the records' order.
    pub fn produce_many(
        &self,
        topic: &str,
        records: &[ProducerRecord],
        acks: Acks,
    ) -> Result<Vec<RecordMetadata>, LogError> {
        let t = self.topic(topic)?;
        let now = now_ms();
        let mut by_partition: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        let mut placed = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let p = choose_partition(topic, &t, r)?;
            by_partition.entry(p).or_default().push(i);
            placed.push(RecordMetadata {
                partition: p,
                offset: 0,
                timestamp_ms: r.timestamp_ms.unwrap_or(now),
            });
        }
        for (p, indexes) in by_partition {
            let refs: Vec<ProducerRef> = indexes
                .iter()
                .map(|&i| ProducerRef::from(&records[i]))
                .collect();
            let first = self.produce_refs(topic, p, &refs, acks)?;
            for (k, &i) in indexes.iter().enumerate() {
                placed[i].offset = first + k as u64;
            }
        }
        Ok(placed)
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Cluster {
        Cluster { inner }
    }

    /// Serves other processes on the data directory's socket (`local`): they create
    /// topics, append and describe through this cluster while it is open. In memory:
    /// nothing to serve. Serving stops when the cluster closes.
    pub fn serve_local(&self) -> Result<(), LogError> {
        let Some(dir) = self.dir() else {
            return Ok(());
        };
        let mut local = self.inner.local.lock().unwrap();
        if local.is_none() {
            *local = Some(LocalServer::start(dir, Arc::downgrade(&self.inner))?);
        }
        Ok(())
    }

    /// Stops serving other processes and removes the socket (a process about to exit
    /// while clones of its cluster are still held).
    pub fn stop_serving(&self) {
        self.inner.local.lock().unwrap().take();
    }

    /// How many append batches the cluster has taken so far; pass it to
    /// `wait_for_appends` to sleep until the next one.
    pub fn append_count(&self) -> u64 {
        self.inner.appends.count()
    }

    /// Blocks until an append batch after the one counted `seen` (to any topic), a
    /// `wake_waiters`, or `timeout`; returns the new count. Callers then look at the
    /// high watermarks they care about.
    pub fn wait_for_appends(&self, seen: u64, timeout: Duration) -> u64 {
        self.inner.appends.wait(seen, timeout)
    }

    /// Wakes every `wait_for_appends` now (a reader asked to stop).
    pub fn wake_waiters(&self) {
        self.inner.appends.raise();
    }

    /// The partition the default partitioner would choose for `key`.
    pub fn partition_for(&self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError> {
        let t = self.topic(topic)?;
        Ok(match key {
            Some(k) => partition_for_key(k, t.config.partitions),
            None => t.round_robin.next(t.config.partitions),
        })
    }

    /// Up to `max_records` committed records of one partition from `offset` on, never past
    /// the high watermark (keys and values are slices of the read buffer: no payload copy).
    /// An offset past the log end reads nothing; one below the log start is
    /// `OffsetOutOfRange`. With compaction, offsets may have gaps.
    pub fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max_records: usize,
    ) -> Result<Vec<Record>, LogError> {
        let t = self.topic(topic)?;
        let slot = partition_slot(topic, &t, partition)?;
        followers_fetch(slot);
        let st = slot.read().unwrap();
        if offset > st.offsets().2 {
            return Ok(Vec::new());
        }
        st.fetch(offset, max_records)
            .or_else(|e| self.read_elsewhere(&st, e, |b| st.fetch_from(b, offset, max_records)))
    }

    /// The fast read path: committed records from `offset` on as whole batches whose
    /// records (`RecordBatch::iter`) borrow keys and values from the batch buffer, with no
    /// allocation or reference count per record. Batches are whole, so about
    /// `max_records` come back (at least one batch when any record is in range); records
    /// below `offset` and at or above the high watermark are not iterated. Same errors as
    /// `fetch`.
    pub fn fetch_batches(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max_records: usize,
    ) -> Result<Vec<RecordBatch>, LogError> {
        let t = self.topic(topic)?;
        let slot = partition_slot(topic, &t, partition)?;
        followers_fetch(slot);
        let st = slot.read().unwrap();
        if offset > st.offsets().2 {
            return Ok(Vec::new());
        }
        st.fetch_batches(offset, max_records).or_else(|e| {
            self.read_elsewhere(&st, e, |b| st.fetch_batches_from(b, offset, max_records))
        })
    }

    /// Log start, high watermark and log end of one partition (a consumer's question:
    /// the followers fetch first, see `followers_fetch`).
    pub fn offsets(&self, topic: &str, partition: u32) -> Result<(u64, u64, u64), LogError> {
        let t = self.topic(topic)?;
        let slot = partition_slot(topic, &t, partition)?;
        followers_fetch(slot);
        let st = slot.read().unwrap();
        Ok(st.offsets())
    }

    /// The first committed offset of a partition whose record timestamp is at or after
    /// `timestamp_ms` (Kafka's `offsetsForTimes`); None if every record is older.
    pub fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<u64>, LogError> {
        let t = self.topic(topic)?;
        let st = partition_slot(topic, &t, partition)?.read().unwrap();
        st.offset_for_timestamp(timestamp_ms)
    }

    pub fn describe_topic(&self, name: &str) -> Result<TopicInfo, LogError> {
        let t = self.topic(name)?;
        let partitions = t
            .partitions
            .iter()
            .map(|p| {
                let st = p.read().unwrap();
                let (start, hw, end) = st.offsets();
                PartitionInfo {
                    partition: st.partition,
                    leader: st.leader,
                    replicas: st.replicas.clone(),
                    isr: st.isr.clone(),
                    log_start_offset: start,
                    log_end_offset: end,
                    high_watermark: hw,
                    size_bytes: st.size_bytes(),
                }
            })
            .collect();
        Ok(TopicInfo {
            name: name.to_string(),
            config: t.config.clone(),
            partitions,
        })
    }

    /// Every broker with whether it runs and how many leaders and replicas it holds.
    pub fn brokers(&self) -> Vec<BrokerInfo> {
        let alive = self.alive();
        let mut out: Vec<BrokerInfo> = (1..=self.inner.brokers)
            .map(|id| BrokerInfo {
                id,
                alive: alive[id as usize - 1],
                leader_count: 0,
                replica_count: 0,
            })
            .collect();
        for t in self.all_topics() {
            for p in &t.partitions {
                let st = p.read().unwrap();
                if let Some(l) = st.leader {
                    out[l as usize - 1].leader_count += 1;
                }
                for &r in &st.replicas {
                    out[r as usize - 1].replica_count += 1;
                }
            }
        }
        out
    }

    fn all_topics(&self) -> Vec<Arc<Topic>> {
        self.inner
            .topics
            .read()
            .unwrap()
            .values()
            .cloned()
            .collect()
    }

    fn check_broker(&self, id: u32) -> Result<(), LogError> {
        if id == 0 || id > self.inner.brokers {
            return Err(LogError::UnknownBroker {
                broker: id,
                brokers: self.inner.brokers,
            });
        }
        Ok(())
    }

    /// Stops broker `id`. Returns once every partition it led has a new leader (an in-sync
    /// follower, if one runs) and its replicas have been re-created and caught up on healthy
    /// brokers that did not hold the partition, where there is one.
    pub fn stop_broker(&self, id: u32) -> Result<(), LogError> {
        self.check_broker(id)?;
        let _admin = self.inner.admin.lock().unwrap();
        self.inner.alive.write().unwrap()[id as usize - 1] = false;
        self.heal_all(now_ms())?;
        self.save_meta()
    }

    /// Starts broker `id` again. Its replicas catch up from their leaders and rejoin the
    /// ISR; partitions that were offline get a leader if this broker was in their ISR.
    pub fn start_broker(&self, id: u32) -> Result<(), LogError> {
        self.check_broker(id)?;
        let _admin = self.inner.admin.lock().unwrap();
        self.inner.alive.write().unwrap()[id as usize - 1] = true;
        self.heal_all(now_ms())?;
        self.save_meta()
    }

    /// Runs retention (delete policy) or compaction (compact policy) on every replica of
    /// every partition, as of `now_ms`. Only segments below the high watermark are touched.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<CleanReport, LogError> {
        let mut report = CleanReport::default();
        for t in self.all_topics() {
            for p in &t.partitions {
                let mut st = p.write().unwrap();
                let hw = st.offsets().1;
                for log in st.logs.values_mut() {
                    report += retention::clean(log, &t.config, hw, now_ms)?;
                }
            }
        }
        Ok(report)
    }

    /// Starts a thread that runs `enforce_retention` and, with `FsyncPolicy::EveryMs`,
    /// `flush`, every `every`; it ends by itself once every clone of the cluster is
    /// dropped. Errors of a pass are kept for `maintenance_error` and the next pass runs
    /// anyway. Without it, retention runs only when `enforce_retention` is called.
    pub fn spawn_maintenance(
        &self,
        every: std::time::Duration,
    ) -> Result<std::thread::JoinHandle<()>, LogError> {
        let weak = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("kql-log-maintenance".into())
            .spawn(move || loop {
                std::thread::sleep(every);
                let Some(inner) = weak.upgrade() else { return };
                let c = Cluster { inner };
                let mut r = c.enforce_retention(now_ms()).map(|_| ());
                if matches!(c.settings().fsync, crate::settings::FsyncPolicy::EveryMs(_)) {
                    r = r.and_then(|_| c.flush());
                }
                if let Err(e) = r {
                    *c.inner.maintenance_error.lock().unwrap() = Some(e);
                }
            })
            .map_err(|e| LogError::Io(format!("cannot start the maintenance thread: {e}")))
    }

    /// The error of the latest failed maintenance pass, if any (and clears it).
    pub fn maintenance_error(&self) -> Option<LogError> {
        self.inner.maintenance_error.lock().unwrap().take()
    }

    /// Writes pending index entries and fsyncs every log (unless the policy is `Never`).
    pub fn flush(&self) -> Result<(), LogError> {
        let now = now_ms();
        for t in self.all_topics() {
            for p in &t.partitions {
                for log in p.write().unwrap().logs.values_mut() {
                    log.flush(now)?;
                }
            }
        }
        Ok(())
    }

    fn save_meta(&self) -> Result<(), LogError> {
        let Some(dir) = &self.inner.dir else {
            return Ok(());
        };
        let mut meta = ClusterMeta {
            brokers: self.inner.brokers,
            topics: BTreeMap::new(),
        };
        for (name, t) in self.inner.topics.read().unwrap().iter() {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let st = p.read().unwrap();
                    PartitionMeta {
                        replicas: st.replicas.clone(),
                        leader: st.leader,
                        isr: st.isr.clone(),
                        leader_epoch: st.leader_epoch,
                        high_watermark: st.high_watermark,
                    }
                })
                .collect();
            meta.topics.insert(
                name.clone(),
                TopicMeta {
                    config: t.config.clone(),
                    partitions,
                },
            );
        }
        metadata::save(dir, &meta)
    }

    pub(crate) fn coordinator(&self) -> &GroupCoordinator {
        &self.inner.groups
    }
}

pub(crate) fn validate_topic_name(name: &str) -> Result<(), LogError> {
    let ok = !name.is_empty()
        && name.len() <= TOPIC_NAME_BYTES_MAX
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(LogError::InvalidConfig(format!(
            "invalid topic name '{name}': use 1 to {TOPIC_NAME_BYTES_MAX} characters from \
             [a-zA-Z0-9._-], as Kafka does"
        )))
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

/// Followers copy records written with acks=1 or 0 when a consumer next reads the
/// partition (Kafka's followers fetch continuously; here they fetch when someone looks),
/// so a leader stopped before that read loses them. A read lock decides; only a lagging
/// partition takes the write lock.
fn followers_fetch(slot: &RwLock<PartitionState>) {
    if slot.read().unwrap().lagging() {
        slot.write().unwrap().replicate(now_ms());
    }
}

fn partition_slot<'a>(
    name: &str,
    t: &'a Topic,
    p: u32,
) -> Result<&'a RwLock<PartitionState>, LogError> {
    t.partitions
        .get(p as usize)
        .ok_or_else(|| LogError::UnknownPartition {
            topic: name.to_string(),
            partition: p,
            partitions: t.config.partitions,
        })
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
