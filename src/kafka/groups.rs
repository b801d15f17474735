//! Consumer groups' committed offsets on the cluster: commit and read them for kql's
//! queries, and list and describe any group (members, their partitions, committed offsets
//! and lag), not only kql's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kql_runtime::{GroupInfo, GroupPartitionInfo, LogError, MemberInfo};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::context::Context;
use super::KafkaLog;
use crate::exec::log::{Fetch, GroupOffsets, Topics};

/// One consumer per group whose offsets are committed or read. It never joins the group
/// (Kafka takes commits from outside an empty group, as its admin tools do), unless this
/// process is a member of the group (`membership.rs`): then the member's consumer commits,
/// with the group's generation, as Kafka requires of a group with members.
#[derive(Default, Clone)]
pub struct GroupClients(Arc<Mutex<HashMap<String, GroupClient>>>);

#[derive(Clone)]
struct GroupClient {
    consumer: Arc<BaseConsumer<Context>>,
    member: bool,
}

impl GroupClients {
    pub(super) fn set_member(&self, group: &str, consumer: Arc<BaseConsumer<Context>>) {
        let client = GroupClient {
            consumer,
            member: true,
        };
        self.0.lock().unwrap().insert(group.to_string(), client);
    }

    pub(super) fn forget(&self, group: &str) {
        self.0.lock().unwrap().remove(group);
    }
}

/// A member's commit refused because the group is rebalancing or has moved on without it:
/// the partitions' next owner starts from the last commit that went through, so records
/// since then are read twice (at least once), never skipped.
fn is_stale_member(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::error::RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(C::RebalanceInProgress | C::IllegalGeneration | C::UnknownMemberId)
    )
}

impl GroupOffsets for KafkaLog {
    fn commit_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), LogError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition as i32, Offset::Offset(offset as i64))
            .map_err(|e| self.failed().error(&e, topic))?;
        let client = self.group_client(group)?;
        match self.retrying(|| client.consumer.commit(&tpl, CommitMode::Sync)) {
            Err(e) if client.member && is_stale_member(&e) => Ok(()),
            r => r.map_err(|e| self.failed().error(&e, &format!("group '{group}'"))),
        }
    }

    fn committed_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, LogError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition as i32);
        Ok(self
            .committed(group, tpl)?
            .into_iter()
            .next()
            .map(|(_, _, o)| o))
    }

    /// Every group the cluster knows (with members or committed offsets), in name order.
    fn group_names(&self) -> Vec<String> {
        let Ok(list) = self.meta.fetch_group_list(None, self.settings.timeout) else {
            return Vec::new();
        };
        let mut names: Vec<String> = list.groups().iter().map(|g| g.name().to_string()).collect();
        names.sort();
        names
    }

    fn describe_group(&self, group: &str) -> Result<GroupInfo, LogError> {
        let list = self
            .meta
            .fetch_group_list(Some(group), self.settings.timeout)
            .map_err(|e| self.failed().error(&e, &format!("group '{group}'")))?;
        let members: Vec<MemberInfo> = list
            .groups()
            .iter()
            .filter(|g| g.name() == group)
            .flat_map(|g| g.members())
            .map(|m| {
                let assignment = m.assignment().map(parse_assignment).unwrap_or_default();
                let mut topics: Vec<String> = assignment.iter().map(|(t, _)| t.clone()).collect();
                topics.dedup();
                MemberInfo {
                    member_id: m.id().to_string(),
                    topics,
                    assignment,
                }
            })
            .collect();
        let mut tpl = TopicPartitionList::new();
        for topic in self.topic_names() {
            for p in 0..self.partitions_of(&topic)? {
                tpl.add_partition(&topic, p as i32);
            }
        }
        let committed: HashMap<(String, u32), u64> = self
            .committed(group, tpl)?
            .into_iter()
            .map(|(t, p, o)| ((t, p), o))
            .collect();
        let owner = |t: &str, p: u32| {
            members
                .iter()
                .find(|m| m.assignment.iter().any(|(mt, mp)| mt == t && *mp == p))
                .map(|m| m.member_id.clone())
        };
        let mut keys: Vec<(String, u32)> = committed.keys().cloned().collect();
        keys.extend(members.iter().flat_map(|m| m.assignment.iter().cloned()));
        keys.sort();
        keys.dedup();
        if keys.is_empty() && members.is_empty() {
            return Err(LogError::UnknownGroup(group.to_string()));
        }
        let mut partitions = Vec::with_capacity(keys.len());
        for (topic, partition) in keys {
            let log_end_offset = self.offsets(&topic, partition)?.log_end;
            let committed = committed.get(&(topic.clone(), partition)).copied();
            partitions.push(GroupPartitionInfo {
                owner: owner(&topic, partition),
                lag: committed.map(|c| log_end_offset.saturating_sub(c)),
                topic,
                partition,
                committed,
                log_end_offset,
            });
        }
        Ok(GroupInfo {
            group: group.to_string(),
            // DescribeGroups does not report the generation.
            generation: 0,
            members,
            partitions,
        })
    }
}

impl KafkaLog {
    /// The committed offsets of `group` among `tpl`'s partitions.
    fn committed(
        &self,
        group: &str,
        tpl: TopicPartitionList,
    ) -> Result<Vec<(String, u32, u64)>, LogError> {
        let client = self.group_client(group)?;
        // Offsets of an open transaction are not read until it ends (librdkafka asks again
        // while they are "unstable"): a process killed while committing leaves them so
        // until the cluster aborts its transaction.
        let timeout = self.settings.timeout + super::produce::TRANSACTION_TIMEOUT;
        let found = self
            .retrying(|| client.consumer.committed_offsets(tpl.clone(), timeout))
            .map_err(|e| self.failed().error(&e, &format!("group '{group}'")))?;
        Ok(found
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) if o >= 0 => {
                    Some((e.topic().to_string(), e.partition() as u32, o as u64))
                }
                _ => None,
            })
            .collect())
    }

    fn group_client(&self, group: &str) -> Result<GroupClient, LogError> {
        let mut clients = self.groups.0.lock().unwrap();
        if let Some(c) = clients.get(group) {
            return Ok(c.clone());
        }
        let client = GroupClient {
            consumer: Arc::new(
                self.client(&[("group.id", group), ("enable.auto.commit", "false")])?,
            ),
            member: false,
        };
        clients.insert(group.to_string(), client.clone());
        Ok(client)
    }
}

/// A member's assignment in Kafka's consumer protocol: version (i16), then an array (i32
/// count) of topic (i16 length + UTF-8) with an array of partitions (i32 each), then user
/// data. A malformed one reads as no partitions.
fn parse_assignment(bytes: &[u8]) -> Vec<(String, u32)> {
    let mut r = Reader { bytes, at: 2 };
    let mut out = Vec::new();
    let Some(topics) = r.i32() else {
        return out;
    };
    for _ in 0..topics.max(0) {
        let (Some(topic), Some(count)) = (r.string(), r.i32()) else {
            return out;
        };
        for _ in 0..count.max(0) {
            let Some(p) = r.i32() else { return out };
            out.push((topic.clone(), p as u32));
        }
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.bytes.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn string(&mut self) -> Option<String> {
        let len = i16::from_be_bytes(self.take(2)?.try_into().ok()?);
        let s = self.take(len.max(0) as usize)?;
        Some(String::from_utf8_lossy(s).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_protocol_assignment_lists_its_partitions() {
        let mut b = vec![0, 1]; // version
        b.extend(2i32.to_be_bytes());
        for (topic, parts) in [("orders", &[0i32, 2][..]), ("users", &[1][..])] {
            b.extend((topic.len() as i16).to_be_bytes());
            b.extend(topic.as_bytes());
            b.extend((parts.len() as i32).to_be_bytes());
            for p in parts {
                b.extend(p.to_be_bytes());
            }
        }
        b.extend((-1i32).to_be_bytes()); // no user data
        assert_eq!(
            parse_assignment(&b),
            vec![
                ("orders".into(), 0),
                ("orders".into(), 2),
                ("users".into(), 1)
            ]
        );
        assert_eq!(parse_assignment(&b[..9]), vec![]);
    }
}
