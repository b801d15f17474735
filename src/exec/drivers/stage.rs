//! A stage's task as the driver runs it (a `Task`): one partition of the stage's
//! input topic read batch by batch through the stage's operators (filter/project,
//! repartition, aggregate), its rows encoded for the sink or handed on as rows.

use std::sync::Arc;

use crate::exec::drivers::driver;
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::log::{LogHandle, Offsets};
use crate::exec::operators::aggregate::AggregatingTask;
use crate::exec::operators::filter_project::FilterProjectTask;
use crate::exec::operators::partition_input::PartitionInput;
use crate::exec::operators::repartition::RepartitionTask;
use crate::exec::persistent::{Encoded, SinkWriter, Stage, StageKind, TaskSlot};
use crate::exec::sinks::append::Appender;
use crate::exec::task::{OutputRow, Task, TaskStats};

/// What a stage's task makes: records to append, or rows for the caller.
pub(crate) enum StageItem {
    Record(Encoded),
    Row(OutputRow),
}

impl StageItem {
    fn order(&self) -> (i64, u32, u64) {
        match self {
            StageItem::Record(e) => e.order,
            StageItem::Row(r) => (r.event_time_ms, r.partition, r.offset),
        }
    }
}

/// The task of a stage's operator, over one partition of the stage's input.
enum StageOp {
    FilterProject(FilterProjectTask),
    Aggregate(AggregatingTask),
    Repartition(RepartitionTask),
}

/// A stage's task: its operator's task, and the sink that encodes its rows (a persistent
/// query) or hands them on (a transient aggregation); a repartition's records go to its
/// internal topic as they are.
pub(crate) struct StageTask {
    log: LogHandle,
    op: StageOp,
    /// Rows are encoded for the sink (a persistent query), else handed on.
    sink: Option<Arc<SinkWriter>>,
    /// Records are handed on to be appended; false for a replay that rebuilds state.
    append: bool,
    stats: TaskStats,
    rows: Vec<OutputRow>,
    records: Vec<Encoded>,
}

impl StageTask {
    pub(crate) fn new(
        log: &LogHandle,
        stage: &Stage,
        slot: TaskSlot,
        end: u64,
        sink: Option<Arc<SinkWriter>>,
        append: bool,
    ) -> ExecResult<StageTask> {
        let input = PartitionInput::new(log, &stage.input_topic, slot, end, stage.progress.clone());
        let kind = stage.kind.clone();
        let op = match &*stage.kind {
            StageKind::Stateless(_) => StageOp::FilterProject(FilterProjectTask::new(input, kind)),
            StageKind::Aggregate(_) => StageOp::Aggregate(AggregatingTask::new(input, kind)),
            StageKind::Repartition { .. } => {
                StageOp::Repartition(RepartitionTask::new(log, input, kind, stage.skip.clone()))
            }
            StageKind::Joined(_) => {
                return Err(ExecError::internal("a joined stage runs as a join"));
            }
        };
        Ok(StageTask {
            log: log.clone(),
            op,
            sink,
            append,
            stats: TaskStats::default(),
            rows: Vec::new(),
            records: Vec::new(),
        })
    }

    /// The task's place and state, to keep between runs.
    pub(crate) fn into_slot(self) -> TaskSlot {
        match self.op {
            StageOp::FilterProject(t) => t.into_slot(),
            StageOp::Aggregate(t) => t.into_slot(),
            StageOp::Repartition(t) => t.into_slot(),
        }
    }

    /// The rows made so far, as items: encoded for the sink, or as they are.
    fn hand_on(&mut self, out: &mut Vec<StageItem>) -> ExecResult<()> {
        match &self.sink {
            Some(s) => {
                // One call holds every row of the records of a batch, so a record's rows
                // are numbered in one piece (their sink tags).
                let mut batch = Vec::with_capacity(self.rows.len());
                let mut bad = Vec::new();
                s.encode(&self.log, &self.rows, &mut batch, &mut bad)?;
                self.stats.add_bad(bad);
                self.stats.records_written += batch.len() as u64;
                if self.append {
                    out.extend(batch.into_iter().map(StageItem::Record));
                }
                self.rows.clear();
            }
            None => out.extend(self.rows.drain(..).map(StageItem::Row)),
        }
        Ok(())
    }
}

impl Task for StageTask {
    type Item = StageItem;

    fn next_batch(&mut self, out: &mut Vec<StageItem>) -> ExecResult<bool> {
        let more = match &mut self.op {
            StageOp::FilterProject(t) => t.next_batch(&mut self.rows)?,
            StageOp::Aggregate(t) => t.next_batch(&mut self.rows)?,
            StageOp::Repartition(t) => {
                let more = t.next_batch(&mut self.records)?;
                // A replay that rebuilds state appends nothing.
                if self.append {
                    out.extend(self.records.drain(..).map(StageItem::Record));
                }
                self.records.clear();
                return Ok(more);
            }
        };
        self.hand_on(out)?;
        Ok(more)
    }

    /// The operator's counters (late records included) and what the sink wrote.
    fn stats(&mut self) -> TaskStats {
        let mut stats = match &mut self.op {
            StageOp::FilterProject(t) => t.stats(),
            StageOp::Aggregate(t) => t.stats(),
            StageOp::Repartition(t) => t.stats(),
        };
        stats.merge(std::mem::take(&mut self.stats));
        stats
    }

    fn close_at_end(&mut self, close: bool) {
        match &mut self.op {
            StageOp::Aggregate(t) => t.close_at_end(close),
            StageOp::FilterProject(t) => t.close_at_end(close),
            StageOp::Repartition(t) => t.close_at_end(close),
        }
    }
}

/// Runs every task of a stage to the current end of its partition (and, with `close`,
/// closes its open windows) through the driver. Rows go to `sink`, or come back merged
/// across tasks by event time; a repartition stage's records go to its internal topic.
pub(crate) fn run_stage(
    runtime: &tokio::runtime::Runtime,
    log: &LogHandle,
    stage: &mut Stage,
    sink: Option<&Arc<SinkWriter>>,
    close: bool,
    stats: &mut TaskStats,
) -> ExecResult<Vec<OutputRow>> {
    let target = match (&*stage.kind, sink) {
        (StageKind::Repartition { writer, .. }, _) => Some(writer.topic.clone()),
        (_, Some(s)) => Some(s.topic.clone()),
        _ => None,
    };
    if matches!(&*stage.kind, StageKind::Joined(_)) {
        return Err(ExecError::internal("a joined stage runs as a join"));
    }
    let mut tasks = Vec::with_capacity(stage.tasks.len());
    for slot in std::mem::take(&mut stage.tasks) {
        let end = match log.offsets(&stage.input_topic, slot.partition) {
            // A shared query's round is bounded (`Stage::round_records_max`).
            Ok(Offsets { high_watermark, .. }) => {
                stage.round_records_max.map_or(high_watermark, |max| {
                    high_watermark.min(slot.offset.saturating_add(max))
                })
            }
            Err(e) => {
                // (the tasks not started yet keep their state for the next run)
                stage.tasks.push(slot);
                stage
                    .tasks
                    .extend(tasks.into_iter().map(StageTask::into_slot));
                stage.tasks.sort_by_key(|t| t.partition);
                return Err(e.into());
            }
        };
        let mut task = StageTask::new(log, stage, slot, end, sink.cloned(), true)?;
        // What the end of the input does (close windows, or pause) is the task's own.
        task.close_at_end(close);
        tasks.push(task);
    }
    let mut appender = match &target {
        Some(topic) => Some(Appender::new(log, topic)?),
        None => None,
    };
    let mut rows = Vec::new();
    let ran = driver::run(runtime, tasks, StageItem::order, |item| {
        match item {
            StageItem::Record(e) => match appender.as_mut() {
                Some(a) => a.push(e)?,
                None => return Err(ExecError::internal("a record with no topic to go to")),
            },
            StageItem::Row(r) => rows.push(r),
        }
        Ok(true)
    });
    let mut failure = ran.failure;
    // What the tasks handed over is appended even when one of them failed.
    if let Some(a) = appender {
        if let Err(e) = a.finish() {
            ExecError::keep_first(&mut failure, e);
        }
    }
    for mut t in ran.units {
        stats.merge(t.stats());
        stage.tasks.push(t.into_slot());
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(rows),
    }
}

/// Runs one task of a stage on this thread, appending nothing: a replay that rebuilds a
/// task's state (`durable.rs`); with `close`, its windows close at the end, as they had
/// when the position was committed. Returns the task, its position and state moved on,
/// and its failure.
pub(crate) fn replay_task(
    log: &LogHandle,
    kind: &Arc<StageKind>,
    topic: &str,
    slot: TaskSlot,
    end: u64,
    close: bool,
) -> (TaskSlot, Option<ExecError>) {
    let stage = Stage {
        kind: kind.clone(),
        input_topic: topic.to_string(),
        tasks: Vec::new(),
        join: None,
        into: None,
        progress: None,
        skip: Default::default(),
        round_records_max: None,
    };
    if matches!(&**kind, StageKind::Joined(_)) {
        return (
            slot,
            Some(ExecError::internal("a joined stage runs as a join")),
        );
    }
    let mut task = match StageTask::new(log, &stage, slot, end, None, false) {
        Ok(task) => task,
        Err(e) => return (TaskSlot::default(), Some(e)),
    };
    task.close_at_end(close);
    let error = driver::replay(&mut task).err();
    (task.into_slot(), error)
}
