//! FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, ListGroups and
//! DescribeGroups over the coordinator. Every broker coordinates every group (their state
//! is shared); FindCoordinator names the first live broker. Groups that only kql's own
//! queries use are listed too, as Empty groups of type "consumer".

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator as CoordinatorEntry;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::text;
use crate::groups::JoinRequest;
use crate::state::Ctx;

const KEY_TYPE_GROUP: i8 = 0;

pub fn find_coordinator(
    ctx: &Ctx,
    r: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let cluster = &ctx.shared.cluster;
    let node = cluster
        .brokers()
        .iter()
        .find(|b| b.alive)
        .map_or(-1, |b| b.id as i32);
    let port = ctx.shared.broker_addr(node).map_or(-1, |a| a.port() as i32);
    let error = if r.key_type != KEY_TYPE_GROUP {
        ResponseError::InvalidRequest.code()
    } else if node < 0 {
        ResponseError::CoordinatorNotAvailable.code()
    } else {
        0
    };
    let message = (r.key_type != KEY_TYPE_GROUP).then(|| {
        text("kql serve coordinates consumer groups only: transactions are not supported")
    });
    let mut resp = FindCoordinatorResponse::default();
    if version >= 4 {
        for key in r.coordinator_keys {
            let mut c = CoordinatorEntry::default();
            c.key = key;
            c.node_id = BrokerId(node);
            c.host = text(ctx.local.ip().to_string());
            c.port = port;
            c.error_code = error;
            c.error_message = message.clone();
            resp.coordinators.push(c);
        }
    } else {
        resp.error_code = error;
        resp.error_message = message;
        resp.node_id = BrokerId(node);
        resp.host = text(ctx.local.ip().to_string());
        resp.port = port;
    }
    resp
}

pub async fn join(ctx: &Ctx, r: JoinGroupRequest, client_id: &str) -> JoinGroupResponse {
    let request = JoinRequest {
        group: r.group_id.0.to_string(),
        member_id: r.member_id.to_string(),
        client_id: client_id.to_string(),
        client_host: format!("/{}", ctx.peer.ip()),
        session_timeout_ms: r.session_timeout_ms,
        rebalance_timeout_ms: if r.rebalance_timeout_ms > 0 {
            r.rebalance_timeout_ms
        } else {
            r.session_timeout_ms
        },
        protocol_type: r.protocol_type.to_string(),
        protocols: r
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
    };
    let mut resp = JoinGroupResponse::default();
    match ctx.shared.groups.join(request).await {
        Ok(j) => {
            resp.generation_id = j.generation;
            resp.protocol_type = Some(text(j.protocol_type));
            resp.protocol_name = Some(text(j.protocol));
            resp.leader = text(j.leader);
            resp.member_id = text(j.member_id);
            resp.members = j
                .members
                .into_iter()
                .map(|(id, metadata)| {
                    let mut m = JoinGroupResponseMember::default();
                    m.member_id = text(id);
                    m.metadata = metadata;
                    m
                })
                .collect();
        }
        Err(code) => {
            resp.error_code = code;
            resp.generation_id = -1;
            resp.member_id = r.member_id;
        }
    }
    resp
}

pub async fn sync(ctx: &Ctx, r: SyncGroupRequest) -> SyncGroupResponse {
    let assignments = r
        .assignments
        .into_iter()
        .map(|a| (a.member_id.to_string(), a.assignment))
        .collect();
    let mut resp = SyncGroupResponse::default();
    match ctx
        .shared
        .groups
        .sync(
            r.group_id.0.as_str(),
            r.generation_id,
            r.member_id.as_str(),
            assignments,
        )
        .await
    {
        Ok(a) => {
            resp.assignment = a;
            resp.protocol_type = r.protocol_type;
            resp.protocol_name = r.protocol_name;
        }
        Err(code) => resp.error_code = code,
    }
    resp
}

pub fn heartbeat(ctx: &Ctx, r: HeartbeatRequest) -> HeartbeatResponse {
    let mut resp = HeartbeatResponse::default();
    if let Err(code) =
        ctx.shared
            .groups
            .heartbeat(r.group_id.0.as_str(), r.generation_id, r.member_id.as_str())
    {
        resp.error_code = code;
    }
    resp
}

pub fn leave(ctx: &Ctx, r: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let ids: Vec<String> = if version >= 3 {
        r.members.iter().map(|m| m.member_id.to_string()).collect()
    } else {
        vec![r.member_id.to_string()]
    };
    let results = ctx.shared.groups.leave(r.group_id.0.as_str(), &ids);
    let mut resp = LeaveGroupResponse::default();
    if version >= 3 {
        for (id, result) in ids.iter().zip(&results) {
            let mut m = MemberResponse::default();
            m.member_id = text(id.clone());
            m.error_code = result.err().unwrap_or(0);
            resp.members.push(m);
        }
    } else {
        resp.error_code = results.first().and_then(|r| r.err()).unwrap_or(0);
    }
    resp
}

/// Groups of wire clients, then groups only kql's queries use.
fn all_groups(ctx: &Ctx) -> Vec<String> {
    let mut names = ctx.shared.groups.names();
    for g in ctx.shared.cluster.groups() {
        if !names.contains(&g) {
            names.push(g);
        }
    }
    names.sort();
    names
}

pub fn list(ctx: &Ctx, r: ListGroupsRequest) -> ListGroupsResponse {
    let mut resp = ListGroupsResponse::default();
    for name in all_groups(ctx) {
        let (state, protocol_type) = match ctx.shared.groups.view(&name) {
            Some(v) => (v.state.name(), v.protocol_type),
            None => ("Empty", "consumer".to_string()),
        };
        if !r.states_filter.is_empty()
            && !r
                .states_filter
                .iter()
                .any(|s| s.as_str().eq_ignore_ascii_case(state))
        {
            continue;
        }
        let mut g = ListedGroup::default();
        g.group_id = GroupId(text(name));
        g.protocol_type = text(protocol_type);
        g.group_state = text(state);
        g.group_type = text("classic");
        resp.groups.push(g);
    }
    resp
}

pub fn describe(ctx: &Ctx, r: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let known = all_groups(ctx);
    let mut resp = DescribeGroupsResponse::default();
    for id in r.groups {
        let mut g = DescribedGroup::default();
        g.group_id = id.clone();
        match ctx.shared.groups.view(id.0.as_str()) {
            Some(v) => {
                g.group_state = text(v.state.name());
                g.protocol_type = text(v.protocol_type);
                g.protocol_data = text(v.protocol);
                g.members = v
                    .members
                    .into_iter()
                    .map(|(member, client, host, metadata, assignment)| {
                        let mut m = DescribedGroupMember::default();
                        m.member_id = text(member);
                        m.client_id = text(client);
                        m.client_host = text(host);
                        m.member_metadata = metadata;
                        m.member_assignment = assignment;
                        m
                    })
                    .collect();
            }
            None if known.iter().any(|k| k.as_str() == id.0.as_str()) => {
                g.group_state = text("Empty");
                g.protocol_type = text("consumer");
            }
            // Kafka describes a group it does not know as Dead, without an error.
            None => g.group_state = text("Dead"),
        }
        resp.groups.push(g);
    }
    resp
}
