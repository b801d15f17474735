//! Persistent queries that survive a restart of kql on the same `--data-dir`.
//!
//! A persistent query is a consumer group (`kql_query_<ID>`). After each catch-up it
//! commits, in `__consumer_offsets`: the position of every task of every stage in its
//! input partition, the end offsets of its sink topic at that moment, and (in a second
//! group, `<group>-closed`) the positions at which a bounded run closed its windows.
//!
//! Stateful operators also write their state to a compacted changelog topic at each commit,
//! all through one interface (`operator_state::OperatorState`: snapshot, restore, how far
//! the inputs were consumed): an aggregation task to its input partition's partition of
//! the query's changelog, a join as one snapshot of all its tasks and positions (a join
//! shared by several processes: one snapshot per task, each in its own partition). A
//! snapshot is the state in chunks under a new generation, then a manifest naming the
//! generation, its chunk count and the input progress the state reflects, then tombstones
//! for the previous generation. A crash before the manifest leaves the previous generation
//! whole, so the state read back always matches an input offset.
//!
//! When the query's statement is replayed from the command topic, each task resumes at
//! its committed position; a stateful task reads its latest snapshot (time proportional to
//! the state, not to the input) and, when there is none, rebuilds its state by replaying
//! its input up to its committed position without emitting. Rows written to
//! the sink after the last commit (a crash between a write and its commit) carry a header
//! naming the input row that made them; those rows are not written again. Output is
//! therefore exactly once for queries whose rows are a function of their input, with the
//! limits in docs/durability.md.

use std::collections::HashSet;

use crate::exec::log::{LogHandle, Offsets};
use bytes::Bytes;

use crate::exec::drivers::stage::replay_task;
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::naming;
use crate::exec::operators::aggregate::AggregateTask;
use crate::exec::persistent::{Running, StageKind, TaskSlot};
use crate::exec::state::operator_state::OperatorState;
use crate::exec::task::read_partition;
use std::sync::Arc;

/// The size of a snapshot chunk: well under the log's batch limit, and under Kafka's
/// default largest record (`message.max.bytes`, about 1 MB on the broker and the client).
const CHUNK_BYTES: usize = 512 << 10;
const MANIFEST_KEY: &[u8] = b"manifest";

/// The changelog topic of a query's aggregation state (ksqlDB's name for it).
pub fn changelog_topic(log: &LogHandle, query_id: &str) -> String {
    let prefix = naming::query_prefix(log.application_id(), query_id);
    format!("{prefix}-Aggregate-Materialize-changelog")
}

/// The changelog topic of a query's join state: one snapshot of the whole join (every
/// task's state and every input position), in partition 0.
pub fn join_changelog_topic(log: &LogHandle, query_id: &str) -> String {
    let prefix = naming::query_prefix(log.application_id(), query_id);
    format!("{prefix}-Join-changelog")
}

/// The changelog topic of a shared join's tasks: task i's snapshot (its state and its
/// inputs' positions) in partition i, so that each task can move to another process alone.
pub fn join_tasks_changelog_topic(log: &LogHandle, query_id: &str) -> String {
    let prefix = naming::query_prefix(log.application_id(), query_id);
    format!("{prefix}-Join-Tasks-changelog")
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
            // An unshared join's own positions are in its snapshot; these show its lag.
            for (topic, p, next) in join.positions()? {
                if !crate::exec::share::runs(q.share.as_ref(), &topic, p) {
                    continue; // another process's task
                }
                log.commit_offset(group, &topic, p, next).map_err(e)?;
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

/// Moves a query that ran before to its committed positions, rebuilding state, and tells
/// its sink which rows it already wrote after the last commit.
pub fn restore(log: &LogHandle, q: &mut Running) -> ExecResult<()> {
    let group = group_of(log, &q.id);
    q.group = Some(group.clone());
    let prefix = q.id.clone();
    let changelog = changelog_topic(log, &q.id);
    let has_changelog = log.partition_count(&changelog).is_some();
    restore_join(log, q)?;
    if log.group_names().contains(&group) || has_changelog {
        for (i, stage) in q.stages.iter_mut().enumerate() {
            let snapshots = if has_changelog {
                restore_snapshots(log, &changelog, i, stage, &mut q.snapshots)
            } else {
                Vec::new()
            };
            restore_stage(log, &group, stage, &snapshots)?;
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
    }
    let sink = std::sync::Arc::get_mut(&mut q.sink)
        .ok_or_else(|| ExecError::internal("the sink writer is shared before the query starts"))?;
    sink.tag_prefix = Some(prefix);
    sink.skip = skip;
    Ok(())
}

/// Puts the latest snapshot's state and position into each stateful task of a stage; the
/// partitions restored this way (a damaged or missing snapshot falls back to replay).
fn restore_snapshots(
    log: &LogHandle,
    changelog: &str,
    stage_index: usize,
    stage: &mut crate::exec::persistent::Stage,
    generations: &mut Generations,
) -> Vec<u32> {
    if !matches!(&*stage.kind, StageKind::Aggregate(_)) {
        return Vec::new();
    }
    let mut restored = Vec::new();
    for slot in &mut stage.tasks {
        // (a snapshot that does not fit leaves the task as it was: its input is replayed)
        if let Ok(Some(at)) = restore_operator(log, changelog, slot.partition, slot) {
            generations.insert((stage_index, slot.partition), at);
            restored.push(slot.partition);
        }
    }
    restored
}

fn restore_stage(
    log: &LogHandle,
    group: &str,
    stage: &mut crate::exec::persistent::Stage,
    from_snapshot: &[u32],
) -> Result<(), String> {
    if let StageKind::Joined(_) = &*stage.kind {
        return Ok(()); // see restore_join
    }
    let mut restored = Vec::new();
    for slot in std::mem::take(&mut stage.tasks) {
        if from_snapshot.contains(&slot.partition) {
            restored.push(slot);
            continue;
        }
        restored.push(restore_task(
            log,
            group,
            &stage.kind,
            &stage.input_topic,
            slot,
        )?);
    }
    stage.tasks = restored;
    Ok(())
}

/// Moves a task to its group's committed position; a stateful task rebuilds its state by
/// replaying its input up to there, emitting nothing. A task without a committed position
/// stays where it is.
fn restore_task(
    log: &LogHandle,
    group: &str,
    kind: &Arc<StageKind>,
    topic: &str,
    mut slot: TaskSlot,
) -> Result<TaskSlot, String> {
    let committed = log
        .committed_offset(group, topic, slot.partition)
        .map_err(|e| e.to_string())?;
    let Some(committed) = committed else {
        return Ok(slot);
    };
    if slot.agg.is_none() {
        slot.offset = committed;
        return Ok(slot);
    }
    let Offsets { log_start, .. } = log
        .offsets(topic, slot.partition)
        .map_err(|e| e.to_string())?;
    slot.offset = log_start;
    // A bounded run that closed its windows at this position: the replay closes them too.
    let closed_at = log
        .committed_offset(&closed_group(group), topic, slot.partition)
        .map_err(|e| e.to_string())?;
    let close = closed_at == Some(committed);
    let (slot, failed) = replay_task(log, kind, topic, slot, committed, close);
    if let Some(e) = failed {
        return Err(format!(
            "cannot rebuild the state of partition {}: {e}",
            slot.partition
        ));
    }
    Ok(slot)
}

/// A task this process was just given by the query's group (another process ran it, or
/// this one did before a rebalance): its state and position as last committed, from its
/// latest snapshot in the changelog, else by replaying its input.
pub fn take_over(
    log: &LogHandle,
    q: &mut Running,
    stage_index: usize,
    partition: u32,
) -> Result<(), String> {
    let group = group_of(log, &q.id);
    let changelog = changelog_topic(log, &q.id);
    let stage = &mut q.stages[stage_index];
    let Some(at) = stage.tasks.iter().position(|t| t.partition == partition) else {
        return Ok(());
    };
    let mut slot = stage.tasks.remove(at);
    if slot.agg.is_some() {
        // What it held when this process last ran it is stale.
        slot.agg = Some(AggregateTask::new());
        q.snapshots.remove(&(stage_index, partition));
    }
    let from_snapshot = match &*stage.kind {
        StageKind::Aggregate(_) => restore_operator(log, &changelog, partition, &mut slot)
            .ok()
            .flatten(),
        _ => None,
    };
    let restored = match from_snapshot {
        Some(at) => {
            q.snapshots.insert((stage_index, partition), at);
            slot
        }
        None => restore_task(log, &group, &stage.kind, &stage.input_topic, slot)?,
    };
    stage.tasks.insert(at, restored);
    Ok(())
}

/// A task of a shared join that this process was just given: its state and positions as
/// last committed, from its latest snapshot, else rebuilt by replaying its inputs up to the
/// positions its group committed (from where the join started reading them).
pub fn take_over_join(
    log: &LogHandle,
    q: &mut Running,
    stage_index: usize,
    partition: u32,
) -> ExecResult<()> {
    let group = group_of(log, &q.id);
    let changelog = join_tasks_changelog_topic(log, &q.id);
    let id = q.id.clone();
    let stage = &mut q.stages[stage_index];
    let (StageKind::Joined(plan), Some(join)) = (&*stage.kind, &mut stage.join) else {
        return Ok(());
    };
    // A task as the join started it: whatever this process held of it before is stale.
    let fresh_task = || -> ExecResult<_> {
        fresh_join(log, &id, plan, join.start)?
            .take_task(partition)
            .ok_or_else(|| ExecError::internal("a join without the task of a partition"))
    };
    let mut task = fresh_task()?;
    q.snapshots.remove(&(stage_index, partition));
    match restore_operator(log, &changelog, partition, &mut task) {
        Ok(Some(at)) => {
            q.snapshots.insert((stage_index, partition), at);
        }
        // No snapshot, or one that does not fit (half put back, maybe): replay.
        Ok(None) | Err(_) => {
            task = fresh_task()?;
            let mut until = Vec::new();
            for input in task.inputs() {
                until.push(log.committed_offset(&group, input.topic(), partition)?);
            }
            crate::exec::operators::join::live::replay_task(task.as_mut(), &until)?;
        }
    }
    join.replace_task(task);
    Ok(())
}

/// The join of a persistent query as it starts, with nothing read.
fn fresh_join(
    log: &LogHandle,
    query_id: &str,
    plan: &crate::plan::QueryPlan,
    start: crate::exec::physical::StartAt,
) -> ExecResult<crate::exec::operators::join::LiveJoin> {
    let naming = crate::exec::operators::join::Naming::persistent(log, query_id, true);
    Ok(crate::exec::operators::join::build(
        log, plan, start, &naming,
    )?)
}

/// Tasks of a shared join that were taken away from this process: each is replaced by a
/// task with nothing read, so that its tables and buffers are freed now (if it comes back,
/// `take_over_join` restores it from the changelog).
pub fn release_join_tasks(
    log: &LogHandle,
    q: &mut Running,
    stage_index: usize,
    partitions: &[u32],
) -> ExecResult<()> {
    if partitions.is_empty() {
        return Ok(());
    }
    let stage = &mut q.stages[stage_index];
    let (StageKind::Joined(plan), Some(join)) = (&*stage.kind, &mut stage.join) else {
        return Ok(());
    };
    let mut fresh = fresh_join(log, &q.id, plan, join.start)?;
    for &p in partitions {
        if let Some(task) = fresh.take_task(p) {
            join.replace_task(task);
        }
        q.snapshots.remove(&(stage_index, p));
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
        let Some(feed) = join.repartition_feeds_mut().nth(f) else {
            continue;
        };
        let topic = feed.source_topic().to_string();
        let at = match log.committed_offset(&group, &topic, p)? {
            Some(at) => at,
            None => {
                if fresh.is_none() {
                    fresh = Some(fresh_join(log, &q.id, plan, join.start)?);
                }
                let start = fresh
                    .as_mut()
                    .and_then(|j| j.repartition_feeds_mut().nth(f))
                    .and_then(|feed| feed.input_mut(p))
                    .map(|i| i.position())
                    .transpose()?;
                start.unwrap_or(0)
            }
        };
        if let Some(input) = join
            .repartition_feeds_mut()
            .nth(f)
            .and_then(|feed| feed.input_mut(p))
        {
            input.seek(at);
        }
    }
    Ok(())
}

/// Puts a join's latest snapshot back (its state and positions), and tells its feeders
/// which records of their internal topics were written after the last commit. Without a
/// snapshot (or with a damaged one) the join starts again from its inputs' beginning; the
/// rows it wrote before are not written again (the sink's skip set).
fn restore_join(log: &LogHandle, q: &mut Running) -> ExecResult<()> {
    let group = group_of(log, &q.id);
    let changelog = join_changelog_topic(log, &q.id);
    for (i, stage) in q.stages.iter_mut().enumerate() {
        let (StageKind::Joined(plan), Some(join)) = (&*stage.kind, &mut stage.join) else {
            continue;
        };
        match restore_operator(log, &changelog, 0, join) {
            Ok(Some(at)) => {
                q.snapshots.insert((i, 0), at);
            }
            Ok(None) => {}
            // A snapshot that does not fit may have been half put back: start again.
            Err(_) => {
                let naming = crate::exec::operators::join::Naming::persistent(log, &q.id, true);
                *join = crate::exec::operators::join::build(
                    log,
                    plan,
                    crate::exec::physical::StartAt::Earliest,
                    &naming,
                )?;
            }
        }
        join.skip_written(&mut |topic| written_since_commit(log, &group, topic, topic))?;
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

/// Writes every stateful operator's state to the changelog (before the offsets are
/// committed): each aggregation task's to its partition of the query's changelog, a join's
/// (the whole join) to its own.
pub fn snapshot(log: &LogHandle, q: &mut Running) -> ExecResult<()> {
    if q.group.is_none() {
        return Ok(());
    }
    let topic = changelog_topic(log, &q.id);
    for (i, stage) in q.stages.iter_mut().enumerate() {
        if let Some(join) = &mut stage.join {
            if q.share.is_none() {
                let topic = join_changelog_topic(log, &q.id);
                create_changelog(log, &topic, 1)?;
                snapshot_operator(log, &topic, 0, join, &mut q.snapshots, (i, 0))?;
                continue;
            }
            // Shared by several processes: each task this process runs, on its own.
            let topic = join_tasks_changelog_topic(log, &q.id);
            let partitions = join.task_partitions();
            create_changelog(log, &topic, partitions.len() as u32)?;
            for p in partitions {
                if !join.owned.as_ref().is_none_or(|o| o.contains(&p)) {
                    continue; // another process's task: it writes its own snapshots
                }
                if let Some(task) = join.task_mut(p) {
                    snapshot_operator(log, &topic, p, task, &mut q.snapshots, (i, p))?;
                }
            }
            continue;
        }
        if !matches!(&*stage.kind, StageKind::Aggregate(_)) {
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
            snapshot_operator(log, &topic, slot.partition, slot, &mut q.snapshots, key)?;
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

/// Writes an operator's state to `partition` of the changelog `topic` when it has read
/// anything since its last snapshot (`generations[key]`).
fn snapshot_operator(
    log: &LogHandle,
    topic: &str,
    partition: u32,
    state: &mut dyn OperatorState,
    generations: &mut Generations,
    key: (usize, u32),
) -> ExecResult<()> {
    let consumed = state.consumed()?;
    let previous = generations.get(&key).copied();
    // Nothing read since the last snapshot: the state has not changed.
    if previous.is_some_and(|(_, _, at)| at == consumed) {
        return Ok(());
    }
    let generation = previous.map_or(1, |(g, _, _)| g + 1);
    let bytes = state.snapshot()?;
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

/// Puts an operator's latest complete snapshot in `partition` of the changelog `topic`
/// back: its generation, chunk count and progress, or None when there is none. An error:
/// a snapshot that cannot be read or does not fit the operator (damaged, another
/// version's), which may have been half put back: the caller rebuilds the state.
fn restore_operator(
    log: &LogHandle,
    topic: &str,
    partition: u32,
    state: &mut dyn OperatorState,
) -> ExecResult<Option<(u64, u32, u64)>> {
    if log.partition_count(topic).is_none() {
        return Ok(None);
    }
    let Some((generation, chunks, consumed, bytes)) = read_snapshot(log, topic, partition)? else {
        return Ok(None);
    };
    state.restore(&bytes, consumed)?;
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
