//! Metadata: the live brokers (each on its own port, advertised on the IP the client
//! reached) and every partition's real leader, replicas and in-sync replicas. A topic a
//! client names that does not exist is created with 1 partition and 1 replica when the
//! request allows it (Kafka's `auto.create.topics.enable`, on by default).

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::ResponseError;
use kql_runtime::{LogError, TopicConfig};

use super::text;
use crate::errors;
use crate::state::Ctx;

pub fn handle(ctx: &Ctx, r: MetadataRequest, version: i16) -> MetadataResponse {
    let cluster = &ctx.shared.cluster;
    let mut resp = MetadataResponse::default();
    let alive: Vec<u32> = cluster
        .brokers()
        .iter()
        .filter(|b| b.alive)
        .map(|b| b.id)
        .collect();
    for &id in &alive {
        if let Some(addr) = ctx.shared.broker_addr(id as i32) {
            let mut b = MetadataResponseBroker::default();
            b.node_id = BrokerId(id as i32);
            b.host = text(ctx.local.ip().to_string());
            b.port = addr.port() as i32;
            resp.brokers.push(b);
        }
    }
    resp.cluster_id = Some(text(ctx.shared.cluster_id.clone()));
    resp.controller_id = BrokerId(alive.first().map_or(-1, |&id| id as i32));
    // Version 0 asks for every topic with an empty list; later versions with null.
    let names: Vec<String> = match r.topics {
        Some(ts) if !(version == 0 && ts.is_empty()) => ts
            .into_iter()
            .filter_map(|t| t.name.map(|n| n.0.to_string()))
            .collect(),
        _ => cluster.all_topic_names(),
    };
    let auto_create = r.allow_auto_topic_creation || version < 4;
    for name in names {
        resp.topics.push(topic(ctx, &name, auto_create));
    }
    resp
}

fn topic(ctx: &Ctx, name: &str, auto_create: bool) -> MetadataResponseTopic {
    let cluster = &ctx.shared.cluster;
    let mut t = MetadataResponseTopic::default();
    t.name = Some(TopicName(text(name)));
    t.is_internal = name.starts_with("__");
    let mut info = cluster.describe_topic(name);
    if let (Err(LogError::UnknownTopic(_)), true) = (&info, auto_create) {
        match cluster.create_topic(name, TopicConfig::default()) {
            Ok(()) | Err(LogError::TopicExists(_)) => info = cluster.describe_topic(name),
            Err(e) => info = Err(e),
        }
    }
    let info = match info {
        Ok(i) => i,
        Err(LogError::InvalidConfig(_)) => {
            t.error_code = ResponseError::InvalidTopicException.code();
            return t;
        }
        Err(e) => {
            t.error_code = errors::code(&e);
            return t;
        }
    };
    let alive: Vec<u32> = cluster
        .brokers()
        .iter()
        .filter(|b| b.alive)
        .map(|b| b.id)
        .collect();
    for p in info.partitions {
        let mut mp = MetadataResponsePartition::default();
        mp.partition_index = p.partition as i32;
        match p.leader {
            Some(l) => mp.leader_id = BrokerId(l as i32),
            None => {
                mp.leader_id = BrokerId(-1);
                mp.error_code = ResponseError::LeaderNotAvailable.code();
            }
        }
        mp.replica_nodes = p.replicas.iter().map(|&b| BrokerId(b as i32)).collect();
        mp.isr_nodes = p.isr.iter().map(|&b| BrokerId(b as i32)).collect();
        mp.offline_replicas = p
            .replicas
            .iter()
            .filter(|b| !alive.contains(b))
            .map(|&b| BrokerId(b as i32))
            .collect();
        t.partitions.push(mp);
    }
    t
}
