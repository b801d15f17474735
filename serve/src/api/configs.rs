//! Topic configurations by their Kafka names (CreateTopics' configs, DescribeConfigs),
//! and a few broker settings a client may ask about.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::ResponseError;
use kql_runtime::{CleanupPolicy, TopicConfig};

use super::text;
use crate::errors;
use crate::limits::REQUEST_FRAME_BYTES_MAX;
use crate::state::Ctx;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// DescribeConfigs' config sources.
const SOURCE_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;

/// Sets one topic configuration from its Kafka name and text value.
pub fn apply(c: &mut TopicConfig, name: &str, value: &str) -> Result<(), String> {
    let number = |v: &str| {
        v.parse::<i64>()
            .map_err(|_| format!("{name}: '{v}' is not a number"))
    };
    match name {
        "retention.ms" => c.retention_ms = Some(number(value)?).filter(|&v| v >= 0),
        "retention.bytes" => c.retention_bytes = u64::try_from(number(value)?).ok(),
        "cleanup.policy" => {
            c.cleanup_policy = match value.replace(' ', "").as_str() {
                "delete" => CleanupPolicy::Delete,
                "compact" => CleanupPolicy::Compact,
                "compact,delete" | "delete,compact" => CleanupPolicy::CompactDelete,
                v => {
                    return Err(format!(
                        "cleanup.policy: '{v}' is not delete, compact or compact,delete"
                    ))
                }
            }
        }
        "delete.retention.ms" => c.delete_retention_ms = number(value)?,
        "min.insync.replicas" => {
            c.min_insync_replicas = u32::try_from(number(value)?)
                .map_err(|_| "min.insync.replicas must be positive".to_string())?
        }
        "segment.bytes" => {
            c.segment_bytes = Some(
                u64::try_from(number(value)?)
                    .map_err(|_| "segment.bytes must be positive".to_string())?,
            )
        }
        "segment.ms" => c.segment_ms = Some(number(value)?),
        _ => return Err(format!("'{name}' is not a topic configuration kql knows")),
    }
    Ok(())
}

/// A topic's configurations as (name, value, set for this topic).
fn topic_entries(c: &TopicConfig) -> Vec<(&'static str, String, bool)> {
    let d = TopicConfig::default();
    let policy = match c.cleanup_policy {
        CleanupPolicy::Delete => "delete",
        CleanupPolicy::Compact => "compact",
        CleanupPolicy::CompactDelete => "compact,delete",
    };
    vec![
        (
            "cleanup.policy",
            policy.to_string(),
            c.cleanup_policy != d.cleanup_policy,
        ),
        (
            "retention.ms",
            c.retention_ms.unwrap_or(-1).to_string(),
            c.retention_ms.is_some(),
        ),
        (
            "retention.bytes",
            c.retention_bytes.map_or(-1, |b| b as i64).to_string(),
            c.retention_bytes.is_some(),
        ),
        (
            "delete.retention.ms",
            c.delete_retention_ms.to_string(),
            c.delete_retention_ms != d.delete_retention_ms,
        ),
        (
            "min.insync.replicas",
            c.min_insync_replicas.to_string(),
            c.min_insync_replicas != d.min_insync_replicas,
        ),
        (
            "segment.bytes",
            c.segment_bytes.map_or(-1, |b| b as i64).to_string(),
            c.segment_bytes.is_some(),
        ),
        (
            "segment.ms",
            c.segment_ms.unwrap_or(-1).to_string(),
            c.segment_ms.is_some(),
        ),
    ]
}

fn broker_entries(ctx: &Ctx) -> Vec<(&'static str, String, bool)> {
    vec![
        ("auto.create.topics.enable", "true".into(), false),
        ("num.partitions", "1".into(), false),
        ("default.replication.factor", "1".into(), false),
        (
            "message.max.bytes",
            REQUEST_FRAME_BYTES_MAX.to_string(),
            false,
        ),
        ("broker.id", ctx.broker_id.to_string(), false),
    ]
}

pub fn describe(ctx: &Ctx, r: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let mut resp = DescribeConfigsResponse::default();
    for res in r.resources {
        let mut out = DescribeConfigsResult::default();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name.clone();
        let entries = match res.resource_type {
            RESOURCE_TOPIC => match ctx
                .shared
                .cluster
                .describe_topic(res.resource_name.as_str())
            {
                Ok(info) => Ok(topic_entries(&info.config)),
                Err(e) => Err((errors::code(&e), e.to_string())),
            },
            RESOURCE_BROKER => Ok(broker_entries(ctx)),
            t => Err((
                ResponseError::InvalidRequest.code(),
                format!("resource type {t} is not described by kql"),
            )),
        };
        match entries {
            Ok(entries) => {
                for (name, value, set) in entries {
                    let wanted = res
                        .configuration_keys
                        .as_ref()
                        .is_none_or(|ks| ks.iter().any(|k| k.as_str() == name));
                    if !wanted {
                        continue;
                    }
                    let mut c = DescribeConfigsResourceResult::default();
                    c.name = text(name);
                    c.value = Some(text(value));
                    c.read_only = res.resource_type == RESOURCE_BROKER;
                    c.config_source = if set { SOURCE_TOPIC } else { SOURCE_DEFAULT };
                    out.configs.push(c);
                }
            }
            Err((code, message)) => {
                out.error_code = code;
                out.error_message = Some(text(message));
            }
        }
        resp.results.push(out);
    }
    resp
}
