//! Stateless queries: a task decodes each record of its partition, filters and projects.

use crate::exec::log::LogHandle;
use crate::exec::task::RowTask;

use crate::exec::log::LogRecord;

use crate::data::Value;
use crate::exec::decode::SourceDecoder;
use crate::exec::eval::{eval, is_true};
use crate::exec::format::DecodeError;
use crate::exec::physical::{NodeId, Operator, PhysicalPlan};
use crate::exec::task::{BadRecord, OutputRow, PartitionReader, Task, TaskStats};
use crate::plan::expr::{TExpr, TypedExpr};
use crate::plan::logical::{LogicalPlan, Project, Source};
use crate::plan::QueryPlan;

/// Filter and projection of a query, shared by its tasks.
#[derive(Debug, Clone, Default)]
pub struct Operators {
    pub filter: Option<TypedExpr>,
    pub project: Vec<TypedExpr>,
    /// Table function calls: the projection runs once per element (`Project`'s fields).
    pub table_functions: Vec<TypedExpr>,
    pub table_base: usize,
    /// The input row's WINDOWSTART and WINDOWEND, carried to each output row.
    pub window: Option<(usize, usize)>,
}

impl Operators {
    /// Splits `Project(Filter?(input))` into the operators and the input below them.
    pub fn split(plan: &QueryPlan) -> (Operators, &LogicalPlan) {
        let mut ops = Operators::default();
        let mut node = &plan.root;
        loop {
            match node {
                LogicalPlan::Project(p) => {
                    ops.take_project(p);
                    node = &p.input;
                }
                LogicalPlan::Filter(f) => {
                    ops.filter = Some(f.predicate.clone());
                    node = &f.input;
                }
                other => return (ops, other),
            }
        }
    }

    /// The filter and projection between a physical plan's node `top` (its output, say)
    /// and the operator below them, which this returns too.
    pub fn of_physical(plan: &PhysicalPlan, top: NodeId) -> (Operators, NodeId) {
        let mut ops = Operators::default();
        let mut id = top;
        loop {
            let node = plan.node(id);
            match node.operator {
                Operator::Output(_) => {}
                Operator::Project(p) => ops.take_project(p),
                Operator::Filter(f) => ops.filter = Some(f.predicate.clone()),
                _ => return (ops, id),
            }
            id = node.inputs[0].from;
        }
    }

    /// The projection's part of the operators, from a logical or a physical plan's node.
    fn take_project(&mut self, p: &Project) {
        self.project = p.items.iter().map(|i| i.expr.clone()).collect();
        self.table_functions = p.table_functions.clone();
        self.table_base = p.table_base;
        self.window = p.window;
    }

    /// Row positions the operators read.
    pub fn columns(&self) -> Vec<usize> {
        let mut used = Vec::new();
        for e in self
            .filter
            .iter()
            .chain(&self.project)
            .chain(&self.table_functions)
        {
            e.columns(&mut used);
        }
        if !self.table_functions.is_empty() {
            // the table functions' slots are not input columns
            used.retain(|&i| i < self.table_base);
        }
        used.extend(self.window.iter().flat_map(|&(s, e)| [s, e]));
        used
    }

    /// The row positions of the SELECT's items, when each is a column (and no table
    /// function or window makes more of a row): the output row picks them.
    pub fn picks(&self) -> Option<Vec<usize>> {
        if !self.table_functions.is_empty() || self.window.is_some() {
            return None;
        }
        (self.project.iter())
            .map(|e| match e.kind {
                TExpr::Column(i) => Some(i),
                _ => None,
            })
            .collect()
    }

    /// Whether a row passes the filter (WHERE).
    pub fn passes(&self, row: &[Value]) -> bool {
        self.filter.as_ref().is_none_or(|f| is_true(f, row))
    }

    /// Filters and projects one row into `out`.
    #[inline]
    pub fn apply(
        &self,
        row: &[Value],
        event_time_ms: i64,
        partition: u32,
        offset: u64,
        out: &mut Vec<OutputRow>,
    ) {
        if self.filter.as_ref().is_some_and(|f| !is_true(f, row)) {
            return;
        }
        let mut emit =
            |row: &[Value]| self.project_row(row, event_time_ms, partition, offset, false, out);
        if self.table_functions.is_empty() {
            emit(row)
        } else {
            self.unroll(row, emit)
        }
    }

    /// The deletion of a table row: the row as it was (its key columns are what the sink's
    /// key is made of), projected without the filter.
    pub fn apply_tombstone(
        &self,
        row: &[Value],
        event_time_ms: i64,
        partition: u32,
        offset: u64,
        out: &mut Vec<OutputRow>,
    ) {
        self.project_row(row, event_time_ms, partition, offset, true, out)
    }

    /// The SELECT items of `row`, as an output row with the input record's position.
    #[inline]
    fn project_row(
        &self,
        row: &[Value],
        event_time_ms: i64,
        partition: u32,
        offset: u64,
        tombstone: bool,
        out: &mut Vec<OutputRow>,
    ) {
        out.push(OutputRow {
            event_time_ms,
            partition,
            offset,
            values: Default::default(),
            tombstone,
            window: self.window.and_then(|(s, e)| match (&row[s], &row[e]) {
                (Value::Bigint(s), Value::Bigint(e)) => Some((*s, *e)),
                _ => None,
            }),
            headers: None,
        });
        // (the values are made where the row is: made first, they would be moved there,
        // the row's inline values and all)
        let values = &mut out.last_mut().expect("pushed").values;
        values.extend(self.project.iter().map(|e| match &e.kind {
            // (most SELECT items are columns: copied without a call to evaluate them)
            TExpr::Column(i) => row[*i].clone(),
            _ => eval(e, row),
        }));
    }

    /// Projects a row once per element of its table functions' lists (as many rows as
    /// the longest list has elements; a shorter or NULL list gives NULL past its end).
    fn unroll(&self, row: &[Value], mut emit: impl FnMut(&[Value])) {
        let lists: Vec<Value> = self.table_functions.iter().map(|e| eval(e, row)).collect();
        let elements = |v: &Value| match v {
            Value::Array(items) => items.len(),
            _ => 0,
        };
        let rows = lists.iter().map(elements).max().unwrap_or(0);
        let mut scope = Vec::with_capacity(self.table_base + lists.len());
        scope.extend_from_slice(&row[..self.table_base.min(row.len())]);
        scope.resize(self.table_base, Value::Null);
        scope.resize(self.table_base + lists.len(), Value::Null);
        for j in 0..rows {
            for (k, list) in lists.iter().enumerate() {
                scope[self.table_base + k] = match list {
                    Value::Array(items) => items.get(j).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
            }
            emit(&scope);
        }
    }
}

/// Gives the rows made from record `r` its headers (nothing to do for the many records
/// without any).
fn carry_headers(r: &LogRecord, rows: &mut [OutputRow]) {
    if !rows.is_empty() {
        crate::exec::row_headers::stamp(rows, &crate::exec::row_headers::of_record(r));
    }
}

/// Everything a stateless task needs, built once per query and shared by its tasks.
#[derive(Debug, Clone)]
pub struct StatelessPipeline {
    pub source: Source,
    decoder: SourceDecoder,
    ops: Operators,
    /// A record with no value goes on as a record with no value (ksqlDB projects a null
    /// row to a null row; on a table it deletes the key), unless WHERE or a table function
    /// reads the row: WHERE drops it, as ksqlDB's filter does.
    pass_null_values: bool,
    /// The source is a table: a record without a key is no row of it, and is skipped.
    table: bool,
    /// The output columns of PARTITION BY's key that read more than the source's key
    /// columns: a stream record without a value gives them NULL, as ksqlDB computes them
    /// from no value (a key made of the source's key columns alone is computed).
    null_without_value: Vec<usize>,
}

impl StatelessPipeline {
    /// None when the plan is not a stateless Source-Filter-Project chain.
    pub fn new(plan: &QueryPlan) -> Option<StatelessPipeline> {
        let (ops, input) = Operators::split(plan);
        let LogicalPlan::Source(source) = input else {
            return None;
        };
        // The operators are all that reads the row: other value columns are only checked.
        let read = ops.columns();
        let decoder = SourceDecoder::new(source, 0).reading_only(|pos| read.contains(&pos));
        let pass_null_values = ops.filter.is_none() && ops.table_functions.is_empty();
        let table = source.kind != crate::syntax::ast::SourceKind::Stream;
        let null_without_value = plan
            .partition_by
            .iter()
            .copied()
            .filter(|&i| {
                let mut read = Vec::new();
                ops.project[i].columns(&mut read);
                read.iter().any(|p| !source.key_positions.contains(p))
            })
            .collect();
        Some(StatelessPipeline {
            source: source.clone(),
            decoder,
            ops,
            pass_null_values,
            table,
            null_without_value,
        })
    }

    /// Processes a batch of records of one partition, appending output rows and bad
    /// records; a batch the log cannot read is an error.
    pub fn process<'a>(
        &self,
        partition: u32,
        records: impl IntoIterator<Item = Result<LogRecord<'a>, String>>,
        row: &mut Vec<Value>,
        out: &mut Vec<OutputRow>,
        bad: &mut Vec<BadRecord>,
    ) -> Result<(), String> {
        for r in records {
            let r = &r?;
            if self.table && r.key.is_none() {
                bad.push(BadRecord {
                    topic: self.decoder.topic.clone(),
                    partition,
                    offset: r.offset,
                    reason: "a table's record needs a key".into(),
                });
                continue;
            }
            // A successful decode sets every column the query reads; only a missing key
            // leaves key columns to reset.
            if row.len() != self.source.schema.len() || r.key.is_none() {
                row.clear();
                row.resize(self.source.schema.len(), Value::Null);
            }
            let first = out.len();
            match self.decoder.decode(partition, r, row) {
                Ok(Some(event_time_ms)) => {
                    self.ops.apply(row, event_time_ms, partition, r.offset, out)
                }
                Ok(None) if self.pass_null_values => {
                    self.ops
                        .apply_tombstone(row, r.timestamp_ms, partition, r.offset, out);
                    if let Some(last) = out.last_mut() {
                        for &i in &self.null_without_value {
                            last.values[i] = Value::Null;
                        }
                    }
                }
                Ok(None) => {}
                Err(DecodeError(reason)) => bad.push(BadRecord {
                    topic: self.decoder.topic.clone(),
                    partition,
                    offset: r.offset,
                    reason,
                }),
            }
            carry_headers(r, &mut out[first..]);
        }
        Ok(())
    }

    /// One task per partition range.
    pub fn tasks(
        self: &std::sync::Arc<Self>,
        log: &LogHandle,
        ranges: Vec<crate::exec::task::PartitionRange>,
    ) -> Vec<RowTask> {
        ranges
            .into_iter()
            .map(|range| {
                Box::new(StatelessTask {
                    pipeline: self.clone(),
                    reader: PartitionReader::new(log.clone(), self.source.topic.clone(), range),
                    row: Vec::new(),
                    stats: TaskStats::default(),
                }) as RowTask
            })
            .collect()
    }
}

struct StatelessTask {
    pipeline: std::sync::Arc<StatelessPipeline>,
    reader: PartitionReader,
    row: Vec<Value>,
    stats: TaskStats,
}

impl Task for StatelessTask {
    type Item = OutputRow;

    fn next_batch(&mut self, out: &mut Vec<OutputRow>) -> crate::exec::error::ExecResult<bool> {
        let partition = self.reader.range.partition;
        let before = self.reader.records_read();
        let Some(records) = self.reader.next_batch()? else {
            return Ok(false);
        };
        let mut bad = Vec::new();
        let result = self
            .pipeline
            .process(partition, records, &mut self.row, out, &mut bad);
        self.stats.records_read += self.reader.records_read() - before;
        self.stats.add_bad(bad);
        result?;
        Ok(true)
    }

    fn stats(&mut self) -> TaskStats {
        std::mem::take(&mut self.stats)
    }
}
