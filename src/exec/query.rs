//! Runs a query's tasks on tokio until each is done (a bounded run), sending whole batches
//! of rows over bounded channels, and merges the rows as Kafka Streams picks records across
//! partitions: the smallest event time first (then partition, then offset). The merge only
//! takes the head of each task's stream, so each task keeps its own order, and the output
//! is the same however the tasks are scheduled.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::output::Progress;
use super::task::{OutputRow, Task, TaskStats};

/// How many batches may wait in a task's channel.
const CHANNEL_BATCHES: usize = 4;

enum TaskMessage {
    Rows(Vec<OutputRow>),
    Done(TaskStats),
    Failed(String),
}

/// Runs the tasks; `emit` gets rows in merged order and returns false to stop early
/// (LIMIT reached, cancelled).
pub fn run_bounded(
    runtime: &tokio::runtime::Runtime,
    tasks: Vec<Box<dyn Task>>,
    progress: &Arc<Progress>,
    mut emit: impl FnMut(OutputRow) -> bool,
) -> Result<TaskStats, String> {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut receivers = Vec::new();
    for task in tasks {
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        receivers.push(rx);
        let cancel = cancel.clone();
        let progress = progress.clone();
        runtime.spawn(async move { drive(task, cancel, progress, tx).await });
    }
    let mut stats = TaskStats::default();
    let mut buffers: Vec<VecDeque<OutputRow>> = receivers.iter().map(|_| VecDeque::new()).collect();
    let mut done = vec![false; receivers.len()];
    let mut failure = None;
    loop {
        // Make sure every live task has a head row, or has finished.
        for i in 0..receivers.len() {
            while buffers[i].is_empty() && !done[i] {
                match receivers[i].blocking_recv() {
                    Some(TaskMessage::Rows(rows)) => buffers[i].extend(rows),
                    Some(TaskMessage::Done(s)) => {
                        done[i] = true;
                        stats.merge(s);
                    }
                    Some(TaskMessage::Failed(e)) => {
                        failure = Some(e);
                        done[i] = true;
                    }
                    None => done[i] = true,
                }
            }
        }
        let Some(i) =
            super::merge::next_head(&buffers, |r| (r.event_time_ms, r.partition, r.offset))
        else {
            break;
        };
        let row = buffers[i].pop_front().expect("the head was just seen");
        if !emit(row) {
            break;
        }
    }
    cancel.store(true, Ordering::Relaxed);
    match failure {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}

async fn drive(
    mut task: Box<dyn Task>,
    cancel: Arc<AtomicBool>,
    progress: Arc<Progress>,
    tx: mpsc::Sender<TaskMessage>,
) {
    // The task's counters are taken after every batch, for the progress shown while it runs.
    let mut stats = TaskStats::default();
    loop {
        if cancel.load(Ordering::Relaxed) || progress.cancel.load(Ordering::Relaxed) {
            return;
        }
        let mut out = Vec::new();
        match task.next_batch(&mut out) {
            Ok(more) => {
                let batch = task.stats();
                progress
                    .records_read
                    .fetch_add(batch.records_read, Ordering::Relaxed);
                progress
                    .bad_records
                    .fetch_add(batch.bad_records, Ordering::Relaxed);
                stats.merge(batch);
                if !out.is_empty() && tx.send(TaskMessage::Rows(out)).await.is_err() {
                    return; // the reader stopped (LIMIT)
                }
                if !more {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.send(TaskMessage::Failed(e)).await;
                return;
            }
        }
    }
    stats.merge(task.stats());
    let _ = tx.send(TaskMessage::Done(stats)).await;
}
