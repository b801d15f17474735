//! Running queries made of stages: persistent queries (CREATE ... AS SELECT, INSERT INTO
//! ... SELECT) that write a sink topic, and transient aggregating SELECTs.
//!
//! A query is one or two stages. Each stage reads one topic with one task per partition;
//! a task owns its offset and its state (an `AggregateTask`), runs through the driver over
//! batches of records (`drivers/stage.rs`), and hands its encoded records to the driver,
//! which appends them in merged order through the one appender (`sinks/append.rs`). A
//! GROUP BY on something other than the input's
//! key has a first stage that re-keys rows into an internal repartition topic.
//!
//! Bounded runs: `catch_up` runs every task from its offset to the partition's high
//! watermark at that moment and keeps the offsets and state, so records appended later are
//! processed by the next catch-up. `close` (the end of the run) closes every open window.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::exec::log::{LogHandle, Offsets, TopicConfig};
use bytes::Bytes;

use super::drivers::stage::run_stage;
use super::error::{ExecError, ExecResult};
use super::format::encode_value;
use super::format::key::{encode_computed_key_into, encode_key_into, KeyFormat};
use super::operators::aggregate::{AggregateSpec, AggregateTask, InputKind, InputScanner};
use super::operators::pipeline::StatelessPipeline;
use super::physical::StartAt;
use super::physical::{EdgeKind, Operator as PhysicalOp};
use super::sinks::batch::SinkBatch;
use super::sinks::record::SinkRecord;
use super::sinks::repartition::RepartitionWriter;
use super::sinks::row::SinkRow;
use super::task::OutputRow;
use super::task::{read_partition, BadRecord, TaskStats};
use crate::data::{SqlType, Value};
use crate::plan::catalog::{ColumnRole, Format, SourceDef};
use crate::plan::persistent::{PersistentKind, PersistentPlan};
use crate::plan::window::WindowType;
use crate::plan::QueryPlan;
use smallvec::SmallVec;

/// What the tasks of a stage do to their records.
#[derive(Debug)]
pub enum StageKind {
    /// Filter and project (CREATE STREAM ... AS SELECT without GROUP BY).
    Stateless(StatelessPipeline),
    /// Joins: the executor's join tasks, which keep their state and positions between
    /// catch-ups (`Stage::join`).
    Joined(QueryPlan),
    /// Re-key rows by the GROUP BY expressions into an internal topic.
    Repartition {
        pipeline: InputScanner,
        writer: RepartitionWriter,
        /// The input is a table: each task keeps its rows (in its `AggregateTask`'s
        /// `table`) and writes a retraction of a row's previous values before its new ones.
        table: bool,
    },
    Aggregate(AggregateSpec),
}

#[derive(Debug, Default)]
pub(crate) struct TaskSlot {
    pub(crate) partition: u32,
    pub(crate) offset: u64,
    pub(crate) agg: Option<AggregateTask>,
}

/// An aggregation task as durability sees it (`state::operator_state`): its groups, at its
/// position in its one input partition; rebuilt by running the stage's task over that
/// partition.
pub(crate) struct AggregateState<'a> {
    pub(crate) slot: &'a mut TaskSlot,
    pub(crate) kind: &'a Arc<StageKind>,
    pub(crate) topic: &'a str,
}

impl super::state::operator_state::OperatorState for AggregateState<'_> {
    fn positions(&mut self) -> ExecResult<Vec<super::state::operator_state::Position>> {
        Ok(vec![(
            self.topic.to_string(),
            self.slot.partition,
            self.slot.offset,
        )])
    }

    fn seek(&mut self, offsets: &[u64]) -> ExecResult<()> {
        match offsets {
            [at] => {
                self.slot.offset = *at;
                Ok(())
            }
            _ => Err(ExecError::internal(
                "an aggregation task reads one partition",
            )),
        }
    }

    fn save_state(&mut self, w: &mut crate::exec::state::codec::Writer) -> ExecResult<()> {
        match &self.slot.agg {
            Some(agg) => {
                w.0.extend_from_slice(&agg.snapshot());
                Ok(())
            }
            None => Err(ExecError::internal("a snapshot of a task without state")),
        }
    }

    fn load_state(&mut self, r: &mut crate::exec::state::codec::Reader) -> ExecResult<()> {
        self.slot.agg = Some(AggregateTask::from_snapshot(r.rest())?);
        Ok(())
    }

    fn reset(&mut self, log: &LogHandle) -> ExecResult<()> {
        self.slot.agg = Some(AggregateTask::new());
        self.slot.offset = log.offsets(self.topic, self.slot.partition)?.log_start;
        Ok(())
    }

    fn replay(&mut self, log: &LogHandle, until: &[u64], close: bool) -> ExecResult<()> {
        let [end] = until else {
            return Err(ExecError::internal(
                "an aggregation task reads one partition",
            ));
        };
        let placeholder = TaskSlot {
            partition: self.slot.partition,
            offset: self.slot.offset,
            agg: None,
        };
        let slot = std::mem::replace(self.slot, placeholder);
        let (slot, failed) =
            super::drivers::stage::replay_task(log, self.kind, self.topic, slot, *end, close);
        *self.slot = slot;
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[derive(Debug)]
pub struct Stage {
    pub(crate) kind: Arc<StageKind>,
    pub(crate) input_topic: String,
    pub(crate) tasks: Vec<TaskSlot>,
    /// A joined stage's running join.
    pub(crate) join: Option<super::operators::join::LiveJoin>,
    /// Where a joined stage's rows go when not to the query's sink: the internal topic of
    /// an aggregation of the join (`joined_aggregate.rs`).
    pub(crate) into: Option<Arc<dyn super::operators::join::live::RowEncoder>>,
    /// Counters a caller shows while the stage runs (a transient query in a terminal), and
    /// the flag that cancels it (Ctrl-C).
    pub(crate) progress: Option<Arc<super::output::Progress>>,
    /// A repartition stage of a query that crashed: its records already in the internal
    /// topic (tags of `kql.src` headers), not to be written again.
    pub(crate) skip: Arc<std::collections::HashSet<Bytes>>,
    /// The most records a task reads in one round (a query shared between processes,
    /// `share.rs`); None: to the end of its partition.
    pub(crate) round_records_max: Option<u64>,
}

/// Where a query's rows go.
#[derive(Debug)]
pub struct SinkWriter {
    pub topic: String,
    key_format: KeyFormat,
    value_format: Format,
    wrap_single_value: bool,
    value_delimiter: char,
    key_cols: Vec<(String, SqlType, usize)>,
    value_cols: Vec<(String, SqlType, usize)>,
    window: Option<WindowType>,
    /// CREATE ... AS SELECT WITH (timestamp='col'): records are stamped with that column.
    stamp: Option<ColumnStamp>,
    /// The query makes the rows' key (PARTITION BY): a key of several NULL columns is
    /// written, not left out.
    pub(crate) computed_key: bool,
    /// `QUERY_ID:` when rows are tagged with the input row that made them (durable logs).
    pub(crate) tag_prefix: Option<String>,
    /// Rows written after the last commit of a query that crashed: not written again.
    pub(crate) skip: std::collections::HashSet<Bytes>,
    /// A JSON object value's field names, each as `"NAME":`, written once.
    json_names: Option<Vec<Box<[u8]>>>,
}

/// A sink record's timestamp taken from a column of its row (ksqlDB's sink `timestamp`).
#[derive(Debug)]
struct ColumnStamp {
    name: String,
    /// Where the column is in the query's output row.
    slot: usize,
    /// A STRING column's pattern.
    format: Option<super::time::TimestampFormat>,
}

impl ColumnStamp {
    /// The timestamp of a row, or why it has none: NULL, a negative time (Kafka refuses
    /// one), text that does not match the pattern.
    fn of(&self, value: &Value) -> Result<i64, String> {
        let ms = match (value, &self.format) {
            (Value::Bigint(ms) | Value::Timestamp(ms), _) => *ms,
            (Value::String(text), Some(f)) => f.parse(text).ok_or_else(|| {
                format!(
                    "its timestamp column {} holds '{text}', which does not match timestamp_format '{}'",
                    self.name,
                    f.pattern()
                )
            })?,
            (Value::Null, _) => {
                return Err(format!("its timestamp column {} is NULL", self.name))
            }
            (other, _) => {
                return Err(format!(
                    "its timestamp column {} holds {other}, not a time",
                    self.name
                ))
            }
        };
        if ms < 0 {
            return Err(format!(
                "its timestamp column {} holds {ms}, and a record's timestamp cannot be negative",
                self.name
            ));
        }
        Ok(ms)
    }
}

impl SinkWriter {
    pub fn new(def: &SourceDef, sink_columns: &[usize], window: Option<WindowType>) -> SinkWriter {
        let mut key_cols = Vec::new();
        let mut value_cols = Vec::new();
        for (c, &i) in def.columns.iter().zip(sink_columns) {
            let col = (c.name.clone(), c.ty.clone(), i);
            match c.role {
                ColumnRole::Key => key_cols.push(col),
                ColumnRole::Value => value_cols.push(col),
                // (a sink's columns are keys and values: a query writes no header column)
                ColumnRole::Header => {}
            }
        }
        let json_object =
            def.value_format == Format::Json && (def.wrap_single_value || value_cols.len() != 1);
        let json_names = json_object.then(|| {
            (value_cols.iter())
                .map(|(name, _, _)| super::format::json::field_name(name))
                .collect()
        });
        SinkWriter {
            topic: def.topic.clone(),
            key_format: KeyFormat {
                format: def.key_format,
                delimiter: def.key_delimiter,
            },
            value_format: def.value_format,
            wrap_single_value: def.wrap_single_value,
            value_delimiter: def.value_delimiter,
            key_cols,
            value_cols,
            window,
            stamp: None,
            computed_key: false,
            tag_prefix: None,
            skip: Default::default(),
            json_names,
        }
    }

    /// With `from_column`, each record's timestamp is the value of the sink's timestamp
    /// column instead of the row's event time; a row without a valid one is not written.
    pub fn stamped(mut self, def: &SourceDef, sink_columns: &[usize], from_column: bool) -> Self {
        self.stamp = def
            .timestamp_column
            .filter(|_| from_column)
            .map(|i| ColumnStamp {
                name: def.columns[i].name.clone(),
                slot: sink_columns[i],
                format: def
                    .timestamp_format
                    .as_deref()
                    .map(super::time::TimestampFormat::new),
            });
        self
    }

    /// The sink records of rows, each with its target partition and its place in
    /// event-time order. A row whose timestamp column gives no valid time is not written
    /// but added to `bad`, as the input record (partition and offset) that made it.
    pub fn encode(
        &self,
        log: &LogHandle,
        rows: &[OutputRow],
        encoded: &mut Vec<Encoded>,
        bad: &mut Vec<BadRecord>,
    ) -> Result<(), String> {
        let mut batch = self.batch(log)?;
        for r in rows {
            batch.push(r, encoded, bad)?;
        }
        batch.finish(encoded);
        Ok(())
    }

    /// An encoder of one batch of rows, given a row at a time (`sinks/batch.rs`).
    pub(crate) fn batch<'w>(&'w self, log: &'w LogHandle) -> Result<SinkBatch<'w>, String> {
        SinkBatch::new(self, log)
    }

    /// The record timestamp of a row: its event time, or its timestamp column's value.
    pub(crate) fn timestamp_of<R: SinkRow + ?Sized>(&self, r: &R) -> Result<i64, String> {
        // A deletion has no value to take a time from: it keeps the row's event time.
        match self.stamp.as_ref().filter(|_| !r.tombstone()) {
            None => Ok(r.order().0),
            Some(stamp) => stamp.of(r.value(stamp.slot)),
        }
    }

    /// Appends the row's key, without its window, to `buf`; false when the row has no key.
    pub(crate) fn encode_key<R: SinkRow + ?Sized>(&self, r: &R, buf: &mut Vec<u8>) -> bool {
        // (built in place: a collected SmallVec would be moved out, inline array and all)
        let mut key_cols = SmallVec::<[_; 4]>::new();
        key_cols.extend((self.key_cols.iter()).map(|(n, t, i)| (n.as_str(), t, r.value(*i))));
        if self.computed_key {
            encode_computed_key_into(self.key_format, &key_cols, buf)
        } else {
            encode_key_into(self.key_format, &key_cols, buf)
        }
    }

    /// Appends a windowed row's window to its key in `buf` (the partition is chosen by
    /// the key without it).
    pub(crate) fn encode_window<R: SinkRow + ?Sized>(&self, r: &R, buf: &mut Vec<u8>) {
        if let (Some(w), Some((ws, we))) = (self.window, r.window()) {
            window_key_suffix(w, ws, we, buf);
        }
    }

    /// Appends the row's value to `buf`.
    pub(crate) fn encode_value<R: SinkRow + ?Sized>(&self, r: &R, buf: &mut Vec<u8>) {
        if let Some(names) = &self.json_names {
            // A JSON object: each field's name was written once, with the writer.
            let values = (self.value_cols.iter()).map(|(_, ty, i)| (ty, r.value(*i)));
            return super::format::json::encode_object_named(names, values, buf);
        }
        let mut value_cols = SmallVec::<[_; 8]>::new();
        value_cols.extend((self.value_cols.iter()).map(|(n, t, i)| (n.as_str(), t, r.value(*i))));
        encode_value(
            self.value_format,
            self.wrap_single_value,
            self.value_delimiter,
            &value_cols,
            buf,
        );
    }
}

impl super::operators::join::live::RowEncoder for SinkWriter {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn sink(&self) -> Option<&SinkWriter> {
        Some(self)
    }

    fn encode(
        &self,
        log: &LogHandle,
        rows: Vec<super::task::OutputRow>,
        out: &mut Vec<Encoded>,
        bad: &mut Vec<BadRecord>,
    ) -> Result<(), String> {
        SinkWriter::encode(self, log, &rows, out, bad)
    }
}

/// Kafka Streams' windowed key layout: the key, then the window start (time windows), or
/// the end and then the start (sessions), as 8-byte big-endian milliseconds.
pub fn window_key_suffix(w: WindowType, start: i64, end: i64, key: &mut Vec<u8>) {
    match w {
        WindowType::Session { .. } => {
            key.extend_from_slice(&end.to_be_bytes());
            key.extend_from_slice(&start.to_be_bytes());
        }
        _ => key.extend_from_slice(&start.to_be_bytes()),
    }
}

/// Splits a windowed key into the key and its window.
pub fn split_window_key(w: WindowType, key: &[u8]) -> Option<(&[u8], i64, i64)> {
    let n = key.len();
    let long = |b: &[u8]| i64::from_be_bytes(b.try_into().unwrap());
    match w {
        WindowType::Session { .. } if n >= 16 => Some((
            &key[..n - 16],
            long(&key[n - 8..]),
            long(&key[n - 16..n - 8]),
        )),
        WindowType::Tumbling { size_ms } | WindowType::Hopping { size_ms, .. } if n >= 8 => {
            let start = long(&key[n - 8..]);
            Some((&key[..n - 8], start, start.saturating_add(size_ms)))
        }
        _ => None,
    }
}

impl Stage {
    pub(crate) fn new(kind: StageKind, topic: &str, slots: Vec<TaskSlot>) -> Stage {
        Stage {
            kind: Arc::new(kind),
            input_topic: topic.to_string(),
            tasks: slots,
            join: None,
            into: None,
            progress: None,
            skip: Default::default(),
            round_records_max: None,
        }
    }
}

/// Aggregation tasks with their (empty) groups.
pub(crate) fn with_agg_state(mut t: Vec<TaskSlot>) -> Vec<TaskSlot> {
    for slot in &mut t {
        slot.agg = Some(AggregateTask::new());
    }
    t
}

/// A task per partition of `topic`, each at the partition's start.
pub(crate) fn task_slots(log: &LogHandle, topic: &str) -> ExecResult<Vec<TaskSlot>> {
    let n = log
        .partition_count(topic)
        .ok_or_else(|| format!("topic '{topic}' does not exist"))?;
    (0..n)
        .map(|p| {
            let Offsets {
                log_start: start, ..
            } = log.offsets(topic, p)?;
            Ok(TaskSlot {
                partition: p,
                offset: start,
                agg: None,
            })
        })
        .collect()
}

/// Builds the stages of a plan as its physical plan lays them out: a stage is what runs
/// between two topics, so an exchange (a repartition) ends one stage and starts the next.
/// `prefix` begins the names of the internal topics, which are created here.
pub fn build_stages(plan: &QueryPlan, log: &LogHandle, prefix: &str) -> ExecResult<Vec<Stage>> {
    let physical = super::physical::lower(plan, super::physical::Output::Rows)?;
    let tasks = |topic: &str| task_slots(log, topic);
    let stage = Stage::new;
    let with_agg_state = with_agg_state;
    // Output <- Project <- [Filter (HAVING)] <- the operator that makes the rows.
    let mut project = Vec::new();
    let mut having = None;
    let mut id = physical.root;
    let top = loop {
        let node = physical.node(id);
        match node.operator {
            PhysicalOp::Output(_) => {}
            PhysicalOp::Project(p) => {
                project = p.items.iter().map(|i| i.expr.clone()).collect();
            }
            PhysicalOp::Filter(f) => having = Some(f.predicate.clone()),
            _ => break node,
        }
        id = node.inputs[0].from;
    };
    let agg = match top.operator {
        PhysicalOp::Aggregate(a) => a,
        PhysicalOp::Scan(source) => {
            let pipeline = StatelessPipeline::new(plan)
                .ok_or_else(|| ExecError::internal("a scan that is not stateless"))?;
            return Ok(vec![stage(
                StageKind::Stateless(pipeline),
                &source.topic,
                tasks(&source.topic)?,
            )]);
        }
        PhysicalOp::Join(_) | PhysicalOp::GlobalJoin(_) => {
            let topic = &physical.sources(id)[0].topic;
            return Ok(vec![stage(
                StageKind::Joined(plan.clone()),
                topic,
                Vec::new(),
            )]);
        }
        _ => {
            return Err(ExecError::internal(
                "a plan that makes its rows with no operator",
            ))
        }
    };
    let unsupported =
        || ExecError::internal("an aggregation whose input is neither a source nor a join");
    let input = top.inputs[0];
    let repartition = match (&physical.input(input).operator, input.kind) {
        (PhysicalOp::Repartition(r), EdgeKind::Exchange) => {
            Some((r, physical.input(input).inputs[0].from))
        }
        (_, EdgeKind::Forward) => None,
        _ => return Err(unsupported()),
    };
    if let (Some((r, below)), true) = (repartition, agg.input.sources().len() > 1) {
        let rows = match &physical.node(below).operator {
            PhysicalOp::Repartition(rows) => Some(rows),
            _ => None,
        };
        return super::joined_aggregate::stages(log, agg, r, rows, prefix, having, project);
    }
    let Some((r, below)) = repartition else {
        let (source, filter) = physical.filtered_scan(input.from).ok_or_else(unsupported)?;
        let mut scanner = InputScanner::of(source, filter);
        if !agg.table {
            // A stream's row is read by the group keys, the aggregates' arguments and
            // WHERE, and kept by none: the other value columns are only checked. (A table's
            // rows are kept, to be retracted, and are decoded whole.)
            let mut read = Vec::new();
            let keys = agg.keys.iter().map(|k| &k.expr);
            let args = agg.calls.iter().filter_map(|c| c.arg.as_ref());
            for e in keys.chain(args).chain(filter) {
                e.columns(&mut read);
            }
            scanner = scanner.reading_only(|pos| read.contains(&pos));
        }
        let mut spec = AggregateSpec::new(agg, scanner, having, project);
        spec.input_kind = if agg.table {
            InputKind::Table
        } else {
            InputKind::Stream
        };
        return Ok(vec![stage(
            StageKind::Aggregate(spec),
            &source.topic,
            with_agg_state(tasks(&source.topic)?),
        )]);
    };
    let (source, filter) = physical.filtered_scan(below).ok_or_else(unsupported)?;
    let internal_topic = format!("{prefix}-{}", r.topic);
    let columns = source
        .schema
        .fields
        .iter()
        .enumerate()
        .skip(crate::plan::schema::PSEUDO_COLUMNS.len())
        .map(|(i, f)| (f.name.clone(), f.ty.clone(), i))
        .collect();
    if log.partition_count(&internal_topic).is_none() {
        log.create_topic(
            &internal_topic,
            TopicConfig {
                partitions: r.partitions,
                replicas: 1,
                ..Default::default()
            },
        )?;
    }
    let table = r.purpose == (super::physical::Purpose::GroupBy { table: true });
    let first_tasks = tasks(&source.topic)?;
    let first = stage(
        StageKind::Repartition {
            pipeline: InputScanner::of(source, filter),
            writer: RepartitionWriter::new(r, internal_topic.clone(), columns, true),
            table,
        },
        &source.topic,
        // a table's rows are state: a restart rebuilds them by replaying the input
        if table {
            with_agg_state(first_tasks)
        } else {
            first_tasks
        },
    );
    let input = InputScanner::internal(source, &internal_topic);
    let mut spec = AggregateSpec::new(agg, input, having, project);
    spec.input_kind = if table {
        InputKind::Retractions
    } else {
        InputKind::Stream
    };
    let second = stage(
        StageKind::Aggregate(spec),
        &internal_topic,
        with_agg_state(tasks(&internal_topic)?),
    );
    Ok(vec![first, second])
}

/// Why a commit of a query this process runs alone (a bounded run, the shell) failed, when
/// `kql run --follow` processes joined the query's group while it ran: the cluster refuses
/// commits to a group with members from a process that is none. They started from the
/// group's previous commit, so they compute again what this run computed since then.
fn joined_meanwhile(log: &LogHandle, q: &Running) -> Option<String> {
    if q.share.is_some() {
        return None;
    }
    let group = q.group.as_ref()?;
    let members = log.describe_group(group).ok()?.members.len();
    (members > 0).then(|| {
        format!(
            "{members} live process(es) of application '{}' joined its consumer group '{group}' \
             while this run ran the query alone (a run without --follow is no member of the \
             group); they run it from the group's last commit, so rows this run wrote after \
             they started are written again by them. Start `kql run --follow` processes \
             before or after a bounded run of the same application, not during one",
            log.application_id()
        )
    })
}

/// Runs a joined stage's join to the current end of its inputs, its rows appended to the
/// sink; without `feed`, its tasks only (not its feeders).
fn run_joined(
    runtime: &tokio::runtime::Runtime,
    log: &LogHandle,
    stage: &mut Stage,
    sink: &Arc<SinkWriter>,
    close: bool,
    feed: bool,
    stats: &mut TaskStats,
) -> ExecResult<()> {
    let Some(join) = stage.join.as_mut() else {
        return Err(ExecError::internal("a joined stage without its join"));
    };
    let (output, to_sink): (Arc<dyn super::operators::join::live::RowEncoder>, bool) =
        match &stage.into {
            Some(into) => (into.clone(), false),
            None => (Arc::<SinkWriter>::clone(sink), true),
        };
    let run = join.run(runtime, log, close, output, feed)?;
    stats.merge(TaskStats {
        records_written: if to_sink { run.rows_written } else { 0 },
        ..run.stats
    });
    Ok(())
}

/// Re-keys a batch into the internal topic. With `table` (the rows of a table input, by
/// record key), a changed row is written as a retraction of its previous values, then its
/// new values; a deleted one as a retraction only.
#[allow(clippy::too_many_arguments)]
pub(crate) fn repartition<'a>(
    log: &LogHandle,
    pipeline: &InputScanner,
    writer: &RepartitionWriter,
    skip: &std::collections::HashSet<Bytes>,
    table: Option<
        &mut std::collections::HashMap<Vec<u8>, Vec<Value>, super::operators::aggregate::FastHash>,
    >,
    partition: u32,
    records: impl IntoIterator<Item = Result<crate::exec::log::LogRecord<'a>, String>>,
    row: &mut Vec<Value>,
    bad: &mut Vec<BadRecord>,
    out: &mut Vec<Encoded>,
) -> Result<(), String> {
    use super::operators::aggregate::{TableChange, RETRACT_MOVED, RETRACT_REPLACED};
    use crate::exec::log::LogRecord;
    let mut failure = None;
    let mut encode = |key: &[Value], row: &[Value], t, r: &LogRecord, index, retract| {
        let headers = super::row_headers::of_record(r);
        if let Err(e) = writer.encode(
            log, skip, key, row, t, partition, r.offset, index, retract, &headers, out,
        ) {
            failure = Some(e);
        }
    };
    let scanned = match table {
        // (a NULL key is written too: the aggregate stage drops the row)
        None => pipeline.scan(partition, records, row, bad, |row, t, r| {
            encode(&writer.key_values(row), row, t, r, 0, None)
        }),
        Some(rows) => pipeline.scan_table(partition, records, row, bad, |k, change, t, r| {
            let new = match change {
                TableChange::Upsert(row) => writer.key_of(row).map(|key| (key, row)),
                TableChange::Delete => None,
            };
            let mut index = 0;
            if let Some(old) = rows.remove(k) {
                let old_key = writer.key_of(&old).expect("only rows with a key are kept");
                let how = match &new {
                    Some((key, _)) if *key == old_key => RETRACT_REPLACED,
                    _ => RETRACT_MOVED,
                };
                encode(&old_key, &old, t, r, 0, Some(how));
                index = 1;
            }
            if let Some((key, row)) = new {
                encode(&key, row, t, r, index, None);
                rows.insert(k.to_vec(), row.to_vec());
            }
        }),
    };
    match failure {
        Some(e) => Err(e),
        None => scanned,
    }
}

/// A record to append (to a sink or repartition topic), with its target partition and the
/// place of the row that made it in event-time order.
#[derive(Debug)]
pub struct Encoded {
    pub(crate) order: (i64, u32, u64),
    pub(crate) target: u32,
    pub(crate) record: SinkRecord,
}

/// A transient aggregating query over a bounded input: runs to the end, closes its windows
/// (the input is over) and returns the rows merged by event time across tasks. `prefix`
/// begins the names of its internal topics, removed at its end.
pub fn run_transient(
    runtime: &tokio::runtime::Runtime,
    log: &LogHandle,
    plan: &QueryPlan,
    prefix: &str,
    start_at_end: bool,
    progress: Option<Arc<super::output::Progress>>,
) -> ExecResult<(Vec<OutputRow>, TaskStats)> {
    let mut stages = transient_stages(log, plan, prefix, start_at_end, progress)?;
    let mut stats = TaskStats::default();
    let rows = run_collect(runtime, log, &mut stages, true, &mut stats);
    remove_internal_topics(log, &stages);
    Ok((rows?, stats))
}

/// Removes the internal topics a transient query's stages read.
pub(crate) fn remove_internal_topics(log: &LogHandle, stages: &[Stage]) {
    for s in stages.iter().skip(1) {
        let _ = log.delete_topic(&s.input_topic);
    }
    for topic in stages
        .iter()
        .filter_map(|s| s.join.as_ref())
        .flat_map(|j| &j.internal_topics)
    {
        let _ = log.delete_topic(topic);
    }
}

/// The stages of a transient query, starting at its inputs' beginning or, with
/// `start_at_end`, at their high watermarks.
pub(crate) fn transient_stages(
    log: &LogHandle,
    plan: &QueryPlan,
    prefix: &str,
    start_at_end: bool,
    progress: Option<Arc<super::output::Progress>>,
) -> ExecResult<Vec<Stage>> {
    let mut stages = build_stages(plan, log, prefix)?;
    for s in &mut stages {
        s.progress = progress.clone();
        // (an aggregation's join: what it writes is the aggregation's input)
        if let StageKind::Joined(query) = &*s.kind {
            let start = if start_at_end {
                StartAt::Latest
            } else {
                StartAt::Earliest
            };
            let naming = super::operators::join::Naming::transient(log);
            s.join = Some(super::operators::join::build(log, query, start, &naming)?);
        }
    }
    if start_at_end {
        let topic = stages[0].input_topic.clone();
        for slot in &mut stages[0].tasks {
            let Offsets {
                high_watermark: hw, ..
            } = log.offsets(&topic, slot.partition)?;
            slot.offset = hw;
        }
    }
    Ok(stages)
}

/// Are these stages a transient query can run (not a join whose rows go to a sink; an
/// aggregation's join writes to the aggregation's internal topic)?
pub(crate) fn collectable(stages: &[Stage]) -> bool {
    !stages
        .iter()
        .any(|s| matches!(&*s.kind, StageKind::Joined(_)) && s.into.is_none())
}

/// Runs a transient query's stages to the current end of their inputs; the rows of the
/// last stage, merged across its tasks. With `close`, open windows close. Called again,
/// the stages go on from where they stopped, with their state.
pub(crate) fn run_collect(
    runtime: &tokio::runtime::Runtime,
    log: &LogHandle,
    stages: &mut [Stage],
    close: bool,
    stats: &mut TaskStats,
) -> ExecResult<Vec<OutputRow>> {
    let last = stages.len() - 1;
    let mut rows = Vec::new();
    for (i, stage) in stages.iter_mut().enumerate() {
        if let StageKind::Joined(_) = &*stage.kind {
            let (Some(join), Some(into)) = (stage.join.as_mut(), stage.into.clone()) else {
                return Err(ExecError::internal(
                    "a join runs only as a persistent query with a sink",
                ));
            };
            stats.merge(join.run(runtime, log, false, into, true)?.stats);
            continue;
        }
        let collected = run_stage(runtime, log, stage, None, close && i == last, stats)?;
        if i == last {
            rows = collected;
        }
    }
    Ok(rows)
}

/// A running persistent query.
#[derive(Debug)]
pub struct Running {
    pub id: String,
    pub sink_name: String,
    pub sink_topic: String,
    pub text: String,
    pub windowed: bool,
    /// Its plan, for `EXPLAIN <query id>`.
    pub plan: QueryPlan,
    /// The streams and tables it reads.
    pub inputs: Vec<String>,
    pub(crate) stages: Vec<Stage>,
    pub(crate) sink: Arc<SinkWriter>,
    pub stats: TaskStats,
    pub internal_topic: Option<String>,
    /// The consumer group whose committed offsets are this query's positions.
    pub group: Option<String>,
    /// The last state snapshot of each stateful task in its changelog: (stage, partition)
    /// to (generation, chunks, input offset).
    pub(crate) snapshots: BTreeMap<(usize, u32), (u64, u32, u64)>,
    /// This process's share of the query, when other processes run it too (`share.rs`);
    /// None: every task is this process's.
    pub share: Option<super::share::Share>,
}

/// A FileStreamSink connector: appends a topic's values to a file, one per line.
#[derive(Debug)]
pub struct FileSink {
    pub name: String,
    pub topic: String,
    pub file: std::path::PathBuf,
    offsets: Vec<u64>,
}

/// The persistent queries and connectors of a session.
#[derive(Debug, Default)]
pub struct Registry {
    pub queries: Vec<Running>,
    pub sinks: Vec<FileSink>,
    /// (name, type, class, topic) of every connector created, for SHOW CONNECTORS.
    pub connectors: Vec<(String, String, String, String)>,
    /// Windowed sink topics, so that PRINT can show their windows.
    pub windowed_topics: BTreeMap<String, WindowType>,
    /// ksqlDB numbers queries by the position of their statement among the commands.
    pub command_seq: u64,
}

impl Registry {
    /// The id the next persistent query started gets (ksqlDB's: its kind, its sink, the
    /// position of its statement among the commands).
    pub fn next_id(&self, plan: &PersistentPlan) -> String {
        match plan.kind {
            PersistentKind::Insert => format!("INSERTQUERY_{}", self.command_seq),
            k => format!(
                "{}_{}_{}",
                k.prefix(),
                plan.sink.name.to_ascii_uppercase(),
                self.command_seq
            ),
        }
    }

    /// Starts the persistent query `plan`; `shared`: processes of the application will
    /// share it (`exec/share.rs`), so its foreign-key joins are built one task per left
    /// partition, the form whose tasks can move.
    pub fn start(
        &mut self,
        plan: &PersistentPlan,
        log: &LogHandle,
        from_end: bool,
        shared: bool,
    ) -> ExecResult<String> {
        let id = self.next_id(plan);
        self.command_seq += 1;
        let prefix = super::naming::query_prefix(log.application_id(), &id);
        let mut stages = build_stages(&plan.query, log, &prefix)?;
        if from_end {
            let topic = stages[0].input_topic.clone();
            for slot in &mut stages[0].tasks {
                slot.offset = log.offsets(&topic, slot.partition)?.high_watermark;
            }
        }
        for stage in &mut stages {
            if let StageKind::Joined(query) = &*stage.kind {
                let naming = super::operators::join::Naming::persistent(log, &id, log.is_durable())
                    .splitting_foreign_keys(shared);
                let start = if from_end {
                    StartAt::Latest
                } else {
                    StartAt::Earliest
                };
                stage.join = Some(super::operators::join::build(log, query, start, &naming)?);
            }
        }
        let internal_topic = stages.get(1).map(|s| s.input_topic.clone());
        if let Some(w) = plan.window {
            self.windowed_topics.insert(plan.sink.topic.clone(), w);
        }
        self.queries.push(Running {
            id: id.clone(),
            sink_name: plan.sink.name.clone(),
            sink_topic: plan.sink.topic.clone(),
            text: plan.text.clone(),
            plan: plan.query.clone(),
            windowed: plan.window.is_some(),
            inputs: plan
                .query
                .root
                .sources()
                .iter()
                .map(|s| s.name.clone())
                .collect(),
            stages,
            sink: Arc::new(SinkWriter {
                computed_key: !plan.query.partition_by.is_empty(),
                ..SinkWriter::new(&plan.sink, &plan.sink_columns, plan.window).stamped(
                    &plan.sink,
                    &plan.sink_columns,
                    plan.stamp_from_column,
                )
            }),
            stats: TaskStats::default(),
            internal_topic,
            group: None,
            snapshots: BTreeMap::new(),
            share: None,
        });
        let q = self.queries.last_mut().expect("just pushed");
        if log.is_durable() {
            super::state::durable::restore(log, q)?;
        } else {
            // Nothing to restore, but its positions are committed all the same, so
            // SHOW CONSUMER GROUPS and DESCRIBE CONSUMER GROUP show its lag.
            q.group = Some(super::state::durable::group_of(log, &q.id));
        }
        Ok(id)
    }

    /// Runs every query (in the order they started, so a query reading another's sink sees
    /// its output) to the current end of its inputs; `close` closes every open window.
    /// Every query reads its inputs to their current end and commits (state, then
    /// offsets); with `close`, open windows close (the input is over).
    pub fn catch_up(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        log: &LogHandle,
        close: bool,
    ) -> ExecResult<()> {
        self.advance(runtime, log, close)?;
        self.commit(runtime, log, close)
    }

    /// Every query reads its inputs to their current end, without committing (a live run
    /// commits at intervals); sink connectors write what arrived. Returns how many input
    /// records were read.
    pub fn advance(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        log: &LogHandle,
        close: bool,
    ) -> ExecResult<u64> {
        let mut read = 0;
        for i in 0..self.queries.len() {
            let q = &mut self.queries[i];
            let advanced = Self::advance_one(runtime, log, q, close);
            match advanced {
                Ok(n) => read += n,
                Err(e) => {
                    // A failed query stops: its tasks' positions may have moved past the
                    // batch that failed, so running it again would skip or repeat rows.
                    // Its statement stays in the catalog; a restart resumes it from its
                    // last commit.
                    let q = self.queries.remove(i);
                    let stopped = format!(
                        "query {} was stopped; on a data directory it resumes from its last \
                         commit the next time the directory is opened",
                        q.id
                    );
                    return Err(match e {
                        ExecError::Runtime { code, message } => ExecError::Runtime {
                            code,
                            message: format!("{message} ({stopped})"),
                        },
                        ExecError::Diagnosed(d) => ExecError::Diagnosed(d.note(stopped)),
                        other => other,
                    });
                }
            }
        }
        for s in &mut self.sinks {
            s.catch_up(log)?;
        }
        Ok(read)
    }

    /// One query reads its inputs to their current end; how many input records it read.
    fn advance_one(
        runtime: &tokio::runtime::Runtime,
        log: &LogHandle,
        q: &mut Running,
        close: bool,
    ) -> ExecResult<u64> {
        super::share::refresh(log, q).map_err(|e| format!("query {}: {e}", q.id))?;
        Self::run_stages(runtime, log, q, 0, close, true)
    }

    /// The stages of a query from `first` on read their inputs to their current end; how
    /// many input records they read. Without `feed`, a join's feeders do not run (only
    /// the tasks that read what they wrote).
    fn run_stages(
        runtime: &tokio::runtime::Runtime,
        log: &LogHandle,
        q: &mut Running,
        first: usize,
        close: bool,
        feed: bool,
    ) -> ExecResult<u64> {
        {
            // A shared query under exactly-once writes in its member's transaction.
            let log = &q
                .share
                .as_ref()
                .and_then(|s| s.writer())
                .unwrap_or_else(|| log.clone());
            let last = q.stages.len() - 1;
            let before = q.stats.records_read;
            for (i, stage) in q.stages.iter_mut().enumerate().skip(first) {
                // Tasks another process runs wait aside.
                let (mine, others): (Vec<TaskSlot>, Vec<TaskSlot>) =
                    std::mem::take(&mut stage.tasks).into_iter().partition(|t| {
                        super::share::runs(q.share.as_ref(), &stage.input_topic, t.partition)
                    });
                stage.tasks = mine;
                let close = close && i == last;
                let ran = if let StageKind::Joined(_) = &*stage.kind {
                    run_joined(runtime, log, stage, &q.sink, close, feed, &mut q.stats)
                } else {
                    run_stage(runtime, log, stage, Some(&q.sink), close, &mut q.stats).map(drop)
                };
                stage.tasks.extend(others);
                stage.tasks.sort_by_key(|t| t.partition);
                ran.map_err(|e| e.context(format!("query {} failed", q.id)))?;
            }
            Ok(q.stats.records_read - before)
        }
    }

    /// Every durable query saves its state, then the offsets that state reflects.
    ///
    /// Under exactly-once, what a query's first stage (or a join's feeders) wrote to its
    /// internal topic becomes readable (read_committed) only once the transaction holding
    /// it is committed: the stages after it (the join's tasks) then read it at once and
    /// commit again, so each commit's results reflect every input record it consumed,
    /// instead of trailing one commit behind (and the last commit's records waiting for
    /// the next process that runs the query).
    pub fn commit(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        log: &LogHandle,
        close: bool,
    ) -> ExecResult<()> {
        for q in &mut self.queries {
            if q.group.is_none() {
                continue;
            }
            Self::commit_one(log, q, close)?;
            let transactional = q.share.as_ref().is_some_and(|s| s.writer().is_some());
            if !transactional {
                continue;
            }
            let fed_join = q
                .stages
                .iter()
                .any(|s| s.join.as_ref().is_some_and(|j| j.has_feeders()));
            let next = if q.stages.len() > 1 {
                Some(1)
            } else {
                fed_join.then_some(0)
            };
            if let Some(first) = next {
                if Self::run_stages(runtime, log, q, first, close, false)? > 0 {
                    Self::commit_one(log, q, close)?;
                }
            }
        }
        Ok(())
    }

    fn commit_one(log: &LogHandle, q: &mut Running, close: bool) -> ExecResult<()> {
        let log = &q
            .share
            .as_ref()
            .and_then(|s| s.writer())
            .unwrap_or_else(|| log.clone());
        // State snapshots serve a restart, which only a data directory has.
        if log.is_durable() {
            super::state::durable::snapshot(log, q).map_err(|e| {
                ExecError::from(e).context(format!("query {}: cannot write its state", q.id))
            })?;
        }
        super::state::durable::commit(log, q, close)
            .and_then(|()| super::share::commit_transaction(q))
            .map_err(|e| {
                let e = match joined_meanwhile(log, q) {
                    Some(why) => format!("{e}: {why}"),
                    None => e,
                };
                ExecError::from(e).context(format!("query {}: cannot commit its offsets", q.id))
            })
    }

    /// Leaves the queries' state (join tables and buffers, aggregation groups) to the
    /// operating system when the process is about to exit: freeing millions of rows one by
    /// one took longer than restoring them. Nothing of the state is lost; it is in the
    /// changelogs, and the log itself is closed normally.
    pub fn leak_state_at_exit(&mut self) {
        for q in &mut self.queries {
            for stage in &mut q.stages {
                std::mem::forget(stage.join.take());
                for slot in &mut stage.tasks {
                    std::mem::forget(slot.agg.take());
                }
            }
        }
    }

    pub fn terminate(&mut self, id: Option<&str>) -> Result<Vec<String>, String> {
        let ids: Vec<String> = match id {
            None => self.queries.iter().map(|q| q.id.clone()).collect(),
            Some(id) => {
                if !self.queries.iter().any(|q| q.id == id) {
                    return Err(id.to_string());
                }
                vec![id.to_string()]
            }
        };
        self.queries.retain(|q| !ids.contains(&q.id));
        Ok(ids)
    }

    /// Queries that write or read a stream or table (DROP refuses while there are any).
    pub fn users_of(&self, name: &str) -> Vec<String> {
        self.queries
            .iter()
            .filter(|q| q.sink_name == name || q.inputs.iter().any(|i| i == name))
            .map(|q| q.id.clone())
            .collect()
    }
}

impl FileSink {
    pub fn new(
        name: &str,
        topic: &str,
        file: std::path::PathBuf,
        log: &LogHandle,
    ) -> Result<FileSink, String> {
        let n = log
            .partition_count(topic)
            .ok_or_else(|| format!("topic '{topic}' does not exist"))?;
        std::fs::write(&file, b"").map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        Ok(FileSink {
            name: name.to_string(),
            topic: topic.to_string(),
            file,
            offsets: vec![0; n as usize],
        })
    }

    /// Appends the records added since the last call, partition by partition.
    pub fn catch_up(&mut self, log: &LogHandle) -> Result<(), String> {
        use std::io::Write;
        let f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.file)
            .map_err(|e| format!("cannot write {}: {e}", self.file.display()))?;
        let mut w = std::io::BufWriter::new(f);
        for (p, offset) in self.offsets.iter_mut().enumerate() {
            let Offsets {
                log_start: start,
                high_watermark: end,
                ..
            } = log
                .offsets(&self.topic, p as u32)
                .map_err(|e| e.to_string())?;
            *offset = (*offset).max(start);
            *offset = read_partition(log, &self.topic, p as u32, *offset, end, |r| {
                match r.value {
                    Some(v) => w
                        .write_all(v)
                        .and_then(|_| w.write_all(b"\n"))
                        .map_err(|e| e.to_string()),
                    None => Ok(()),
                }
            })?;
        }
        w.flush().map_err(|e| e.to_string())
    }
}
