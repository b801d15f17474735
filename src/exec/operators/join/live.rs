//! A join that keeps running. A persistent query builds its join once; between catch-ups
//! every task keeps its state (table rows, window buffers) and its position in each input,
//! and the next catch-up goes on from there. A catch-up runs, in order: the feeders (sides
//! re-keyed into internal topics, inner joins written to internal topics), the global
//! table's new records, then the tasks, their rows merged by event time into the output
//! topic. Feeders and tasks are units of the one driver (`exec/drivers/driver.rs`), each feeder's
//! records appended by the one sink (`exec/sinks/append.rs`) before the tasks that read them run. For a restart each task is saved
//! on its own, its positions with its state (`JoinTaskState`, `state::durable`), as an
//! aggregation task is; feeders keep no state, their positions are the query's commits.
//!
//! A transient query builds the same join, runs its feeders once and hands its tasks to
//! `query::run_bounded`.

use crate::exec::task::RowTask;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::exec::log::LogHandle;
use bytes::Bytes;

use super::global::GlobalFeed;
use super::input::Input;
use super::materialize::InnerWriter;
use super::repartition::RepartitionFeed;
use crate::data::Value;
use crate::exec::error::{ExecError, ExecResult};
use crate::exec::persistent::Encoded;
use crate::exec::sinks::append::run_appending;
use crate::exec::sinks::batch::SinkBatch;
use crate::exec::sinks::row::PickedRow;
use crate::exec::state::codec::{Reader, Writer};
use crate::exec::task::{EachRecord, OutputRow, Task, TaskStats};

/// Where a join's rows go: records of one topic.
pub(crate) trait RowEncoder: Send + Sync + std::fmt::Debug {
    fn topic(&self) -> &str;
    /// The tags of records of its topic written after the last commit of a query that
    /// crashed: rows made again on restart with these tags are not written again. An
    /// encoder whose topic is the query's sink leaves this to the sink writer.
    fn skip_written(&mut self, _tags: HashSet<Bytes>) {}
    fn encode(
        &self,
        log: &LogHandle,
        rows: Vec<OutputRow>,
        out: &mut Vec<Encoded>,
        bad: &mut Vec<crate::exec::task::BadRecord>,
    ) -> Result<(), String>;
    /// The query's sink writer, when the rows go to the sink topic: it encodes them a row
    /// at a time (`sinks/batch.rs`).
    fn sink(&self) -> Option<&crate::exec::persistent::SinkWriter> {
        None
    }
}

/// A join task as the driver runs it: its rows encoded as records of the output topic.
struct JoinUnit {
    /// The task's place among the join's tasks.
    at: usize,
    task: RowTask,
    output: Arc<dyn RowEncoder>,
    log: LogHandle,
    stats: TaskStats,
    written: u64,
}

impl Task for JoinUnit {
    type Item = Encoded;

    fn next_batch(&mut self, out: &mut Vec<Encoded>) -> ExecResult<bool> {
        if let Some(sink) = self.output.sink() {
            // Each record's rows are encoded as soon as they are made.
            let before = out.len();
            let mut batch = sink.batch(&self.log)?;
            let mut bad = Vec::new();
            let more = self.task.next_batch_each(&mut Encoding {
                batch: &mut batch,
                out,
                bad: &mut bad,
            })?;
            batch.finish(out);
            self.stats.merge(self.task.stats());
            self.stats.add_bad(bad);
            self.written += (out.len() - before) as u64;
            return Ok(more);
        }
        let mut rows = Vec::new();
        let more = self.task.next_batch(&mut rows)?;
        self.stats.merge(self.task.stats());
        if !rows.is_empty() {
            // One batch holds every row of the records it read, so a record's rows are
            // numbered in one piece (their sink tags).
            let before = out.len();
            let mut bad = Vec::new();
            self.output.encode(&self.log, rows, out, &mut bad)?;
            self.stats.add_bad(bad);
            self.written += (out.len() - before) as u64;
        }
        Ok(more)
    }

    /// (The rows written are counted apart, in `written`: a join's run reports them.)
    fn stats(&mut self) -> TaskStats {
        std::mem::take(&mut self.stats)
    }
}

/// A join task's rows, each record's as soon as they are made, encoded for the sink.
struct Encoding<'a, 'w> {
    batch: &'a mut SinkBatch<'w>,
    out: &'a mut Vec<Encoded>,
    bad: &'a mut Vec<crate::exec::task::BadRecord>,
}

impl EachRecord<OutputRow> for Encoding<'_, '_> {
    fn items(&mut self, rows: &mut Vec<OutputRow>) -> ExecResult<()> {
        for r in rows.iter() {
            self.batch.push(r, self.out, self.bad)?;
        }
        Ok(())
    }

    fn picked(&mut self, row: &PickedRow<'_>) -> ExecResult<()> {
        Ok(self.batch.push(row, self.out, self.bad)?)
    }
}

/// Something written to an internal topic before the join's tasks read it.
pub(super) enum Feeder {
    Repartition(Box<RepartitionFeed>),
    Inner {
        join: Box<LiveJoin>,
        writer: Arc<InnerWriter>,
    },
}

pub struct LiveJoin {
    pub(super) feeders: Vec<Feeder>,
    pub(super) global: Option<GlobalFeed>,
    pub(super) tasks: Vec<RowTask>,
    /// Internal topics made for this join (a transient query removes them at its end).
    pub internal_topics: Vec<String>,
    /// Where its inputs started (a task taken over from another process, without a
    /// position committed for an input, starts that input there).
    pub(crate) start: crate::exec::physical::StartAt,
    /// The partitions whose tasks this process runs (a join shared by several processes,
    /// `exec/share.rs`); None: every task.
    pub(crate) owned: Option<HashSet<u32>>,
    /// The most records a task reads of each input in one run (a shared join).
    pub(crate) round_records_max: Option<u64>,
    /// Topics every task reads whole (the right table of a split foreign-key join): they
    /// do not decide which process runs a task, and no process commits positions in them
    /// (each task's own are in its snapshot).
    pub(crate) broadcast: Vec<String>,
    /// Whether its foreign-key joins were built one task per left partition.
    pub(crate) split_foreign_keys: bool,
}

impl std::fmt::Debug for LiveJoin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveJoin")
            .field("feeders", &self.feeders.len())
            .field("tasks", &self.tasks.len())
            .field("internal_topics", &self.internal_topics)
            .finish()
    }
}

/// What a catch-up read and wrote.
#[derive(Debug, Default)]
pub struct JoinRun {
    pub stats: TaskStats,
    pub rows_written: u64,
}

impl LiveJoin {
    /// Runs the feeders and reads the global table: what must be there before the tasks
    /// start.
    fn feed(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        log: &LogHandle,
        close: bool,
    ) -> ExecResult<TaskStats> {
        let mut stats = TaskStats::default();
        for f in &mut self.feeders {
            match f {
                Feeder::Repartition(r) => stats.merge(r.run(runtime, log)?),
                Feeder::Inner { join, writer } => {
                    let inner: Arc<dyn RowEncoder> = writer.clone();
                    stats.merge(join.run(runtime, log, close, inner, true)?.stats);
                }
            }
        }
        if let Some(g) = &mut self.global {
            stats.merge(g.refresh(log)?);
        }
        Ok(stats)
    }

    /// Everything before the tasks, then the tasks themselves, for a bounded run.
    pub fn into_tasks(
        mut self,
        runtime: &tokio::runtime::Runtime,
        log: &LogHandle,
    ) -> ExecResult<crate::exec::physical::TasksAndTopics> {
        self.feed(runtime, log, true)?;
        let mut tasks = Vec::with_capacity(self.tasks.len());
        for mut t in self.tasks {
            // Internal topics were empty when the tasks were built.
            for input in t.inputs() {
                input.resume(log)?;
            }
            tasks.push(t);
        }
        Ok((tasks, self.internal_topics))
    }

    /// Runs the join to the current end of its inputs through the driver, its rows
    /// appended to `output`; with `close`, every open window closes at the end. Without
    /// `feed`, only the tasks run: a shared join under exactly-once reads at once what its
    /// feeders' committed transaction made visible (`persistent::Registry::commit`).
    pub(crate) fn run(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        log: &LogHandle,
        close: bool,
        output: Arc<dyn RowEncoder>,
        feed: bool,
    ) -> ExecResult<JoinRun> {
        let mut run = JoinRun {
            stats: if feed {
                self.feed(runtime, log, close)?
            } else {
                TaskStats::default()
            },
            rows_written: 0,
        };
        let mut units = Vec::with_capacity(self.tasks.len());
        // Tasks another process runs wait aside, with their place in the join.
        let mut aside = Vec::new();
        let mut tasks = std::mem::take(&mut self.tasks).into_iter().enumerate();
        while let Some((at, mut task)) = tasks.next() {
            if !self.runs(task.as_mut()) {
                aside.push((at, task));
                continue;
            }
            let most = self.round_records_max;
            let resumed = task
                .inputs()
                .into_iter()
                .try_for_each(|i| i.resume_at_most(log, most));
            task.close_at_end(close);
            units.push(JoinUnit {
                at,
                task,
                output: output.clone(),
                log: log.clone(),
                stats: TaskStats::default(),
                written: 0,
            });
            if let Err(e) = resumed {
                // (every task stays, to run again or be saved)
                aside.extend(units.into_iter().map(|u| (u.at, u.task)));
                aside.extend(tasks);
                self.put_back(aside);
                return Err(e.into());
            }
        }
        let ran = run_appending(runtime, log, output.topic(), units);
        for mut u in ran.units {
            run.stats.merge(u.stats());
            run.rows_written += u.written;
            aside.push((u.at, u.task));
        }
        self.put_back(aside);
        match ran.failure {
            Some(e) => Err(e),
            None => Ok(run),
        }
    }

    /// Does this process run the task? (A task's partition is its first input's.)
    fn runs(&self, task: &mut dyn Task<Item = OutputRow>) -> bool {
        self.owned
            .as_ref()
            .is_none_or(|owned| owned.contains(&task_partition(task)))
    }

    /// The tasks set aside and run, back in their places.
    fn put_back(&mut self, mut tasks: Vec<(usize, RowTask)>) {
        tasks.sort_by_key(|(at, _)| *at);
        self.tasks = tasks.into_iter().map(|(_, t)| t).collect();
    }

    /// Whether each task reads partition i of every input, the task's own partition (a
    /// co-partitioned or global join, or one whose sides are repartitioned into internal
    /// topics first), so that the join's partitions can be shared between processes as an
    /// aggregate's are: each source partition of a repartitioned side is copied by one
    /// process, as an aggregation's first stage is, and task i by the process holding
    /// partition i. An inner join (a join of joins) is shared the same way when it is
    /// partitioned itself: its task i, run by the process holding partition i of its
    /// inputs, writes its rows into the internal topic the outer join reads. A
    /// foreign-key join is partitioned when split (task i reads partition i of the left
    /// table and the whole right table, a broadcast input); its one task otherwise reads
    /// every partition.
    pub(crate) fn partitioned(&mut self) -> bool {
        self.feeders.iter_mut().all(|f| match f {
            Feeder::Repartition(_) => true,
            Feeder::Inner { join, .. } => join.partitioned(),
        }) && self.tasks.iter_mut().enumerate().all(|(i, t)| {
            t.inputs()
                .iter()
                .filter(|input| !self.broadcast.iter().any(|b| b == input.topic()))
                .all(|input| input.partition() as usize == i)
        })
    }

    /// The topics the tasks read by partition (what the processes sharing the join
    /// subscribe to), the first input's first; not the topics every task reads whole.
    pub(crate) fn task_topics(&mut self) -> Vec<String> {
        let mut topics: Vec<String> = Vec::new();
        for t in &mut self.tasks {
            for i in t.inputs() {
                if !topics.iter().any(|x| x == i.topic())
                    && !self.broadcast.iter().any(|b| b == i.topic())
                {
                    topics.push(i.topic().to_string());
                }
            }
        }
        topics
    }

    /// Every topic a task or a feeder of the join reads, its inner joins' included: what
    /// the processes sharing the join subscribe to.
    pub(crate) fn group_topics(&mut self) -> Vec<String> {
        let mut topics: Vec<String> = Vec::new();
        for f in &mut self.feeders {
            match f {
                Feeder::Repartition(r) => topics.push(r.source_topic().to_string()),
                Feeder::Inner { join, .. } => topics.extend(join.group_topics()),
            }
        }
        topics.extend(self.task_topics());
        topics
    }

    /// Whether something runs before the tasks: a side re-keyed into an internal topic, or
    /// an inner join writing its rows into one.
    pub(crate) fn has_feeders(&self) -> bool {
        !self.feeders.is_empty()
    }

    /// Calls `f` on this join, then on its inner joins depth first: the order of
    /// `state_tasks_mut`, so the tasks of each join follow those of the joins before it.
    pub(crate) fn for_each_level(&mut self, f: &mut dyn FnMut(&mut LiveJoin)) {
        f(self);
        for feeder in &mut self.feeders {
            if let Feeder::Inner { join, .. } = feeder {
                join.for_each_level(f);
            }
        }
    }

    /// The partitions of the tasks, in order.
    pub(crate) fn task_partitions(&mut self) -> Vec<u32> {
        self.tasks
            .iter_mut()
            .map(|t| task_partition(t.as_mut()))
            .collect()
    }

    /// The task of `partition`.
    #[cfg(test)]
    pub(crate) fn task_mut(&mut self, partition: u32) -> Option<&mut RowTask> {
        let at = self
            .tasks
            .iter_mut()
            .position(|t| task_partition(t.as_mut()) == partition)?;
        self.tasks.get_mut(at)
    }

    /// Every stateful task of the join, its inner joins' included: its own tasks first (task
    /// i at i), then each inner join's, depth first. A task's place in this order is its
    /// partition of the join's changelog (`state::durable`).
    pub(crate) fn state_tasks_mut(&mut self) -> Vec<&mut RowTask> {
        let mut out: Vec<&mut RowTask> = self.tasks.iter_mut().collect();
        for f in &mut self.feeders {
            if let Feeder::Inner { join, .. } = f {
                out.extend(join.state_tasks_mut());
            }
        }
        out
    }

    /// Takes out the task at `at` among `state_tasks_mut` (from a join built to give it).
    pub(crate) fn take_state_task(&mut self, mut at: usize) -> Option<RowTask> {
        if at < self.tasks.len() {
            return Some(self.tasks.swap_remove(at));
        }
        at -= self.tasks.len();
        for f in &mut self.feeders {
            if let Feeder::Inner { join, .. } = f {
                let n = join.state_tasks_mut().len();
                if at < n {
                    return join.take_state_task(at);
                }
                at -= n;
            }
        }
        None
    }

    /// Every feeder that copies a source into an internal topic, its inner joins' included
    /// (feeders keep no state: their positions are the query's committed offsets).
    pub(crate) fn all_repartition_feeds_mut(&mut self) -> Vec<&mut RepartitionFeed> {
        let mut out = Vec::new();
        for f in &mut self.feeders {
            match f {
                Feeder::Repartition(r) => out.push(&mut **r),
                Feeder::Inner { join, .. } => out.extend(join.all_repartition_feeds_mut()),
            }
        }
        out
    }

    /// Whether this process runs the task at `at` among `state_tasks_mut` (an inner
    /// join's task by what its own join holds).
    pub(crate) fn runs_task(&mut self, at: usize) -> bool {
        let (mut runs, mut first) = (true, 0);
        self.for_each_level(&mut |level| {
            let n = level.tasks.len();
            if (first..first + n).contains(&at) {
                let partition = task_partition(level.tasks[at - first].as_mut());
                runs = level.owned.as_ref().is_none_or(|o| o.contains(&partition));
            }
            first += n;
        });
        runs
    }

    /// Where every input of every task and feeder is: (topic, partition, next offset).
    pub fn positions(&mut self) -> Result<Vec<(String, u32, u64)>, String> {
        let mut out = Vec::new();
        for f in &mut self.feeders {
            match f {
                Feeder::Repartition(r) => {
                    for i in &mut r.inputs {
                        out.push(position(i)?);
                    }
                }
                Feeder::Inner { join, .. } => out.extend(join.positions()?),
            }
        }
        for t in &mut self.tasks {
            for i in t.inputs() {
                out.push(position(i)?);
            }
        }
        Ok(out)
    }

    /// The internal topics this join writes, and the tag prefix of their records.
    pub fn written_topics(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.feeders {
            match f {
                Feeder::Repartition(r) => out.push(r.topic.clone()),
                Feeder::Inner { join, writer } => {
                    out.extend(join.written_topics());
                    out.push(writer.topic().to_string());
                }
            }
        }
        out
    }

    /// Gives each feeder the tags of the records of its internal topic written after the
    /// last commit of a query that crashed (`written(topic)`): not written again.
    pub fn skip_written(
        &mut self,
        written: &mut dyn FnMut(&str) -> Result<HashSet<Bytes>, String>,
    ) -> Result<(), String> {
        for f in &mut self.feeders {
            match f {
                Feeder::Repartition(r) => r.skip = Arc::new(written(&r.topic)?),
                Feeder::Inner { join, writer } => {
                    join.skip_written(written)?;
                    let tags = written(writer.topic())?;
                    Arc::get_mut(writer)
                        .ok_or("a join's writer is shared before the join runs")?
                        .skip = tags;
                }
            }
        }
        Ok(())
    }
}

/// A join task as durability sees it (`state::operator_state`): its tables or window
/// buffers with one position per input; `fresh` makes the task again as the join built it.
pub(crate) struct JoinTaskState<'a> {
    pub(crate) task: &'a mut RowTask,
    pub(crate) fresh: &'a mut dyn FnMut() -> ExecResult<RowTask>,
}

impl crate::exec::state::operator_state::OperatorState for JoinTaskState<'_> {
    fn positions(&mut self) -> ExecResult<Vec<crate::exec::state::operator_state::Position>> {
        let mut out = Vec::new();
        for i in self.task.inputs() {
            out.push(position(i)?);
        }
        Ok(out)
    }

    fn seek(&mut self, offsets: &[u64]) -> ExecResult<()> {
        let inputs = self.task.inputs();
        if inputs.len() != offsets.len() {
            return Err("the snapshot is of another join task".to_string().into());
        }
        for (i, at) in inputs.into_iter().zip(offsets) {
            i.seek(*at);
        }
        Ok(())
    }

    fn save_state(&mut self, w: &mut Writer) -> ExecResult<()> {
        self.task.save(w);
        Ok(())
    }

    fn load_state(&mut self, r: &mut Reader) -> ExecResult<()> {
        Ok(self.task.load(r)?)
    }

    fn reset(&mut self, _log: &LogHandle) -> ExecResult<()> {
        *self.task = (self.fresh)()?;
        Ok(())
    }

    fn replay(&mut self, _log: &LogHandle, until: &[u64], close: bool) -> ExecResult<()> {
        let until: Vec<Option<u64>> = until.iter().copied().map(Some).collect();
        self.task.close_at_end(close);
        replay_task(self.task.as_mut(), &until)
    }
}

/// Rebuilds a task's state from its inputs up to `until` (one offset per input, None:
/// read none of that input), emitting nothing: a task taken over from another process
/// that left no snapshot, as of the positions its group committed.
pub(crate) fn replay_task(
    task: &mut dyn Task<Item = OutputRow>,
    until: &[Option<u64>],
) -> ExecResult<()> {
    for (input, end) in task.inputs().into_iter().zip(until) {
        let at = input.position()?;
        input.limit_to(end.unwrap_or(at))?;
    }
    // (a state bound reached while replaying keeps its message; its code is the caller's)
    crate::exec::drivers::driver::replay(task).map_err(|e| ExecError::from(e.to_string()))
}

/// A task's partition: its first input's (every input's, in a partitioned join).
pub(crate) fn task_partition(task: &mut dyn Task<Item = OutputRow>) -> u32 {
    task.inputs().first().map_or(0, |i| i.partition())
}

fn position(i: &mut Input) -> Result<(String, u32, u64), String> {
    Ok((i.topic().to_string(), i.partition(), i.position()?))
}

/// A table's rows by key, in a snapshot.
pub(super) fn save_rows<S>(w: &mut Writer, rows: &HashMap<Bytes, Vec<Value>, S>) {
    w.u32(rows.len());
    for (k, v) in rows {
        w.bytes(k);
        w.values(v);
    }
}

pub(super) fn load_rows<S: std::hash::BuildHasher + Default>(
    r: &mut Reader,
) -> Result<HashMap<Bytes, Vec<Value>, S>, String> {
    let n = r.count()?;
    let mut rows = HashMap::with_capacity_and_hasher(n, S::default());
    for _ in 0..n {
        rows.insert(Bytes::from(r.bytes()?), r.values()?);
    }
    Ok(rows)
}
