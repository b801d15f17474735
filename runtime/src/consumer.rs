//! A consumer in a group: joins, polls batches across its assigned partitions, commits
//! its positions, leaves (also on drop). Positions start at the committed offset or, when
//! there is none or it fell below the log start, where `auto.offset.reset` says.

use std::collections::BTreeMap;

use crate::cluster::Cluster;
use crate::error::LogError;
use crate::group::{GroupInfo, TopicPartition};
use crate::limits::POLL_RECORDS_MAX;
use crate::record::Record;

/// Where a consumer starts in a partition without a usable committed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// The log start (kql's default: a script wants all of its data).
    #[default]
    Earliest,
    /// The high watermark: only records produced from now on.
    Latest,
    /// Fail with `NoOffsetForPartition` / `OffsetOutOfRange`.
    None,
}

impl std::str::FromStr for OffsetReset {
    type Err = LogError;
    fn from_str(s: &str) -> Result<Self, LogError> {
        match s.to_ascii_lowercase().as_str() {
            "earliest" => Ok(OffsetReset::Earliest),
            "latest" => Ok(OffsetReset::Latest),
            "none" => Ok(OffsetReset::None),
            _ => Err(LogError::InvalidConfig(format!(
                "auto.offset.reset must be 'earliest', 'latest' or 'none' (got '{s}')"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    pub auto_offset_reset: OffsetReset,
    /// Most records one `poll` returns.
    pub max_poll_records: usize,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            auto_offset_reset: OffsetReset::Earliest,
            max_poll_records: 500,
        }
    }
}

/// A record with the partition it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: String,
    pub partition: u32,
    pub record: Record,
}

pub struct Consumer {
    cluster: Cluster,
    group: String,
    member_id: String,
    generation: u64,
    assignment: Vec<TopicPartition>,
    positions: BTreeMap<TopicPartition, u64>,
    config: ConsumerConfig,
    /// Where the next poll starts among the assigned partitions (fairness).
    next_partition: usize,
    left: bool,
}

impl Consumer {
    /// Joins `group` subscribed to `topics` (the group rebalances).
    pub fn join(
        cluster: &Cluster,
        group: &str,
        topics: &[&str],
        config: ConsumerConfig,
    ) -> Result<Consumer, LogError> {
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        let member_id = cluster.coordinator().join(cluster, group, &topics)?;
        let mut c = Consumer {
            cluster: cluster.clone(),
            group: group.to_string(),
            member_id,
            generation: 0,
            assignment: Vec::new(),
            positions: BTreeMap::new(),
            config,
            next_partition: 0,
            left: false,
        };
        c.sync()?;
        Ok(c)
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The partitions this member owns now (after following any rebalance).
    pub fn assignment(&mut self) -> Result<Vec<TopicPartition>, LogError> {
        self.sync()?;
        Ok(self.assignment.clone())
    }

    /// The next offset this consumer reads from a partition it owns.
    pub fn position(&self, topic: &str, partition: u32) -> Option<u64> {
        self.positions.get(&(topic.to_string(), partition)).copied()
    }

    /// Moves the position in an owned partition.
    pub fn seek(&mut self, topic: &str, partition: u32, offset: u64) {
        let tp = (topic.to_string(), partition);
        if self.assignment.contains(&tp) {
            self.positions.insert(tp, offset);
        }
    }

    /// Follows a rebalance: new generation, new assignment; partitions kept keep their
    /// positions, new ones start from committed offsets.
    fn sync(&mut self) -> Result<(), LogError> {
        let (generation, assignment) = self
            .cluster
            .coordinator()
            .assignment(&self.group, &self.member_id)?;
        if generation == self.generation {
            return Ok(());
        }
        let mut positions = BTreeMap::new();
        for tp in &assignment {
            // A partition this member keeps across the rebalance keeps its position (as
            // Kafka's cooperative assignors do); a new one starts at the committed offset.
            let pos = match self.positions.get(tp) {
                Some(&p) => p,
                None => {
                    let committed = self
                        .cluster
                        .coordinator()
                        .committed(&self.group, &tp.0, tp.1);
                    self.start_position(&tp.0, tp.1, committed)?
                }
            };
            positions.insert(tp.clone(), pos);
        }
        self.generation = generation;
        self.assignment = assignment;
        self.positions = positions;
        self.next_partition = 0;
        Ok(())
    }

    fn start_position(
        &self,
        topic: &str,
        partition: u32,
        committed: Option<u64>,
    ) -> Result<u64, LogError> {
        let (start, hw, end) = self.cluster.offsets(topic, partition)?;
        match committed {
            Some(o) if o >= start && o <= end => Ok(o),
            Some(o) => match self.config.auto_offset_reset {
                OffsetReset::Earliest => Ok(start),
                OffsetReset::Latest => Ok(hw),
                OffsetReset::None => Err(LogError::OffsetOutOfRange {
                    topic: topic.to_string(),
                    partition,
                    offset: o,
                    log_start: start,
                    log_end: end,
                }),
            },
            None => match self.config.auto_offset_reset {
                OffsetReset::Earliest => Ok(start),
                OffsetReset::Latest => Ok(hw),
                OffsetReset::None => Err(LogError::NoOffsetForPartition {
                    group: self.group.clone(),
                    topic: topic.to_string(),
                    partition,
                }),
            },
        }
    }

    /// Up to `max_poll_records` committed records across the owned partitions, and moves
    /// the positions past them. Follows a rebalance first.
    pub fn poll(&mut self) -> Result<Vec<ConsumerRecord>, LogError> {
        self.sync()?;
        let max = self.config.max_poll_records.clamp(1, POLL_RECORDS_MAX);
        let mut out = Vec::new();
        let n = self.assignment.len();
        for i in 0..n {
            if out.len() >= max {
                break;
            }
            let tp = self.assignment[(self.next_partition + i) % n].clone();
            let mut pos = self.positions[&tp];
            // The high watermark before the fetch: the fetch sees at least this far.
            let hw_before = match self.cluster.offsets(&tp.0, tp.1) {
                Ok((_, hw, _)) => hw,
                Err(LogError::LeaderNotAvailable { .. }) => continue,
                Err(e) => return Err(e),
            };
            let records = match self.cluster.fetch(&tp.0, tp.1, pos, max - out.len()) {
                // An offline partition (no live in-sync replica) has nothing to give now.
                Err(LogError::LeaderNotAvailable { .. }) => continue,
                Err(LogError::OffsetOutOfRange { .. }) => {
                    // The log start moved past our position (retention): reset.
                    pos = self.start_position(&tp.0, tp.1, Some(pos))?;
                    self.cluster.fetch(&tp.0, tp.1, pos, max - out.len())?
                }
                r => r?,
            };
            match records.last() {
                Some(last) => pos = last.offset + 1,
                None => {
                    // Nothing between the position and the high watermark as it was before
                    // the fetch (compaction may have removed it): skip there. Not to the
                    // high watermark now, which may have moved past records since.
                    pos = pos.max(hw_before);
                }
            }
            self.positions.insert(tp.clone(), pos);
            out.extend(records.into_iter().map(|record| ConsumerRecord {
                topic: tp.0.clone(),
                partition: tp.1,
                record,
            }));
        }
        if n > 0 {
            self.next_partition = (self.next_partition + 1) % n;
        }
        Ok(out)
    }

    /// Commits the positions of every owned partition. Fails with `CommitFailed` when the
    /// group rebalanced since the last poll (poll again: records may be seen twice, as
    /// with Kafka's at-least-once delivery).
    pub fn commit(&mut self) -> Result<(), LogError> {
        let offsets: Vec<(String, u32, u64)> = self
            .positions
            .iter()
            .map(|((t, p), o)| (t.clone(), *p, *o))
            .collect();
        self.commit_offsets(&offsets)
    }

    /// Commits explicit offsets (the next offset to read, as Kafka does).
    pub fn commit_offsets(&mut self, offsets: &[(String, u32, u64)]) -> Result<(), LogError> {
        self.cluster.coordinator().commit(
            &self.cluster,
            &self.group,
            Some((&self.member_id, self.generation)),
            offsets,
        )
    }

    /// Leaves the group (the others rebalance). Dropping a consumer leaves too.
    pub fn leave(mut self) -> Result<(), LogError> {
        self.left = true;
        self.cluster
            .coordinator()
            .leave(&self.cluster, &self.group, &self.member_id)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if !self.left {
            let _ = self
                .cluster
                .coordinator()
                .leave(&self.cluster, &self.group, &self.member_id);
        }
    }
}

impl Cluster {
    /// Consumer groups that have members or committed offsets.
    pub fn groups(&self) -> Vec<String> {
        self.coordinator().group_names()
    }

    /// Members, generation and, per partition, committed offset, log end, lag and owner.
    pub fn describe_group(&self, group: &str) -> Result<GroupInfo, LogError> {
        self.coordinator().describe(self, group)
    }

    /// Commits an offset for a group outside any member (an admin reset, or a query that
    /// tracks its own positions). Written to `__consumer_offsets` with acks=all.
    pub fn commit_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), LogError> {
        self.coordinator()
            .commit(self, group, None, &[(topic.to_string(), partition, offset)])
    }

    /// The committed offset of a group in a partition.
    pub fn committed_offset(&self, group: &str, topic: &str, partition: u32) -> Option<u64> {
        self.coordinator().committed(group, topic, partition)
    }
}
