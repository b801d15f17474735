//! The group coordinator: members join and leave consumer groups; every join or leave
//! starts a new generation and reassigns partitions with the range assignor (per topic,
//! members in id order get contiguous ranges; extra members stay idle). Committed offsets
//! go to `__consumer_offsets` first and into the coordinator's table after.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::cluster::Cluster;
use crate::error::LogError;
use crate::offsets::{self, OffsetKey};
use crate::record::ProducerRecord;
use crate::settings::{CleanupPolicy, TopicConfig};
use crate::Acks;

/// A (topic, partition) pair.
pub type TopicPartition = (String, u32);

#[derive(Default)]
pub struct GroupCoordinator {
    groups: Mutex<BTreeMap<String, Group>>,
    next_member: AtomicU64,
}

#[derive(Default)]
struct Group {
    generation: u64,
    /// member id -> subscribed topics
    members: BTreeMap<String, Vec<String>>,
    assignment: BTreeMap<String, Vec<TopicPartition>>,
    committed: BTreeMap<TopicPartition, u64>,
}

/// What `describe_group` tells about a group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupInfo {
    pub group: String,
    pub generation: u64,
    pub members: Vec<MemberInfo>,
    pub partitions: Vec<GroupPartitionInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberInfo {
    pub member_id: String,
    pub topics: Vec<String>,
    pub assignment: Vec<TopicPartition>,
}

/// One partition a group consumes or has committed for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupPartitionInfo {
    pub topic: String,
    pub partition: u32,
    pub committed: Option<u64>,
    pub log_end_offset: u64,
    /// Log end minus committed offset (None without a commit).
    pub lag: Option<u64>,
    pub owner: Option<String>,
}

const GROUP_NAME_BYTES_MAX: usize = 255;

impl GroupCoordinator {
    /// Adds a member subscribed to `topics`; returns its id. Rebalances the group.
    pub fn join(&self, c: &Cluster, group: &str, topics: &[String]) -> Result<String, LogError> {
        if group.is_empty() || group.len() > GROUP_NAME_BYTES_MAX {
            return Err(LogError::InvalidConfig(format!(
                "a group name has 1 to {GROUP_NAME_BYTES_MAX} bytes (got {})",
                group.len()
            )));
        }
        for t in topics {
            c.topic(t)?;
        }
        let seq = self.next_member.fetch_add(1, Ordering::Relaxed);
        let id = format!("consumer-{seq:08}");
        let mut groups = self.groups.lock().unwrap();
        let g = groups.entry(group.to_string()).or_default();
        g.members.insert(id.clone(), topics.to_vec());
        rebalance(c, g);
        Ok(id)
    }

    /// Removes a member; the rest of the group rebalances.
    pub fn leave(&self, c: &Cluster, group: &str, member: &str) -> Result<(), LogError> {
        let mut groups = self.groups.lock().unwrap();
        let g = groups
            .get_mut(group)
            .ok_or_else(|| LogError::UnknownGroup(group.to_string()))?;
        if g.members.remove(member).is_none() {
            return Err(unknown_member(group, member));
        }
        rebalance(c, g);
        Ok(())
    }

    /// The group's generation and the member's partitions.
    pub fn assignment(
        &self,
        group: &str,
        member: &str,
    ) -> Result<(u64, Vec<TopicPartition>), LogError> {
        let groups = self.groups.lock().unwrap();
        let g = groups
            .get(group)
            .ok_or_else(|| LogError::UnknownGroup(group.to_string()))?;
        if !g.members.contains_key(member) {
            return Err(unknown_member(group, member));
        }
        Ok((
            g.generation,
            g.assignment.get(member).cloned().unwrap_or_default(),
        ))
    }

    pub fn generation(&self, group: &str) -> Option<u64> {
        self.groups.lock().unwrap().get(group).map(|g| g.generation)
    }

    pub fn committed(&self, group: &str, topic: &str, partition: u32) -> Option<u64> {
        let groups = self.groups.lock().unwrap();
        groups
            .get(group)?
            .committed
            .get(&(topic.to_string(), partition))
            .copied()
    }

    /// Commits offsets: written to `__consumer_offsets` (acks=all) before the table
    /// changes, so a commit that returned is there after a reopen. With `member` given, the
    /// member must be in the group and its generation the group's.
    pub fn commit(
        &self,
        c: &Cluster,
        group: &str,
        member: Option<(&str, u64)>,
        offsets: &[(String, u32, u64)],
    ) -> Result<(), LogError> {
        if let Some((m, generation)) = member {
            let groups = self.groups.lock().unwrap();
            let g = groups
                .get(group)
                .ok_or_else(|| LogError::UnknownGroup(group.to_string()))?;
            if !g.members.contains_key(m) {
                return Err(unknown_member(group, m));
            }
            if g.generation != generation {
                return Err(LogError::CommitFailed {
                    group: group.to_string(),
                    member_generation: generation,
                    group_generation: g.generation,
                });
            }
        }
        for (t, p, _) in offsets {
            let n = c
                .partition_count(t)
                .ok_or_else(|| LogError::UnknownTopic(t.clone()))?;
            if *p >= n {
                return Err(LogError::UnknownPartition {
                    topic: t.clone(),
                    partition: *p,
                    partitions: n,
                });
            }
        }
        ensure_offsets_topic(c)?;
        let records: Vec<ProducerRecord> = offsets
            .iter()
            .map(|(t, p, o)| {
                let key = OffsetKey {
                    group: group.to_string(),
                    topic: t.clone(),
                    partition: *p,
                };
                ProducerRecord::new(
                    Some(offsets::encode_key(&key)),
                    Some(offsets::encode_value(*o)),
                )
            })
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        c.produce_batch(offsets::TOPIC, 0, records, Acks::All)?;
        let mut groups = self.groups.lock().unwrap();
        let g = groups.entry(group.to_string()).or_default();
        for (t, p, o) in offsets {
            g.committed.insert((t.clone(), *p), *o);
        }
        Ok(())
    }

    /// Reads `__consumer_offsets` from the start into the table (a reopened cluster).
    pub fn rebuild(&self, c: &Cluster) -> Result<(), LogError> {
        if c.partition_count(offsets::TOPIC).is_none() {
            return Ok(());
        }
        let (start, hw, _) = c.offsets(offsets::TOPIC, 0)?;
        let mut at = start;
        let mut groups = self.groups.lock().unwrap();
        while at < hw {
            let batch = c.fetch(offsets::TOPIC, 0, at, 10_000)?;
            let Some(last) = batch.last() else { break };
            at = last.offset + 1;
            for r in batch {
                let Some(k) = r.key else { continue };
                let key = offsets::decode_key(&k)?;
                let g = groups.entry(key.group).or_default();
                match r.value {
                    Some(v) => {
                        g.committed
                            .insert((key.topic, key.partition), offsets::decode_value(&v)?);
                    }
                    None => {
                        g.committed.remove(&(key.topic, key.partition));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn group_names(&self) -> Vec<String> {
        self.groups.lock().unwrap().keys().cloned().collect()
    }

    pub fn describe(&self, c: &Cluster, group: &str) -> Result<GroupInfo, LogError> {
        let groups = self.groups.lock().unwrap();
        let g = groups
            .get(group)
            .ok_or_else(|| LogError::UnknownGroup(group.to_string()))?;
        let mut owners: BTreeMap<TopicPartition, String> = BTreeMap::new();
        for (m, tps) in &g.assignment {
            for tp in tps {
                owners.insert(tp.clone(), m.clone());
            }
        }
        let mut tps: Vec<TopicPartition> = owners.keys().cloned().collect();
        tps.extend(g.committed.keys().cloned());
        tps.sort();
        tps.dedup();
        let partitions = tps
            .into_iter()
            .map(|(topic, partition)| {
                let committed = g.committed.get(&(topic.clone(), partition)).copied();
                let log_end_offset = c.offsets(&topic, partition).map_or(0, |o| o.2);
                GroupPartitionInfo {
                    lag: committed.map(|o| log_end_offset.saturating_sub(o)),
                    owner: owners.get(&(topic.clone(), partition)).cloned(),
                    topic,
                    partition,
                    committed,
                    log_end_offset,
                }
            })
            .collect();
        Ok(GroupInfo {
            group: group.to_string(),
            generation: g.generation,
            members: g
                .members
                .iter()
                .map(|(m, topics)| MemberInfo {
                    member_id: m.clone(),
                    topics: topics.clone(),
                    assignment: g.assignment.get(m).cloned().unwrap_or_default(),
                })
                .collect(),
            partitions,
        })
    }
}

fn unknown_member(group: &str, member: &str) -> LogError {
    LogError::UnknownMember {
        group: group.to_string(),
        member: member.to_string(),
    }
}

/// A new generation with a range assignment over the current members.
fn rebalance(c: &Cluster, g: &mut Group) {
    g.generation += 1;
    g.assignment = range_assign(&g.members, |t| c.partition_count(t).unwrap_or(0));
}

/// Kafka's range assignor: for each topic, its subscribers in member-id order; with `n`
/// partitions and `m` members, each gets `n / m`, the first `n % m` one more.
pub fn range_assign(
    members: &BTreeMap<String, Vec<String>>,
    partitions_of: impl Fn(&str) -> u32,
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out: BTreeMap<String, Vec<TopicPartition>> =
        members.keys().map(|m| (m.clone(), Vec::new())).collect();
    let mut topics: Vec<&String> = members.values().flatten().collect();
    topics.sort();
    topics.dedup();
    for t in topics {
        let subs: Vec<&String> = members
            .iter()
            .filter(|(_, ts)| ts.contains(t))
            .map(|(m, _)| m)
            .collect();
        let n = partitions_of(t);
        let m = subs.len() as u32;
        let (each, extra) = (n / m, n % m);
        let mut next = 0;
        for (i, member) in subs.iter().enumerate() {
            let count = each + u32::from((i as u32) < extra);
            let v = out.get_mut(*member).expect("member listed");
            v.extend((next..next + count).map(|p| (t.clone(), p)));
            next += count;
        }
    }
    out
}

fn ensure_offsets_topic(c: &Cluster) -> Result<(), LogError> {
    if c.partition_count(offsets::TOPIC).is_some() {
        return Ok(());
    }
    let live = c.brokers().iter().filter(|b| b.alive).count() as u32;
    let cfg = TopicConfig {
        partitions: 1,
        replicas: live.clamp(1, 3),
        cleanup_policy: CleanupPolicy::Compact,
        ..TopicConfig::default()
    };
    match c.create_topic(offsets::TOPIC, cfg) {
        Ok(()) | Err(LogError::TopicExists(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_assignment_matches_kafka_and_leaves_extras_idle() {
        let mut members = BTreeMap::new();
        for m in ["a", "b", "c"] {
            members.insert(m.to_string(), vec!["t".to_string()]);
        }
        let a = range_assign(&members, |_| 7);
        let ps = |m: &str| a[m].iter().map(|(_, p)| *p).collect::<Vec<_>>();
        assert_eq!(ps("a"), vec![0, 1, 2]);
        assert_eq!(ps("b"), vec![3, 4]);
        assert_eq!(ps("c"), vec![5, 6]);
        let a = range_assign(&members, |_| 2);
        assert_eq!(
            (a["a"].len(), a["b"].len(), a["c"].len()),
            (1, 1, 0),
            "more members than partitions leaves extras idle"
        );
    }
}
