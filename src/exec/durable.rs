//! Persistent queries that survive a restart of kql on the same `--data-dir`.
//!
//! A persistent query is a consumer group (`kql_query_<ID>`). After each catch-up it
//! commits, in `__consumer_offsets`: the position of every task of every stage in its
//! input partition, the end offsets of its sink topic at that moment, and (in a second
//! group, `<group>-closed`) the positions at which a bounded run closed its windows.
//!
//! When the query's statement is replayed from the command topic, each task resumes at
//! its committed position. Stateful tasks rebuild their state by replaying their input
//! from the log start up to that position without emitting (the input topics are the
//! state's changelog: records are only appended, so the replay is exact). Rows written to
//! the sink after the last commit (a crash between a write and its commit) carry a header
//! naming the input row that made them; those rows are not written again. Output is
//! therefore exactly once for queries whose rows are a function of their input, with the
//! limits in docs/durability.md.

use std::collections::HashSet;

use bytes::Bytes;
use kql_runtime::Cluster;

use super::aggregate::Emitted;
use super::persistent::{run_task, Running, StageKind};

/// The header of a sink record that names the input row that produced it.
pub const SOURCE_HEADER: &str = "kql.src";

pub fn group_of(query_id: &str) -> String {
    format!("kql_query_{query_id}")
}

fn closed_group(group: &str) -> String {
    format!("{group}-closed")
}

/// `QUERY:partition:offset:index`: the query, the input row, and the row's place among
/// the rows that input record produced.
pub fn source_tag(query: &str, partition: u32, offset: u64, index: u32) -> Bytes {
    Bytes::from(format!("{query}:{partition}:{offset}:{index}"))
}

/// Commits the query's positions (after its rows are in the sink).
pub fn commit(cluster: &Cluster, q: &Running, closed: bool) -> Result<(), String> {
    let Some(group) = &q.group else { return Ok(()) };
    let e = |e: kql_runtime::LogError| e.to_string();
    for stage in &q.stages {
        if let StageKind::Joined(_) = &*stage.kind {
            for (p, last) in &stage.written {
                cluster
                    .commit_offset(group, &stage.input_topic, *p, last + 1)
                    .map_err(e)?;
            }
            continue;
        }
        for slot in &stage.tasks {
            cluster
                .commit_offset(group, &stage.input_topic, slot.partition, slot.offset)
                .map_err(e)?;
            if closed && slot.agg.is_some() {
                cluster
                    .commit_offset(
                        &closed_group(group),
                        &stage.input_topic,
                        slot.partition,
                        slot.offset,
                    )
                    .map_err(e)?;
            }
        }
    }
    let partitions = cluster.partition_count(&q.sink_topic).unwrap_or(0);
    for p in 0..partitions {
        let (_, end, _) = cluster.offsets(&q.sink_topic, p).map_err(e)?;
        cluster
            .commit_offset(group, &q.sink_topic, p, end)
            .map_err(e)?;
    }
    Ok(())
}

/// Moves a query that ran before to its committed positions, rebuilding state, and tells
/// its sink which rows it already wrote after the last commit.
pub fn restore(cluster: &Cluster, q: &mut Running) -> Result<(), String> {
    let group = group_of(&q.id);
    q.group = Some(group.clone());
    let prefix = q.id.clone();
    if cluster.groups().iter().any(|g| *g == group) {
        for stage in &mut q.stages {
            restore_stage(cluster, &group, stage)?;
        }
    }
    // Even a query that never committed may have written rows before a crash.
    let skip = written_since_commit(cluster, &group, &q.sink_topic, &prefix)?;
    let sink = std::sync::Arc::get_mut(&mut q.sink)
        .ok_or("the sink writer is shared before the query starts")?;
    sink.tag_prefix = Some(prefix);
    sink.skip = skip;
    Ok(())
}

fn restore_stage(
    cluster: &Cluster,
    group: &str,
    stage: &mut super::persistent::Stage,
) -> Result<(), String> {
    let topic = stage.input_topic.clone();
    if let StageKind::Joined(_) = &*stage.kind {
        let partitions = cluster.partition_count(&topic).unwrap_or(0);
        for p in 0..partitions {
            if let Some(c) = cluster.committed_offset(group, &topic, p) {
                if c > 0 {
                    stage.written.insert(p, c - 1);
                }
            }
        }
        return Ok(());
    }
    let kind = stage.kind.clone();
    let mut restored = Vec::new();
    for mut slot in std::mem::take(&mut stage.tasks) {
        let Some(committed) = cluster.committed_offset(group, &topic, slot.partition) else {
            restored.push(slot);
            continue;
        };
        if slot.agg.is_none() {
            slot.offset = committed;
            restored.push(slot);
            continue;
        }
        // Rebuild the state: replay the input up to the committed position, emitting nothing.
        let (log_start, _, _) = cluster
            .offsets(&topic, slot.partition)
            .map_err(|e| e.to_string())?;
        slot.offset = log_start;
        let result = run_task(cluster, &kind, &topic, slot, committed, None, false);
        let mut slot = result.slot;
        let closed_at = cluster.committed_offset(&closed_group(group), &topic, slot.partition);
        if let (Some(at), StageKind::Aggregate(spec), Some(agg)) =
            (closed_at, &*kind, slot.agg.as_mut())
        {
            if at == committed {
                let mut discarded: Vec<Emitted> = Vec::new();
                agg.close(spec, slot.partition, committed, true, &mut discarded);
            }
        }
        restored.push(slot);
    }
    stage.tasks = restored;
    Ok(())
}

/// Tags of the rows this query wrote to its sink after its last commit.
fn written_since_commit(
    cluster: &Cluster,
    group: &str,
    sink: &str,
    query: &str,
) -> Result<HashSet<Bytes>, String> {
    let mut tags = HashSet::new();
    let prefix = format!("{query}:");
    for p in 0..cluster.partition_count(sink).unwrap_or(0) {
        let (start, end, _) = cluster.offsets(sink, p).map_err(|e| e.to_string())?;
        let mut offset = cluster
            .committed_offset(group, sink, p)
            .unwrap_or(start)
            .max(start);
        while offset < end {
            let records = cluster
                .fetch(sink, p, offset, 4096)
                .map_err(|e| e.to_string())?;
            let Some(last) = records.last() else { break };
            offset = last.offset + 1;
            for r in records {
                for h in r
                    .headers
                    .iter()
                    .filter(|h| h.name == SOURCE_HEADER && h.value.starts_with(prefix.as_bytes()))
                {
                    tags.insert(h.value.clone());
                }
            }
        }
    }
    Ok(tags)
}
