//! Runs a query's tasks on tokio until each is done (a bounded run), sending whole batches
//! of rows over bounded channels, and merges the rows as Kafka Streams picks records across
//! partitions: the smallest event time first (then partition, then offset). The merge only
//! takes the head of each task's stream, so each task keeps its own order, and the output
//! is the same however the tasks are scheduled.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::limits::CHANNEL_BATCHES;
use super::output::Progress;
use super::task::{OutputRow, Task, TaskStats};

enum TaskMessage<T> {
    Rows(Vec<T>),
    Done(TaskStats),
    Failed(String),
}

/// Runs the tasks; `emit` gets rows in merged order and returns false to stop early
/// (LIMIT reached, cancelled).
pub fn run_bounded(
    runtime: &tokio::runtime::Runtime,
    tasks: Vec<Box<dyn Task>>,
    progress: &Arc<Progress>,
    emit: impl FnMut(OutputRow) -> bool,
) -> Result<TaskStats, String> {
    run_prepared(runtime, tasks, progress, Ok, |r| r.order(), emit)
}

/// `run_bounded` where each task first turns its batches of rows into items on its own
/// thread (`prepare`: a sink's encoded records, say), so that work runs in parallel; the
/// items are merged by `order`, which must be their rows' order.
pub fn run_prepared<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    tasks: Vec<Box<dyn Task>>,
    progress: &Arc<Progress>,
    prepare: impl Fn(Vec<OutputRow>) -> Result<Vec<T>, String> + Clone + Send + 'static,
    order: impl Fn(&T) -> (i64, u32, u64),
    mut emit: impl FnMut(T) -> bool,
) -> Result<TaskStats, String> {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut receivers = Vec::new();
    for task in tasks {
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        receivers.push(rx);
        let cancel = cancel.clone();
        let progress = progress.clone();
        let prepare = prepare.clone();
        runtime.spawn(async move { drive(task, cancel, progress, prepare, tx).await });
    }
    let mut stats = TaskStats::default();
    let mut buffers: Vec<VecDeque<T>> = receivers.iter().map(|_| VecDeque::new()).collect();
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
        let Some(i) = super::merge::next_head(&buffers, |r| order(r)) else {
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

async fn drive<T>(
    mut task: Box<dyn Task>,
    cancel: Arc<AtomicBool>,
    progress: Arc<Progress>,
    prepare: impl Fn(Vec<OutputRow>) -> Result<Vec<T>, String>,
    tx: mpsc::Sender<TaskMessage<T>>,
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
                if !out.is_empty() {
                    let message = match prepare(out) {
                        Ok(items) => TaskMessage::Rows(items),
                        Err(e) => TaskMessage::Failed(e),
                    };
                    let failed = matches!(message, TaskMessage::Failed(_));
                    if tx.send(message).await.is_err() || failed {
                        return; // the reader stopped (LIMIT), or this task failed
                    }
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
