//! One handler per API; each turns a decoded request into its response over the cluster.

mod configs;
mod fetch;
mod group_requests;
mod list_offsets;
mod metadata;
mod offsets;
mod produce;
pub mod producers;
mod topics;

use kafka_protocol::messages::{RequestHeader, RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::state::Ctx;
use crate::versions::api_versions_response;

/// The response to a request, or None when the client expects none (Produce, acks=0).
pub async fn handle(
    ctx: &Ctx,
    header: &RequestHeader,
    request: RequestKind,
) -> Option<ResponseKind> {
    let version = header.request_api_version;
    let client_id = header.client_id.as_ref().map_or("", |c| c.as_str());
    Some(match request {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api_versions_response(0)),
        RequestKind::Metadata(r) => ResponseKind::Metadata(metadata::handle(ctx, r, version)),
        RequestKind::Produce(r) => return produce::handle(ctx, r).map(ResponseKind::Produce),
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(producers::init_producer_id(ctx, r))
        }
        RequestKind::Fetch(r) => ResponseKind::Fetch(fetch::handle(ctx, r).await),
        RequestKind::ListOffsets(r) => ResponseKind::ListOffsets(list_offsets::handle(ctx, r)),
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(topics::create(ctx, r)),
        RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(topics::delete(ctx, r)),
        RequestKind::DescribeConfigs(r) => ResponseKind::DescribeConfigs(configs::describe(ctx, r)),
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(group_requests::find_coordinator(ctx, r, version))
        }
        RequestKind::JoinGroup(r) => {
            ResponseKind::JoinGroup(group_requests::join(ctx, r, client_id).await)
        }
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(group_requests::sync(ctx, r).await),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(group_requests::heartbeat(ctx, r)),
        RequestKind::LeaveGroup(r) => {
            ResponseKind::LeaveGroup(group_requests::leave(ctx, r, version))
        }
        RequestKind::ListGroups(r) => ResponseKind::ListGroups(group_requests::list(ctx, r)),
        RequestKind::DescribeGroups(r) => {
            ResponseKind::DescribeGroups(group_requests::describe(ctx, r))
        }
        RequestKind::OffsetCommit(r) => ResponseKind::OffsetCommit(offsets::commit(ctx, r)),
        RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(offsets::fetch(ctx, r, version)),
        // dispatch only lets the APIs of `versions::SUPPORTED` through.
        _ => return None,
    })
}

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Ok when this connection's broker leads `topic`-`partition`; else the Kafka error a
/// client expects (it then refreshes its metadata and goes to the leader).
fn check_leader(ctx: &Ctx, topic: &str, partition: i32) -> Result<(), i16> {
    let info = ctx
        .shared
        .cluster
        .describe_topic(topic)
        .map_err(|e| crate::errors::code(&e))?;
    let p = usize::try_from(partition)
        .ok()
        .and_then(|i| info.partitions.get(i))
        .ok_or(ResponseError::UnknownTopicOrPartition.code())?;
    match p.leader {
        Some(l) if l as i32 == ctx.broker_id => Ok(()),
        Some(_) => Err(ResponseError::NotLeaderOrFollower.code()),
        None => Err(ResponseError::LeaderNotAvailable.code()),
    }
}
