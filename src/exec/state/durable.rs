//! Persistent queries that survive a restart of kql on the same `--data-dir`.
//!
//! A persistent query is a consumer group (`kql_query_<ID>`). After each catch-up it
//! commits, in `__consumer_offsets`: the position of every task of every stage in its
//! input partition, the end offsets of its sink topic at that moment, and (in a second
//! group, `<group>-closed`) the positions at which a bounded run closed its windows.
//!
//! Every stateful task (an aggregation task, a repartition task that keeps a table's rows,
//! a join task, an inner join's task) is saved and restored the same way, through one
//! interface (`operator_state::OperatorState`) and one layout: its own partition of its
//! operator's changelog (task i of the operator in partition i) holds snapshots of the
//! positions of the task's inputs followed by its state. A snapshot is written in chunks
//! under a new generation, then a manifest naming the generation, its chunk count and how
//! far the inputs were consumed, then tombstones for the previous generation. A crash
//! before the manifest leaves the previous generation whole, so the state read back always
//! matches its positions. Tasks without state (filter/project, a repartition of a stream,
//! a join side's feeder) have only their committed offsets.
//!
//! When the query's statement is replayed from the command topic, each task resumes at
//! its committed position; a stateful task reads its latest snapshot (time proportional to
//! the state, not to the input) and, when there is none, rebuilds its state by replaying
//! its inputs up to their committed positions without emitting (`restore_state`, the one
//! restore path). Rows written to
//! the sink after the last commit (a crash between a write and its commit) carry a header
//! naming the input row that made them; those rows are not written again. Output is
//! therefore exactly once for queries whose rows are a function of their input, with the
//! limits in docs/durability.md.

use std::collections::HashSet;

use crate::exec::log::{LogHandle, Offsets};
use bytes::Bytes;

use crate::exec::error::{ExecError, ExecResult};
use crate::exec::naming;
use crate::exec::operators::aggregate::AggregateTask;
use crate::exec::operators::join::live::JoinTaskState;
use crate::exec::persistent::{AggregateState, Running, StageKind};
use crate::exec::state::operator_state::{self, OperatorState};
use crate::exec::task::{read_partition, RowTask};

/// The size of a snapshot chunk: well under the log's batch limit, and under Kafka's
/// default largest record (`message.max.bytes`, about 1 MB on the broker and the client).
const CHUNK_BYTES: usize = 512 << 10;
const MANIFEST_KEY: &[u8] = b"manifest";

/// The changelog topic of a query's aggregation state (ksqlDB's name for it).
pub fn changelog_topic(log: &LogHandle, query_id: &str) -> String {
    let prefix = naming::query_prefix(log.application_id(), query_id);
    format!("{prefix}-Aggregate-Materialize-changelog")
}

/// The changelog topic of the tasks of a query's first stage that keep a table's rows
/// while they re-key it (GROUP BY over a table).
pub fn groupby_table_changelog_topic(log: &LogHandle, query_id: &str) -> String {
    let prefix = naming::query_prefix(log.application_id(), query_id);
    format!("{prefix}-Aggregate-GroupBy-Table-changelog")
}

/// The changelog topic of a query's join: task i's snapshot (its state and its inputs'
/// positions) in partition i, its inner joins' tasks after its own, so that each task is
/// restored, and moves to another process, alone.
pub fn join_changelog_topic(log: &LogHandle, query_id: &str) -> String {
    let prefix = naming::query_prefix(log.application_id(), query_id);
    format!("{prefix}-Join-Tasks-changelog")
}

/// The changelog of a stage whose tasks keep state, if they do.
fn stage_changelog(log: &LogHandle, query_id: &str, kind: &StageKind) -> Option<String> {
    match kind {
        StageKind::Aggregate(_) => Some(changelog_topic(log, query_id)),
        StageKind::Repartition { table: true, .. } => {
            Some(groupby_table_changelog_topic(log, query_id))
        }
        StageKind::Joined(_) => Some(join_changelog_topic(log, query_id)),
        _ => None,
    }
}

fn chunk_key(generation: u64, chunk: u32) -> Bytes {
    Bytes::from(format!("snapshot:{generation}:{chunk}"))
}

/// The header of a sink record that names the input row that produced it.
pub const SOURCE_HEADER: &str = "kql.src";

pub fn group_of(log: &LogHandle, query_id: &str) -> String {
    naming::query_group(log.application_id(), query_id)
}

fn closed_group(group: &str) -> String {
    format!("{group}-closed")
}

/// Tags the rows of a batch: which input record made each row, and its place among the
/// rows of that record (rows of one record come one after another).
#[derive(Default)]
pub struct Tagger {
    previous: Option<(u32, u64)>,
    index: u32,
}

impl Tagger {
    /// The tag of the next row, with `prefix` naming the query or the internal topic.
    pub fn tag(&mut self, prefix: &str, partition: u32, offset: u64) -> Bytes {
        self.index = if self.previous == Some((partition, offset)) {
            self.index + 1
        } else {
            0
        };
        self.previous = Some((partition, offset));
        source_tag(prefix, partition, offset, self.index)
    }
}

/// The headers of a record written with a tag (none without).
pub fn tag_headers(tag: Option<Bytes>) -> Vec<crate::exec::log::Header> {
    tag.map(|value| {
        vec![crate::exec::log::Header {
            name: SOURCE_HEADER.to_string(),
            value: Some(value),
        }]
    })
    .unwrap_or_default()
}

/// `QUERY:partition:offset:index`: the query, the input row, and the row's place among
/// the rows that input record produced.
pub fn source_tag(query: &str, partition: u32, offset: u64, index: u32) -> Bytes {
    Bytes::from(format!("{query}:{partition}:{offset}:{index}"))
}

/// Commits the query's positions (after its rows are in the sink).
pub fn commit(log: &LogHandle, q: &mut Running, closed: bool) -> Result<(), String> {
    let Some(group) = &q.group else { return Ok(()) };
    let e = |e: crate::exec::log::LogError| e.to_string();
    let mut written_topics = vec![q.sink_topic.clone()];
    // A shared query's positions in the internal topics it reads are where their next
    // owner resumes: they are never replaced by how far the topics were written (which
    // would skip what another process wrote there and its owner has not read yet).
    let shared = q.share.is_some();
    for stage in &mut q.stages {
        if let Some(join) = &mut stage.join {
            // A join task's own positions are in its snapshot; these show the lag, place
            // the feeders, and are what a task without a snapshot is rebuilt up to.
            for (topic, p, next) in join.positions()? {
                if !crate::exec::share::runs(q.share.as_ref(), &topic, p) {
                    continue; // another process's task
                }
                log.commit_offset(group, &topic, p, next).map_err(e)?;
                if closed {
                    log.commit_offset(&closed_group(group), &topic, p, next)
                        .map_err(e)?;
                }
            }
            if !shared {
                written_topics.extend(join.written_topics());
            }
            continue;
        }
        for slot in &stage.tasks {
            if !crate::exec::share::runs(q.share.as_ref(), &stage.input_topic, slot.partition) {
                continue; // another process's task: it commits its own position
            }
            log.commit_offset(group, &stage.input_topic, slot.partition, slot.offset)
                .map_err(e)?;
            if closed && slot.agg.is_some() {
                // (a bounded run closed its windows here: a rebuild up to here closes them)
                log.commit_offset(
                    &closed_group(group),
                    &stage.input_topic,
                    slot.partition,
                    slot.offset,
                )
                .map_err(e)?;
            }
        }
    }
    // The ends of the topics the query writes: its sink, and its internal topics; what
    // lies past them at a restart was written after this commit.
    written_topics.extend(q.stages.iter().filter_map(|st| match &*st.kind {
        StageKind::Repartition { writer, .. } if !shared => Some(writer.topic.clone()),
        _ => None,
    }));
    for topic in &written_topics {
        for p in 0..log.partition_count(topic).unwrap_or(0) {
            let Offsets {
                high_watermark: end,
                ..
            } = log.offsets(topic, p).map_err(e)?;
            log.commit_offset(group, topic, p, end).map_err(e)?;
        }
    }
    Ok(())
}

/// Moves a query that ran before to its committed positions, restoring every stateful
/// task, and tells its sink which rows it already wrote after the last commit.
pub fn restore(log: &LogHandle, q: &mut Running) -> ExecResult<()> {
    let group = group_of(log, &q.id);
    q.group = Some(group.clone());
    let prefix = q.id.clone();
    for i in 0..q.stages.len() {
        if q.stages[i].join.is_some() {
            restore_join(log, q, i, None)?;
            continue;
        }
        let partitions: Vec<u32> = q.stages[i].tasks.iter().map(|t| t.partition).collect();
        for p in partitions {
            restore_slot(log, q, i, p)?;
        }
    }
    // Even a query that never committed may have written rows before a crash.
    let skip = written_since_commit(log, &group, &q.sink_topic, &prefix)?;
    for stage in &mut q.stages {
        if let StageKind::Repartition { writer, .. } = &*stage.kind {
            let topic = &writer.topic;
            let topic = topic.clone();
            stage.skip = std::sync::Arc::new(written_since_commit(log, &group, &topic, &topic)?);
        }
        if let Some(join) = &mut stage.join {
            join.skip_written(&mut |topic| written_since_commit(log, &group, topic, topic))?;
        }
        // A join whose rows go to an internal topic (an aggregation of a join) writes them
        // tagged, as a repartition stage does.
        if let Some(into) = &mut stage.into {
            let tags = written_since_commit(log, &group, into.topic(), into.topic())?;
            std::sync::Arc::get_mut(into)
                .ok_or_else(|| {
                    ExecError::internal("a join's row writer is shared before the query starts")
                })?
                .skip_written(tags);
        }
    }
    let sink = std::sync::Arc::get_mut(&mut q.sink)
        .ok_or_else(|| ExecError::internal("the sink writer is shared before the query starts"))?;
    sink.tag_prefix = Some(prefix);
    sink.skip = skip;
    Ok(())
}

/// The one restore path of a stateful task, whatever its operator: its latest snapshot
/// in `partition` of `changelog` (positions and state), else its state rebuilt by
/// replaying its inputs from their start up to the positions the query's group committed
/// (closing its windows at the end when a bounded run had closed them there). A task
/// with neither stays as it was built. Returns the snapshot's generation, chunks and
/// progress when it came from one.
fn restore_state(
    log: &LogHandle,
    group: &str,
    changelog: &str,
    partition: u32,
    state: &mut dyn OperatorState,
) -> ExecResult<Option<(u64, u32, u64)>> {
    let damaged = match read_snapshot_into(log, changelog, partition, state) {
        Ok(Some(at)) => return Ok(Some(at)),
        Ok(None) => false,
        // A snapshot that does not fit (damaged, another version's) may have been half
        // put back.
        Err(_) => true,
    };
    let positions = state.positions()?;
    let mut committed = Vec::with_capacity(positions.len());
    let mut closed = !positions.is_empty();
    for (topic, p, _) in &positions {
        let at = log.committed_offset(group, topic, *p)?;
        let closed_at = log.committed_offset(&closed_group(group), topic, *p)?;
        closed &= at.is_some() && closed_at == at;
        committed.push(at);
    }
    if committed.iter().all(Option::is_none) {
        if damaged {
            state.reset(log)?;
        }
        return Ok(None);
    }
    state.reset(log)?;
    let start = state.positions()?;
    let until: Vec<u64> = committed
        .iter()
        .zip(&start)
        .map(|(c, (_, _, from))| c.unwrap_or(*from))
        .collect();
    state.replay(log, &until, closed).map_err(|e| {
        ExecError::from(format!(
            "cannot rebuild the state of partition {partition}: {e}"
        ))
    })?;
    Ok(None)
}

/// Restores the task of `partition` of stage `i`: a stateful one through `restore_state`,
/// a stateless one by moving it to its committed position.
fn restore_slot(log: &LogHandle, q: &mut Running, i: usize, partition: u32) -> ExecResult<()> {
    let group = group_of(log, &q.id);
    let changelog = stage_changelog(log, &q.id, &q.stages[i].kind);
    let stage = &mut q.stages[i];
    let Some(slot) = stage.tasks.iter_mut().find(|t| t.partition == partition) else {
        return Ok(());
    };
    let (Some(changelog), true) = (changelog, slot.agg.is_some()) else {
        if let Some(at) = log.committed_offset(&group, &stage.input_topic, partition)? {
            slot.offset = at;
        }
        return Ok(());
    };
    let mut state = AggregateState {
        slot,
        kind: &stage.kind,
        topic: &stage.input_topic,
    };
    q.snapshots.remove(&(i, partition));
    if let Some(at) = restore_state(log, &group, &changelog, partition, &mut state)? {
        q.snapshots.insert((i, partition), at);
    }
    Ok(())
}

/// A task this process was just given by the query's group (another process ran it, or
/// this one did before a rebalance): its state and position as last committed.
pub fn take_over(
    log: &LogHandle,
    q: &mut Running,
    stage_index: usize,
    partition: u32,
) -> Result<(), String> {
    let stage = &mut q.stages[stage_index];
    if let Some(slot) = stage.tasks.iter_mut().find(|t| t.partition == partition) {
        if slot.agg.is_some() {
            // What it held when this process last ran it is stale.
            slot.agg = Some(AggregateTask::new());
        }
    }
    restore_slot(log, q, stage_index, partition).map_err(|e| e.to_string())
}

/// Restores a joined stage's tasks (`only`: the tasks at those places among the join's
/// state tasks, given to this process by the query's group; None: every task and every
/// feeder, as a query starts).
/// Each task goes through `restore_state` from its partition of the join's changelog; a
/// feeder keeps no state and goes on from its committed positions.
fn restore_join(
    log: &LogHandle,
    q: &mut Running,
    i: usize,
    only: Option<&[usize]>,
) -> ExecResult<()> {
    let group = group_of(log, &q.id);
    let changelog = join_changelog_topic(log, &q.id);
    let id = q.id.clone();
    let stage = &mut q.stages[i];
    let (StageKind::Joined(plan), Some(join)) = (&*stage.kind, &mut stage.join) else {
        return Ok(());
    };
    let (start, split) = (join.start, join.split_foreign_keys);
    let at_now = std::cell::Cell::new(0);
    // The task at `at_now` as the join builds it, its inputs at `from`.
    let fresh = |from| -> ExecResult<RowTask> {
        fresh_join(log, &id, plan, from, split)?
            .take_state_task(at_now.get())
            .ok_or_else(|| ExecError::internal("a join without one of its tasks"))
    };
    // A rebuild replays the inputs from their beginning, whatever the join started from.
    let mut make = || fresh(crate::exec::physical::StartAt::Earliest);
    let count = join.state_tasks_mut().len();
    for at in 0..count {
        at_now.set(at);
        if only.is_some_and(|o| !o.contains(&at)) {
            continue;
        }
        let mut tasks = join.state_tasks_mut();
        let task = &mut *tasks[at];
        if only.is_some() {
            // What this process held of it before is stale.
            *task = fresh(start)?;
        }
        let mut state = JoinTaskState {
            task,
            fresh: &mut make,
        };
        q.snapshots.remove(&(i, at as u32));
        if let Some(done) = restore_state(log, &group, &changelog, at as u32, &mut state)? {
            q.snapshots.insert((i, at as u32), done);
        }
    }
    if only.is_none() {
        for feed in join.all_repartition_feeds_mut() {
            let topic = feed.source_topic().to_string();
            for p in feed.partitions() {
                let committed = log.committed_offset(&group, &topic, p)?;
                if let (Some(at), Some(input)) = (committed, feed.input_mut(p)) {
                    input.seek(at);
                }
            }
        }
    }
    Ok(())
}
/// Tasks of a shared join that this process was just given (by their places among the
/// join's state tasks): their state and positions as last committed (`restore_state`).
pub fn take_over_join(
    log: &LogHandle,
    q: &mut Running,
    stage_index: usize,
    taken: &[usize],
) -> ExecResult<()> {
    if taken.is_empty() {
        return Ok(());
    }
    restore_join(log, q, stage_index, Some(taken))
}

/// The join of a persistent query as it starts, with nothing read (`split`: its
/// foreign-key joins one task per left partition, as a shared query runs them).
fn fresh_join(
    log: &LogHandle,
    query_id: &str,
    plan: &crate::plan::QueryPlan,
    start: crate::exec::physical::StartAt,
    split: bool,
) -> ExecResult<crate::exec::operators::join::LiveJoin> {
    let naming = crate::exec::operators::join::Naming::persistent(log, query_id, true)
        .splitting_foreign_keys(split);
    Ok(crate::exec::operators::join::build(
        log, plan, start, &naming,
    )?)
}

/// Tasks of a shared join that were taken away from this process (by their places among
/// the join's state tasks): each is replaced by a task with nothing read, so that its
/// tables and buffers are freed now (if it comes back, `take_over_join` restores it from
/// the changelog).
pub fn release_join_tasks(
    log: &LogHandle,
    q: &mut Running,
    stage_index: usize,
    released: &[usize],
) -> ExecResult<()> {
    if released.is_empty() {
        return Ok(());
    }
    let stage = &mut q.stages[stage_index];
    let (StageKind::Joined(plan), Some(join)) = (&*stage.kind, &mut stage.join) else {
        return Ok(());
    };
    let mut fresh = fresh_join(log, &q.id, plan, join.start, join.split_foreign_keys)?;
    // The last place first: taking a task out of the fresh join moves the ones after it.
    let mut released = released.to_vec();
    released.sort_unstable_by(|a, b| b.cmp(a));
    for at in released {
        if let (Some(task), Some(slot)) = (
            fresh.take_state_task(at),
            join.state_tasks_mut().into_iter().nth(at),
        ) {
            *slot = task;
        }
        q.snapshots.remove(&(stage_index, at as u32));
    }
    Ok(())
}

/// Source partitions of a shared join's repartitioned sides that this process was just
/// given, as (feeder, partition): each is copied on from its group's committed position
/// (from where the join started reading, when none is committed). A feeder keeps no other
/// state: what it copied before the commit is in the internal topic.
pub fn take_over_feeds(
    log: &LogHandle,
    q: &mut Running,
    stage_index: usize,
    taken: &[(usize, u32)],
) -> ExecResult<()> {
    if taken.is_empty() {
        return Ok(());
    }
    let group = group_of(log, &q.id);
    let stage = &mut q.stages[stage_index];
    let (StageKind::Joined(plan), Some(join)) = (&*stage.kind, &mut stage.join) else {
        return Ok(());
    };
    let mut fresh = None;
    for &(f, p) in taken {
        let Some(feed) = join.all_repartition_feeds_mut().into_iter().nth(f) else {
            continue;
        };
        let topic = feed.source_topic().to_string();
        let at = match log.committed_offset(&group, &topic, p)? {
            Some(at) => at,
            None => {
                if fresh.is_none() {
                    fresh = Some(fresh_join(
                        log,
                        &q.id,
                        plan,
                        join.start,
                        join.split_foreign_keys,
                    )?);
                }
                let start = fresh
                    .as_mut()
                    .and_then(|j| j.all_repartition_feeds_mut().into_iter().nth(f))
                    .and_then(|feed| feed.input_mut(p))
                    .map(|i| i.position())
                    .transpose()?;
                start.unwrap_or(0)
            }
        };
        if let Some(input) = join
            .all_repartition_feeds_mut()
            .into_iter()
            .nth(f)
            .and_then(|feed| feed.input_mut(p))
        {
            input.seek(at);
        }
    }
    Ok(())
}

/// Tags of the rows this query wrote to its sink after its last commit.
fn written_since_commit(
    log: &LogHandle,
    group: &str,
    sink: &str,
    query: &str,
) -> Result<HashSet<Bytes>, String> {
    let mut tags = HashSet::new();
    let prefix = format!("{query}:");
    for p in 0..log.partition_count(sink).unwrap_or(0) {
        let Offsets {
            log_start: start,
            high_watermark: end,
            ..
        } = log.offsets(sink, p).map_err(|e| e.to_string())?;
        let committed = log
            .committed_offset(group, sink, p)
            .map_err(|e| e.to_string())?;
        let from = committed.unwrap_or(start).max(start);
        read_partition(log, sink, p, from, end, |r| {
            for (name, value) in r.headers() {
                let Some(value) = value else { continue };
                if name == SOURCE_HEADER.as_bytes() && value.starts_with(prefix.as_bytes()) {
                    tags.insert(r.keep(value));
                }
            }
            Ok(())
        })?;
    }
    Ok(tags)
}

/// Writes every stateful task's snapshot to its partition of its operator's changelog
/// (before the offsets are committed); a task that read nothing since its last snapshot
/// keeps it.
pub fn snapshot(log: &LogHandle, q: &mut Running) -> ExecResult<()> {
    if q.group.is_none() {
        return Ok(());
    }
    for (i, stage) in q.stages.iter_mut().enumerate() {
        let Some(topic) = stage_changelog(log, &q.id, &stage.kind) else {
            continue;
        };
        if let Some(join) = &mut stage.join {
            let count = join.state_tasks_mut().len();
            create_changelog(log, &topic, count as u32)?;
            for at in 0..count {
                if !join.runs_task(at) {
                    continue; // another process's task: it writes its own snapshots
                }
                let task = &mut *join.state_tasks_mut()[at];
                let mut unused = || Err(ExecError::internal("a join task reset while saved"));
                let mut state = JoinTaskState {
                    task,
                    fresh: &mut unused,
                };
                snapshot_operator(
                    log,
                    &topic,
                    at as u32,
                    &mut state,
                    &mut q.snapshots,
                    (i, at as u32),
                )?;
            }
            continue;
        }
        let partitions = log.partition_count(&stage.input_topic).unwrap_or(1);
        create_changelog(log, &topic, partitions)?;
        for slot in &mut stage.tasks {
            if slot.agg.is_none()
                || !crate::exec::share::runs(q.share.as_ref(), &stage.input_topic, slot.partition)
            {
                continue; // another process's task: it writes its own snapshots
            }
            let key = (i, slot.partition);
            let partition = slot.partition;
            let mut state = AggregateState {
                slot,
                kind: &stage.kind,
                topic: &stage.input_topic,
            };
            snapshot_operator(log, &topic, partition, &mut state, &mut q.snapshots, key)?;
        }
    }
    Ok(())
}

/// The generation, chunk count and input progress of each operator's latest snapshot, by
/// (stage, partition of the changelog).
type Generations = std::collections::BTreeMap<(usize, u32), (u64, u32, u64)>;

/// Creates a compacted changelog topic unless it is there (another process sharing the
/// query may have made it first).
fn create_changelog(log: &LogHandle, topic: &str, partitions: u32) -> ExecResult<()> {
    if log.partition_count(topic).is_some() {
        return Ok(());
    }
    let config = crate::exec::log::TopicConfig {
        partitions,
        cleanup_policy: crate::exec::log::CleanupPolicy::Compact,
        ..Default::default()
    };
    match log.create_topic(topic, config) {
        Ok(()) | Err(crate::exec::log::LogError::TopicExists(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Writes a task's snapshot (`operator_state::snapshot`: positions, then state) to
/// `partition` of the changelog `topic` when it has read anything since its last one
/// (`generations[key]`).
fn snapshot_operator(
    log: &LogHandle,
    topic: &str,
    partition: u32,
    state: &mut dyn OperatorState,
    generations: &mut Generations,
    key: (usize, u32),
) -> ExecResult<()> {
    let consumed = operator_state::consumed(state)?;
    let previous = generations.get(&key).copied();
    // Nothing read since the last snapshot: the state has not changed.
    if previous.is_some_and(|(_, _, at)| at == consumed) {
        return Ok(());
    }
    let generation = previous.map_or(1, |(g, _, _)| g + 1);
    let bytes = operator_state::snapshot(state)?;
    let chunks = write_snapshot(
        log,
        topic,
        partition,
        generation,
        consumed,
        &bytes,
        previous.map(|(g, n, _)| (g, n)),
    )?;
    generations.insert(key, (generation, chunks, consumed));
    Ok(())
}

/// Puts a task's latest complete snapshot in `partition` of the changelog `topic` back:
/// its generation, chunk count and progress, or None when there is none. An error: a
/// snapshot that cannot be read or does not fit the task (damaged, another version's),
/// which may have been half put back.
fn read_snapshot_into(
    log: &LogHandle,
    topic: &str,
    partition: u32,
    state: &mut dyn OperatorState,
) -> ExecResult<Option<(u64, u32, u64)>> {
    if log.partition_count(topic).is_none_or(|n| partition >= n) {
        return Ok(None);
    }
    let Some((generation, chunks, consumed, bytes)) = read_snapshot(log, topic, partition)? else {
        return Ok(None);
    };
    operator_state::restore(state, &bytes)?;
    Ok(Some((generation, chunks, consumed)))
}

fn write_snapshot(
    log: &LogHandle,
    topic: &str,
    partition: u32,
    generation: u64,
    offset: u64,
    state: &[u8],
    previous: Option<(u64, u32)>,
) -> Result<u32, String> {
    use crate::exec::log::{Acks, ProducerRecord};
    let record = |key: Bytes, value: Option<Bytes>| ProducerRecord {
        key: Some(key),
        value,
        timestamp_ms: None,
        partition: Some(partition),
        headers: Vec::new(),
    };
    let mut records: Vec<ProducerRecord> = state
        .chunks(CHUNK_BYTES)
        .enumerate()
        .map(|(i, c)| {
            record(
                chunk_key(generation, i as u32),
                Some(Bytes::copy_from_slice(c)),
            )
        })
        .collect();
    let chunks = records.len() as u32;
    let manifest =
        format!("{{\"generation\":{generation},\"chunks\":{chunks},\"offset\":{offset}}}");
    records.push(record(
        Bytes::from_static(MANIFEST_KEY),
        Some(Bytes::from(manifest)),
    ));
    log.produce_records(topic, partition, &records, Acks::All)
        .map_err(|e| e.to_string())?;
    // Only once the manifest is in: the previous generation's chunks can go.
    if let Some((g, n)) = previous {
        let tombstones: Vec<ProducerRecord> =
            (0..n).map(|c| record(chunk_key(g, c), None)).collect();
        log.produce_records(topic, partition, &tombstones, Acks::All)
            .map_err(|e| e.to_string())?;
    }
    Ok(chunks)
}

/// A complete snapshot read back: its generation, chunk count, the input offset it
/// reflects, and the state's bytes.
type Snapshot = (u64, u32, u64, Vec<u8>);

/// The latest complete snapshot of a task, if any.
fn read_snapshot(log: &LogHandle, topic: &str, partition: u32) -> Result<Option<Snapshot>, String> {
    let Offsets {
        log_start: start,
        high_watermark: end,
        ..
    } = log.offsets(topic, partition).map_err(|e| e.to_string())?;
    let mut latest: std::collections::HashMap<Bytes, Option<Bytes>> =
        std::collections::HashMap::new();
    read_partition(log, topic, partition, start, end, |r| {
        if let Some(k) = r.key {
            latest.insert(r.keep(k), r.value.map(|v| r.keep(v)));
        }
        Ok(())
    })?;
    let Some(Some(manifest)) = latest.get(MANIFEST_KEY) else {
        return Ok(None);
    };
    let m: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| format!("a damaged manifest: {e}"))?;
    let field = |n: &str| {
        m[n].as_u64()
            .ok_or_else(|| format!("the manifest has no {n}"))
    };
    let (generation, chunks, input_offset) = (
        field("generation")?,
        field("chunks")? as u32,
        field("offset")?,
    );
    let mut state = Vec::new();
    for c in 0..chunks {
        match latest.get(&chunk_key(generation, c)) {
            Some(Some(bytes)) => state.extend_from_slice(bytes),
            _ => return Err(format!("chunk {c} of snapshot {generation} is missing")),
        }
    }
    Ok(Some((generation, chunks, input_offset, state)))
}
