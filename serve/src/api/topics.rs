//! CreateTopics and DeleteTopics. A partition count or replication factor of -1 means the
//! broker's default (1); explicit replica assignments are refused.

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
};
use kafka_protocol::ResponseError;
use kql_runtime::TopicConfig;

use super::{configs, text};
use crate::errors;
use crate::state::Ctx;

pub fn create(ctx: &Ctx, r: CreateTopicsRequest) -> CreateTopicsResponse {
    let mut resp = CreateTopicsResponse::default();
    for t in r.topics {
        let mut out = CreatableTopicResult::default();
        out.name = t.name.clone();
        let mut config = TopicConfig::default();
        if t.num_partitions > 0 {
            config.partitions = t.num_partitions as u32;
        }
        if t.replication_factor > 0 {
            config.replicas = t.replication_factor as u32;
        }
        let mut result: Result<(), (i16, String)> = Ok(());
        if t.num_partitions == 0 || t.num_partitions < -1 {
            result = Err((
                ResponseError::InvalidPartitions.code(),
                format!("{} partitions", t.num_partitions),
            ));
        }
        if t.replication_factor == 0 || t.replication_factor < -1 {
            result = Err((
                ResponseError::InvalidReplicationFactor.code(),
                format!("replication factor {}", t.replication_factor),
            ));
        }
        if !t.assignments.is_empty() {
            result = Err((
                ResponseError::InvalidReplicaAssignment.code(),
                "kql places replicas itself; give a partition count and a replication factor"
                    .into(),
            ));
        }
        for c in &t.configs {
            if let (Ok(()), Some(v)) = (&result, &c.value) {
                if let Err(m) = configs::apply(&mut config, c.name.as_str(), v.as_str()) {
                    result = Err((ResponseError::InvalidConfig.code(), m));
                }
            }
        }
        let result = result.and_then(|()| {
            if r.validate_only {
                return Ok(());
            }
            ctx.shared
                .cluster
                .create_topic(t.name.0.as_str(), config.clone())
                .map_err(|e| (errors::code(&e), e.to_string()))
        });
        match result {
            Ok(()) => {
                out.num_partitions = config.partitions as i32;
                out.replication_factor = config.replicas as i16;
            }
            Err((code, message)) => {
                out.error_code = code;
                out.error_message = Some(text(message));
                out.num_partitions = -1;
                out.replication_factor = -1;
            }
        }
        resp.topics.push(out);
    }
    resp
}

pub fn delete(ctx: &Ctx, r: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let mut resp = DeleteTopicsResponse::default();
    for name in r.topic_names {
        let mut out = DeletableTopicResult::default();
        out.name = Some(name.clone());
        if let Err(e) = ctx.shared.cluster.delete_topic(name.0.as_str()) {
            out.error_code = errors::code(&e);
            out.error_message = Some(text(e.to_string()));
        }
        resp.responses.push(out);
    }
    resp
}
