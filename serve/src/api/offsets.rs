//! OffsetCommit and OffsetFetch: committed offsets are the embedded log's, written to
//! `__consumer_offsets`, so they survive a restart and kql's DESCRIBE CONSUMER GROUP shows
//! them with the lag.

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    GroupId, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    TopicName,
};
use kafka_protocol::ResponseError;

use super::text;
use crate::errors;
use crate::state::Ctx;

pub fn commit(ctx: &Ctx, r: OffsetCommitRequest) -> OffsetCommitResponse {
    let group = r.group_id.0.as_str();
    let allowed = ctx.shared.groups.check_commit(
        group,
        r.generation_id_or_member_epoch,
        r.member_id.as_str(),
    );
    let mut resp = OffsetCommitResponse::default();
    for t in r.topics {
        let mut tr = OffsetCommitResponseTopic::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = OffsetCommitResponsePartition::default();
            pr.partition_index = p.partition_index;
            pr.error_code = match allowed {
                Err(code) => code,
                Ok(()) if p.committed_offset < 0 || p.partition_index < 0 => {
                    ResponseError::InvalidRequest.code()
                }
                Ok(()) => ctx
                    .shared
                    .cluster
                    .commit_offset(
                        group,
                        t.name.0.as_str(),
                        p.partition_index as u32,
                        p.committed_offset as u64,
                    )
                    .map_or_else(|e| errors::code(&e), |()| 0),
            };
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}

/// (topic, partitions) a fetch asks for; None: every partition the group committed.
type Wanted = Option<Vec<(TopicName, Vec<i32>)>>;

/// The group's committed offsets: (topic, [(partition, offset or -1)]).
fn committed(ctx: &Ctx, group: &str, wanted: Wanted) -> Vec<(TopicName, Vec<(i32, i64)>)> {
    let c = &ctx.shared.cluster;
    let wanted = wanted.unwrap_or_else(|| {
        let mut by_topic: Vec<(TopicName, Vec<i32>)> = Vec::new();
        if let Ok(info) = c.describe_group(group) {
            for p in info.partitions.iter().filter(|p| p.committed.is_some()) {
                match by_topic.iter_mut().find(|(t, _)| t.0.as_str() == p.topic) {
                    Some((_, ps)) => ps.push(p.partition as i32),
                    None => {
                        by_topic.push((TopicName(text(p.topic.clone())), vec![p.partition as i32]))
                    }
                }
            }
        }
        by_topic
    });
    wanted
        .into_iter()
        .map(|(t, ps)| {
            let offsets = ps
                .into_iter()
                .map(|p| {
                    (
                        p,
                        c.committed_offset(group, t.0.as_str(), p.max(0) as u32)
                            .map_or(-1, |o| o as i64),
                    )
                })
                .collect();
            (t, offsets)
        })
        .collect()
}

pub fn fetch(ctx: &Ctx, r: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    if version >= 8 {
        for g in r.groups {
            let wanted = g.topics.map(|ts| {
                ts.into_iter()
                    .map(|t| (t.name, t.partition_indexes))
                    .collect()
            });
            let mut out = OffsetFetchResponseGroup::default();
            out.group_id = g.group_id.clone();
            for (name, offsets) in committed(ctx, g.group_id.0.as_str(), wanted) {
                let mut t = OffsetFetchResponseTopics::default();
                t.name = name;
                for (p, o) in offsets {
                    let mut pr = OffsetFetchResponsePartitions::default();
                    pr.partition_index = p;
                    pr.committed_offset = o;
                    pr.committed_leader_epoch = -1;
                    pr.metadata = Some(text(""));
                    t.partitions.push(pr);
                }
                out.topics.push(t);
            }
            resp.groups.push(out);
        }
        return resp;
    }
    let wanted = r.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (t.name, t.partition_indexes))
            .collect()
    });
    let GroupId(group) = r.group_id;
    for (name, offsets) in committed(ctx, group.as_str(), wanted) {
        let mut t = OffsetFetchResponseTopic::default();
        t.name = name;
        for (p, o) in offsets {
            let mut pr = OffsetFetchResponsePartition::default();
            pr.partition_index = p;
            pr.committed_offset = o;
            pr.committed_leader_epoch = -1;
            pr.metadata = Some(text(""));
            t.partitions.push(pr);
        }
        resp.topics.push(t);
    }
    resp
}
