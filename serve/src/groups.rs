//! The group coordinator of Kafka's classic consumer-group protocol: members join, the
//! coordinator waits until every known member has (re)joined, picks a common assignment
//! protocol and a leader, the leader computes the assignment and hands it back through
//! SyncGroup, and heartbeats tell members when to rejoin. A member that stops
//! heartbeating past its session timeout is removed and the rest rebalance. Committed
//! offsets are the embedded log's (`__consumer_offsets`), so kql's own inspection shows
//! a wire client's group, offsets and lag.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError as E;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::limits::{
    GROUPS_MAX, GROUP_MEMBERS_MAX, REBALANCE_WAIT_MAX, SESSION_TIMEOUT_MAX, SESSION_TIMEOUT_MIN,
};
use crate::state::Shared;

#[derive(Default)]
pub struct Coordinator {
    groups: Mutex<HashMap<String, Group>>,
    next_member: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Empty => "Empty",
            State::PreparingRebalance => "PreparingRebalance",
            State::CompletingRebalance => "CompletingRebalance",
            State::Stable => "Stable",
        }
    }
}

struct Group {
    state: State,
    generation: i32,
    protocol_type: String,
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// When the current round stops waiting for members that have not rejoined.
    round_deadline: Instant,
    /// The answers of the last completed round, taken by the waiting JoinGroups.
    joined: HashMap<String, Joined>,
    changed: Arc<Notify>,
}

struct Member {
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    last_seen: Instant,
    /// Joined in the current round.
    rejoined: bool,
}

/// What a JoinGroup returns.
#[derive(Debug, Clone)]
pub struct Joined {
    pub generation: i32,
    pub protocol_type: String,
    pub protocol: String,
    pub leader: String,
    pub member_id: String,
    /// For the leader: every member's id and metadata for the chosen protocol.
    pub members: Vec<(String, Bytes)>,
}

pub struct JoinRequest {
    pub group: String,
    pub member_id: String,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
}

/// A group as DescribeGroups and ListGroups show it.
pub struct GroupView {
    pub state: State,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, client id, host, metadata of the chosen protocol, assignment)
    pub members: Vec<(String, String, String, Bytes, Bytes)>,
}

impl Coordinator {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Group>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub async fn join(&self, r: JoinRequest) -> Result<Joined, i16> {
        if r.group.is_empty() {
            return Err(E::InvalidGroupId.code());
        }
        let session = Duration::from_millis(r.session_timeout_ms.max(0) as u64);
        if !(SESSION_TIMEOUT_MIN..=SESSION_TIMEOUT_MAX).contains(&session) {
            return Err(E::InvalidSessionTimeout.code());
        }
        if r.protocols.is_empty() {
            return Err(E::InconsistentGroupProtocol.code());
        }
        // At least the session timeout, at most REBALANCE_WAIT_MAX (which may be the shorter).
        let rebalance = Duration::from_millis(r.rebalance_timeout_ms.max(0) as u64)
            .max(session)
            .min(REBALANCE_WAIT_MAX);
        let (member_id, changed) = {
            let mut groups = self.lock();
            if !groups.contains_key(&r.group) && groups.len() >= GROUPS_MAX {
                return Err(E::CoordinatorNotAvailable.code());
            }
            let g = groups.entry(r.group.clone()).or_insert_with(Group::new);
            if !g.members.is_empty()
                && (g.protocol_type != r.protocol_type || !g.shares_protocol(&r.protocols))
            {
                return Err(E::InconsistentGroupProtocol.code());
            }
            let member_id = if r.member_id.is_empty() {
                if g.members.len() >= GROUP_MEMBERS_MAX {
                    return Err(E::GroupMaxSizeReached.code());
                }
                let seq = self.next_member.fetch_add(1, Ordering::Relaxed);
                format!(
                    "{}-{seq:08}",
                    if r.client_id.is_empty() {
                        "member"
                    } else {
                        &r.client_id
                    }
                )
            } else if g.members.contains_key(&r.member_id) {
                r.member_id.clone()
            } else {
                return Err(E::UnknownMemberId.code());
            };
            g.protocol_type = r.protocol_type.clone();
            let now = Instant::now();
            g.members.insert(
                member_id.clone(),
                Member {
                    client_id: r.client_id,
                    client_host: r.client_host,
                    session_timeout: session,
                    rebalance_timeout: rebalance,
                    protocols: r.protocols,
                    assignment: Bytes::new(),
                    last_seen: now,
                    rejoined: true,
                },
            );
            if g.state != State::PreparingRebalance {
                g.start_round(Some(&member_id));
            }
            g.joined.remove(&member_id);
            g.complete_if_all_joined();
            (member_id, g.changed.clone())
        };
        loop {
            let woken = changed.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let deadline = {
                let mut groups = self.lock();
                let Some(g) = groups.get_mut(&r.group) else {
                    return Err(E::UnknownMemberId.code());
                };
                if let Some(j) = g.joined.remove(&member_id) {
                    return Ok(j);
                }
                let preparing = g.state == State::PreparingRebalance;
                match g.members.get_mut(&member_id) {
                    None => return Err(E::UnknownMemberId.code()),
                    // A round started while this JoinGroup waited (another member joined
                    // and cleared the answers): the pending request joins the new round.
                    Some(m) if preparing && !m.rejoined => {
                        m.rejoined = true;
                        m.last_seen = Instant::now();
                        g.complete_if_all_joined();
                        continue;
                    }
                    Some(_) => {}
                }
                if preparing && Instant::now() >= g.round_deadline {
                    g.members.retain(|_, m| m.rejoined);
                    g.complete_round();
                    continue;
                }
                g.round_deadline
            };
            let _ = tokio::time::timeout_at(
                deadline.min(Instant::now() + Duration::from_millis(500)),
                woken,
            )
            .await;
        }
    }

    /// SyncGroup: the leader's assignments in, each member's assignment out.
    pub async fn sync(
        &self,
        group: &str,
        generation: i32,
        member_id: &str,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<Bytes, i16> {
        let (changed, deadline) = {
            let mut groups = self.lock();
            let g = groups.get_mut(group).ok_or(E::UnknownMemberId.code())?;
            g.check_member(member_id, generation)?;
            if g.state == State::PreparingRebalance {
                return Err(E::RebalanceInProgress.code());
            }
            if g.state == State::CompletingRebalance && g.leader.as_deref() == Some(member_id) {
                let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                for (id, m) in g.members.iter_mut() {
                    m.assignment = given.remove(id).unwrap_or_default();
                }
                g.state = State::Stable;
                g.changed.notify_waiters();
            }
            (g.changed.clone(), Instant::now() + REBALANCE_WAIT_MAX)
        };
        loop {
            let woken = changed.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            {
                let groups = self.lock();
                let g = groups.get(group).ok_or(E::UnknownMemberId.code())?;
                g.check_member(member_id, generation)?;
                match g.state {
                    State::Stable => return Ok(g.members[member_id].assignment.clone()),
                    State::CompletingRebalance if Instant::now() < deadline => {}
                    _ => return Err(E::RebalanceInProgress.code()),
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), woken).await;
        }
    }

    pub fn heartbeat(&self, group: &str, generation: i32, member_id: &str) -> Result<(), i16> {
        let mut groups = self.lock();
        let g = groups.get_mut(group).ok_or(E::UnknownMemberId.code())?;
        g.check_member(member_id, generation)?;
        if let Some(m) = g.members.get_mut(member_id) {
            m.last_seen = Instant::now();
        }
        match g.state {
            State::PreparingRebalance => Err(E::RebalanceInProgress.code()),
            _ => Ok(()),
        }
    }

    /// Removes members; the others rebalance.
    pub fn leave(&self, group: &str, member_ids: &[String]) -> Vec<Result<(), i16>> {
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(group) else {
            return member_ids
                .iter()
                .map(|_| Err(E::UnknownMemberId.code()))
                .collect();
        };
        let results = member_ids
            .iter()
            .map(|m| {
                g.members
                    .remove(m)
                    .map(|_| ())
                    .ok_or(E::UnknownMemberId.code())
            })
            .collect();
        g.start_round(None);
        g.complete_if_all_joined();
        results
    }

    /// Checks that a commit comes from a current member (a commit without a generation,
    /// -1, comes from outside the group and is always allowed).
    pub fn check_commit(&self, group: &str, generation: i32, member_id: &str) -> Result<(), i16> {
        if generation < 0 && member_id.is_empty() {
            return Ok(());
        }
        let groups = self.lock();
        let g = groups.get(group).ok_or(E::UnknownMemberId.code())?;
        g.check_member(member_id, generation)?;
        if g.state == State::PreparingRebalance {
            return Err(E::RebalanceInProgress.code());
        }
        Ok(())
    }

    pub fn view(&self, group: &str) -> Option<GroupView> {
        let groups = self.lock();
        let g = groups.get(group)?;
        let protocol = g.protocol.clone().unwrap_or_default();
        Some(GroupView {
            state: g.state,
            protocol_type: g.protocol_type.clone(),
            members: g
                .members
                .iter()
                .map(|(id, m)| {
                    let metadata = m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default();
                    (
                        id.clone(),
                        m.client_id.clone(),
                        m.client_host.clone(),
                        metadata,
                        m.assignment.clone(),
                    )
                })
                .collect(),
            protocol,
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Removes members whose session ran out (those waiting in a JoinGroup are not
    /// heartbeating and are left alone until the round ends).
    fn expire(&self, now: Instant) {
        let mut groups = self.lock();
        for g in groups.values_mut() {
            let before = g.members.len();
            let waiting = g.state == State::PreparingRebalance;
            g.members.retain(|_, m| {
                (waiting && m.rejoined) || now.duration_since(m.last_seen) < m.session_timeout
            });
            if g.members.len() != before {
                g.start_round(None);
                g.complete_if_all_joined();
            }
        }
        groups.retain(|_, g| {
            !(g.members.is_empty() && g.state == State::Empty && g.joined.is_empty())
        });
    }
}

/// Runs for the server's life: expires members whose sessions ran out.
pub async fn expire_sessions(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        shared.groups.expire(Instant::now());
    }
}

impl Group {
    fn new() -> Group {
        Group {
            state: State::Empty,
            generation: 0,
            protocol_type: String::new(),
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            round_deadline: Instant::now(),
            joined: HashMap::new(),
            changed: Arc::new(Notify::new()),
        }
    }

    fn shares_protocol(&self, protocols: &[(String, Bytes)]) -> bool {
        protocols.iter().any(|(p, _)| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(q, _)| q == p))
        })
    }

    fn check_member(&self, member_id: &str, generation: i32) -> Result<(), i16> {
        if !self.members.contains_key(member_id) {
            return Err(E::UnknownMemberId.code());
        }
        if generation != self.generation {
            return Err(E::IllegalGeneration.code());
        }
        Ok(())
    }

    /// A new round: every member but `joined` must join again before the deadline.
    fn start_round(&mut self, joined: Option<&str>) {
        if self.members.is_empty() {
            self.state = State::Empty;
            self.leader = None;
            self.changed.notify_waiters();
            return;
        }
        self.state = State::PreparingRebalance;
        let wait = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(REBALANCE_WAIT_MAX);
        self.round_deadline = Instant::now() + wait;
        for (id, m) in self.members.iter_mut() {
            m.rejoined = Some(id.as_str()) == joined;
        }
        self.joined.clear();
        self.changed.notify_waiters();
    }

    fn complete_if_all_joined(&mut self) {
        if self.state == State::PreparingRebalance && self.members.values().all(|m| m.rejoined) {
            self.complete_round();
        }
    }

    /// A new generation over the members that joined: the protocol every one supports
    /// (the leader's first such), answers for each waiting JoinGroup.
    fn complete_round(&mut self) {
        if self.members.is_empty() {
            self.start_round(None);
            return;
        }
        self.generation += 1;
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        let leader = self.leader.clone().unwrap_or_default();
        let protocol = self.members[&leader]
            .protocols
            .iter()
            .map(|(p, _)| p)
            .find(|p| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(q, _)| q == *p))
            })
            .cloned()
            .unwrap_or_default();
        let metadata: Vec<(String, Bytes)> = self
            .members
            .iter()
            .map(|(id, m)| {
                (
                    id.clone(),
                    m.protocols
                        .iter()
                        .find(|(p, _)| *p == protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        self.joined.clear();
        for id in self.members.keys() {
            self.joined.insert(
                id.clone(),
                Joined {
                    generation: self.generation,
                    protocol_type: self.protocol_type.clone(),
                    protocol: protocol.clone(),
                    leader: leader.clone(),
                    member_id: id.clone(),
                    members: if *id == leader {
                        metadata.clone()
                    } else {
                        Vec::new()
                    },
                },
            );
        }
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            m.last_seen = Instant::now();
        }
        self.protocol = Some(protocol);
        self.state = State::CompletingRebalance;
        self.changed.notify_waiters();
    }
}
