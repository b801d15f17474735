//! Runs a transient query's tasks to the end of their inputs (a bounded run) through the
//! driver (`driver.rs`), which merges their rows as Kafka Streams picks records across
//! partitions: the smallest event time first (then partition, then offset).

use crate::exec::task::RowTask;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::exec::drivers::driver;
use crate::exec::error::ExecResult;
use crate::exec::output::Progress;
use crate::exec::task::{OutputRow, Task, TaskStats};

/// Runs the tasks; `emit` gets rows in merged order and returns false to stop early
/// (LIMIT reached, cancelled).
pub fn run_bounded(
    runtime: &tokio::runtime::Runtime,
    tasks: Vec<RowTask>,
    progress: &Arc<Progress>,
    emit: impl FnMut(OutputRow) -> bool,
) -> ExecResult<TaskStats> {
    run_prepared(runtime, tasks, progress, Ok, |r| r.order(), emit)
}

/// `run_bounded` where each task first turns its batches of rows into items on its own
/// thread (`prepare`: a sink's encoded records, say), so that work runs in parallel; the
/// items are merged by `order`, which must be their rows' order.
pub fn run_prepared<T: Send + 'static, P>(
    runtime: &tokio::runtime::Runtime,
    tasks: Vec<RowTask>,
    progress: &Arc<Progress>,
    prepare: P,
    order: impl Fn(&T) -> (i64, u32, u64),
    mut emit: impl FnMut(T) -> bool,
) -> ExecResult<TaskStats>
where
    P: Fn(Vec<OutputRow>) -> Result<Vec<T>, String> + Clone + Send + 'static,
{
    let units = tasks
        .into_iter()
        .map(|task| TaskUnit {
            task,
            progress: progress.clone(),
            prepare: prepare.clone(),
            stats: TaskStats::default(),
            item: std::marker::PhantomData,
        })
        .collect();
    let ran = driver::run(runtime, units, order, |item| Ok(emit(item)));
    let mut stats = TaskStats::default();
    for mut u in ran.units {
        stats.merge(u.stats());
    }
    match ran.failure {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}

/// A transient query's task as the driver runs it.
struct TaskUnit<T, P> {
    task: RowTask,
    progress: Arc<Progress>,
    prepare: P,
    stats: TaskStats,
    item: std::marker::PhantomData<fn() -> T>,
}

impl<T, P> Task for TaskUnit<T, P>
where
    T: Send + 'static,
    P: Fn(Vec<OutputRow>) -> Result<Vec<T>, String> + Send + 'static,
{
    type Item = T;

    fn next_batch(&mut self, out: &mut Vec<T>) -> ExecResult<bool> {
        if self.progress.cancel.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let mut rows = Vec::new();
        let more = self.task.next_batch(&mut rows)?;
        // The task's counters after every batch, for the progress shown while it runs.
        let batch = self.task.stats();
        self.progress
            .records_read
            .fetch_add(batch.records_read, Ordering::Relaxed);
        self.progress
            .bad_records
            .fetch_add(batch.bad_records, Ordering::Relaxed);
        self.stats.merge(batch);
        if !rows.is_empty() {
            out.extend((self.prepare)(rows)?);
        }
        Ok(more)
    }

    fn stats(&mut self) -> TaskStats {
        std::mem::take(&mut self.stats)
    }
}
