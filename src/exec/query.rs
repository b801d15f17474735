//! Runs a transient push query: one tokio task per input partition, each reading its
//! partition in batches from the query's start offsets up to the end offsets fixed when the
//! query starts (a bounded run), processing whole batches and sending whole batches of rows.
//!
//! The rows of the tasks are merged as Kafka Streams picks records across partitions: the
//! row with the smallest event time first (then partition, then offset). The merge only
//! takes the head of each task's stream, so each partition keeps its own order, and the
//! output is the same however the tasks are scheduled.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kql_runtime::Cluster;
use tokio::sync::mpsc;

use super::output::Progress;
use super::pipeline::{BadRecord, OutputRow, StatelessPipeline};

/// How many records a task fetches at once, and how many batches may wait in a channel.
pub const FETCH_BATCH_RECORDS: usize = 4096;
const CHANNEL_BATCHES: usize = 4;
/// How many bad records are kept with their details (all are counted).
pub const BAD_RECORD_SAMPLES: usize = 10;

/// Offsets one task reads: `[start, end)`.
#[derive(Debug, Clone, Copy)]
pub struct PartitionRange {
    pub partition: u32,
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Default)]
pub struct QueryStats {
    pub records_read: u64,
    pub rows: u64,
    pub bad_records: u64,
    pub bad_samples: Vec<BadRecord>,
}

enum TaskMessage {
    Rows(Vec<OutputRow>),
    Done {
        records_read: u64,
        bad: Vec<BadRecord>,
        bad_count: u64,
    },
    Failed(String),
}

/// Runs the pipeline over the ranges; `emit` gets rows in merged order and returns false to
/// stop early (LIMIT reached, cancelled).
pub fn run_bounded(
    runtime: &tokio::runtime::Runtime,
    cluster: &Cluster,
    pipeline: Arc<StatelessPipeline>,
    ranges: Vec<PartitionRange>,
    progress: &Arc<Progress>,
    mut emit: impl FnMut(&OutputRow) -> bool,
) -> Result<QueryStats, String> {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut receivers = Vec::new();
    for range in ranges {
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        receivers.push(rx);
        let (cluster, pipeline, cancel) = (cluster.clone(), pipeline.clone(), cancel.clone());
        let progress = progress.clone();
        runtime
            .spawn(async move { run_task(cluster, pipeline, range, cancel, progress, tx).await });
    }
    let mut stats = QueryStats::default();
    let mut buffers: Vec<VecDeque<OutputRow>> = receivers.iter().map(|_| VecDeque::new()).collect();
    let mut done = vec![false; receivers.len()];
    let mut failure = None;
    'merge: loop {
        // Make sure every live task has a head row, or has finished.
        for i in 0..receivers.len() {
            while buffers[i].is_empty() && !done[i] {
                match receivers[i].blocking_recv() {
                    Some(TaskMessage::Rows(rows)) => buffers[i].extend(rows),
                    Some(TaskMessage::Done {
                        records_read,
                        bad,
                        bad_count,
                    }) => {
                        done[i] = true;
                        stats.records_read += records_read;
                        stats.bad_records += bad_count;
                        let room = BAD_RECORD_SAMPLES.saturating_sub(stats.bad_samples.len());
                        stats.bad_samples.extend(bad.into_iter().take(room));
                    }
                    Some(TaskMessage::Failed(e)) => {
                        failure = Some(e);
                        done[i] = true;
                    }
                    None => done[i] = true,
                }
            }
        }
        let next = buffers
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.front()
                    .map(|r| ((r.event_time_ms, r.partition, r.offset), i))
            })
            .min();
        let Some((_, i)) = next else { break 'merge };
        let row = buffers[i].pop_front().unwrap();
        stats.rows += 1;
        if !emit(&row) {
            break 'merge;
        }
    }
    cancel.store(true, Ordering::Relaxed);
    match failure {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}

async fn run_task(
    cluster: Cluster,
    pipeline: Arc<StatelessPipeline>,
    range: PartitionRange,
    cancel: Arc<AtomicBool>,
    progress: Arc<Progress>,
    tx: mpsc::Sender<TaskMessage>,
) {
    let mut offset = range.start;
    let mut row = Vec::new();
    let mut bad = Vec::new();
    let mut bad_count = 0u64;
    let mut records_read = 0u64;
    while offset < range.end && !cancel.load(Ordering::Relaxed) {
        let want = ((range.end - offset) as usize).min(FETCH_BATCH_RECORDS);
        let records = match cluster.fetch(&pipeline.topic, range.partition, offset, want) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(TaskMessage::Failed(e.to_string())).await;
                return;
            }
        };
        let Some(last) = records.last() else { break };
        offset = last.offset + 1;
        records_read += records.len() as u64;
        let mut out = Vec::with_capacity(records.len());
        let mut batch_bad = Vec::new();
        pipeline.process(
            range.partition,
            &records,
            &mut row,
            &mut out,
            &mut batch_bad,
        );
        bad_count += batch_bad.len() as u64;
        progress
            .records_read
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        progress
            .bad_records
            .fetch_add(batch_bad.len() as u64, Ordering::Relaxed);
        let room = BAD_RECORD_SAMPLES.saturating_sub(bad.len());
        bad.extend(batch_bad.into_iter().take(room));
        if !out.is_empty() && tx.send(TaskMessage::Rows(out)).await.is_err() {
            return; // the reader stopped (LIMIT)
        }
    }
    let _ = tx
        .send(TaskMessage::Done {
            records_read,
            bad,
            bad_count,
        })
        .await;
}
