//! A stage's task as the driver runs it (a `Task`): one partition of the stage's
//! input topic read batch by batch through the stage's operators (filter/project,
//! repartition, aggregate), its rows encoded for the sink or handed on as rows.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::data::Value;
use crate::exec::drivers::driver;
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::log::{LogHandle, Offsets};
use crate::exec::operators::aggregate::Emitted;
use crate::exec::output::Progress;
use crate::exec::persistent::{repartition, Encoded, SinkWriter, Stage, StageKind, TaskSlot};
use crate::exec::sinks::append::Appender;
use crate::exec::task::{PartitionRange, PartitionReader, Task, TaskStats};

/// What a stage's task makes: records to append, or rows for the caller.
pub(crate) enum StageItem {
    Record(Encoded),
    Row(Emitted),
}

impl StageItem {
    fn order(&self) -> (i64, u32, u64) {
        match self {
            StageItem::Record(e) => e.order,
            StageItem::Row(r) => (r.event_time_ms, r.partition, r.offset),
        }
    }
}

pub(crate) struct StageTask {
    log: LogHandle,
    kind: Arc<StageKind>,
    pub(crate) slot: TaskSlot,
    reader: PartitionReader,
    /// Rows are encoded for the sink (a persistent query), else handed on.
    sink: Option<Arc<SinkWriter>>,
    /// Records are handed on to be appended; false for a replay that rebuilds state.
    append: bool,
    /// Close every open window at the end of the input (the end of a bounded run).
    close: bool,
    progress: Option<Arc<Progress>>,
    skip: Arc<HashSet<Bytes>>,
    stats: TaskStats,
    late_before: u64,
    row: Vec<Value>,
    rows: Vec<Emitted>,
    bad: Vec<crate::exec::task::BadRecord>,
}

impl StageTask {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        log: &LogHandle,
        stage: &Stage,
        slot: TaskSlot,
        end: u64,
        sink: Option<Arc<SinkWriter>>,
        append: bool,
        close: bool,
    ) -> StageTask {
        let range = PartitionRange {
            partition: slot.partition,
            start: slot.offset,
            end,
        };
        StageTask {
            log: log.clone(),
            kind: stage.kind.clone(),
            late_before: slot.agg.as_ref().map_or(0, |a| a.late_records),
            reader: PartitionReader::new(log.clone(), stage.input_topic.clone(), range),
            slot,
            sink,
            append,
            close,
            progress: stage.progress.clone(),
            skip: stage.skip.clone(),
            stats: TaskStats::default(),
            row: Vec::new(),
            rows: Vec::new(),
            bad: Vec::new(),
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

    /// The end of the input: with `close`, an aggregation closes its open windows.
    fn finish(&mut self, out: &mut Vec<StageItem>) -> ExecResult<bool> {
        if self.close {
            if let (StageKind::Aggregate(spec), Some(task)) = (&*self.kind, self.slot.agg.as_mut())
            {
                task.close(
                    spec,
                    self.slot.partition,
                    self.slot.offset,
                    true,
                    &mut self.rows,
                );
                self.hand_on(out)?;
            }
        }
        Ok(false)
    }
}

impl Task for StageTask {
    type Item = StageItem;

    fn next_batch(&mut self, out: &mut Vec<StageItem>) -> ExecResult<bool> {
        if self
            .progress
            .as_ref()
            .is_some_and(|p| p.cancel.load(Ordering::Relaxed))
        {
            return self.finish(out); // Ctrl-C: what was read so far is the result
        }
        let read_before = self.reader.records_read();
        let Some(records) = self.reader.next_batch()? else {
            // The range can end past the last record (Kafka's transaction markers).
            let end = self.reader.position()?;
            self.slot.offset = self.slot.offset.max(end);
            return self.finish(out);
        };
        let partition = self.slot.partition;
        let processed: ExecResult<()> = match &*self.kind {
            StageKind::Stateless(p) => {
                let r = p.process(
                    partition,
                    records,
                    &mut self.row,
                    &mut self.rows,
                    &mut self.bad,
                );
                r.map_err(ExecError::from)
            }
            StageKind::Repartition {
                pipeline,
                writer,
                table,
            } => {
                let mut rekeyed = Vec::new();
                let r = repartition(
                    &self.log,
                    pipeline,
                    writer,
                    &self.skip,
                    table
                        .then(|| self.slot.agg.as_mut().map(|a| &mut a.table))
                        .flatten(),
                    partition,
                    records,
                    &mut self.row,
                    &mut self.bad,
                    &mut rekeyed,
                );
                // A replay that rebuilds state appends nothing.
                if self.append {
                    out.extend(rekeyed.into_iter().map(StageItem::Record));
                }
                r.map_err(ExecError::from)
            }
            StageKind::Joined(_) => {
                return Err(ExecError::internal("a joined stage runs as a join"));
            }
            StageKind::Aggregate(spec) => {
                let task = self.slot.agg.as_mut().expect("aggregate tasks have state");
                task.process(spec, partition, records, &mut self.bad, &mut self.rows)
            }
        };
        let read = self.reader.records_read() - read_before;
        self.stats.records_read += read;
        if let Some(p) = &self.progress {
            p.records_read.fetch_add(read, Ordering::Relaxed);
        }
        processed?;
        self.slot.offset = self.reader.position()?;
        self.stats.add_bad(std::mem::take(&mut self.bad));
        self.hand_on(out)?;
        Ok(true)
    }

    /// The task's counters, late records included.
    fn stats(&mut self) -> TaskStats {
        let late = self.slot.agg.as_ref().map_or(0, |a| a.late_records);
        self.stats.late_records = late - self.late_before;
        self.late_before = late;
        std::mem::take(&mut self.stats)
    }

    fn close_at_end(&mut self, close: bool) {
        self.close = close;
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
) -> ExecResult<Vec<Emitted>> {
    let target = match (&*stage.kind, sink) {
        (StageKind::Repartition { writer, .. }, _) => Some(writer.topic.clone()),
        (_, Some(s)) => Some(s.topic.clone()),
        _ => None,
    };
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
                    .extend(tasks.into_iter().map(|t: StageTask| t.slot));
                stage.tasks.sort_by_key(|t| t.partition);
                return Err(e.into());
            }
        };
        tasks.push(StageTask::new(
            log,
            stage,
            slot,
            end,
            sink.cloned(),
            true,
            close,
        ));
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
        stage.tasks.push(t.slot);
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
    let mut task = StageTask::new(log, &stage, slot, end, None, false, close);
    let error = driver::replay(&mut task).err();
    (task.slot, error)
}
