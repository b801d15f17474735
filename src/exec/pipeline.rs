//! The physical form of a stateless query: what one task does to each batch of records of
//! its partition. Decode key and value into a row (only the columns the query reads), set
//! the pseudo-columns, filter, project.

use kql_runtime::Record;

use super::eval::{eval, is_true};
use super::format::{key, DecodeError, ValueDecoder};
use crate::data::Value;
use crate::plan::catalog::Format;
use crate::plan::expr::TypedExpr;
use crate::plan::logical::{LogicalPlan, Source};
use crate::plan::schema::{ROWOFFSET, ROWPARTITION, ROWTIME};
use crate::plan::QueryPlan;

/// A row the query produced, with where it came from (for ordering and reports).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRow {
    pub event_time_ms: i64,
    pub partition: u32,
    pub offset: u64,
    pub values: Vec<Value>,
}

/// A record that could not be processed.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRecord {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub reason: String,
}

/// Everything a task needs to turn records into output rows. Built once per query, shared
/// by its tasks (it holds no per-task state).
#[derive(Debug, Clone)]
pub struct StatelessPipeline {
    pub topic: String,
    row_width: usize,
    key_format: Format,
    key_columns: Vec<(String, crate::data::SqlType, usize)>,
    values: ValueDecoder,
    has_value_columns: bool,
    timestamp_column: Option<usize>,
    timestamp_name: String,
    filter: Option<TypedExpr>,
    project: Vec<TypedExpr>,
}

impl StatelessPipeline {
    /// None when the plan is not a stateless Source-Filter-Project chain.
    pub fn new(plan: &QueryPlan) -> Option<StatelessPipeline> {
        let mut filter = None;
        let mut project = Vec::new();
        let mut node = &plan.root;
        let source: &Source = loop {
            match node {
                LogicalPlan::Project(p) => {
                    project = p.items.iter().map(|i| i.expr.clone()).collect();
                    node = &p.input;
                }
                LogicalPlan::Filter(f) => {
                    filter = Some(f.predicate.clone());
                    node = &f.input;
                }
                LogicalPlan::Source(s) => break s,
                _ => return None,
            }
        };
        // Decode only the columns some expression reads (and the event-time column).
        let mut used = Vec::new();
        for e in filter.iter().chain(project.iter()) {
            e.columns(&mut used);
        }
        used.extend(source.timestamp_column);
        let n_pseudo = crate::plan::schema::PSEUDO_COLUMNS.len();
        let n_keys = source.schema.fields.len() - n_pseudo - count_values(source);
        let mut key_columns = Vec::new();
        let mut value_columns = Vec::new();
        for (pos, f) in source.schema.fields.iter().enumerate().skip(n_pseudo) {
            let col = (f.name.clone(), f.ty.clone(), pos);
            if pos < n_pseudo + n_keys {
                if used.contains(&pos) {
                    key_columns.push(col);
                }
            } else if used.contains(&pos) || source.value_format == Format::Delimited {
                // DELIMITED fields are positional: decode them all
                value_columns.push(col);
            }
        }
        Some(StatelessPipeline {
            topic: source.topic.clone(),
            row_width: source.schema.fields.len(),
            key_format: source.key_format,
            key_columns,
            has_value_columns: count_values(source) > 0,
            values: ValueDecoder::new(source.value_format, value_columns),
            timestamp_column: source.timestamp_column,
            timestamp_name: source
                .timestamp_column
                .map_or_else(String::new, |i| source.schema.fields[i].name.clone()),
            filter,
            project,
        })
    }

    /// Processes a batch of records of one partition, appending output rows and bad records.
    pub fn process(
        &self,
        partition: u32,
        records: &[Record],
        row: &mut Vec<Value>,
        out: &mut Vec<OutputRow>,
        bad: &mut Vec<BadRecord>,
    ) {
        for r in records {
            row.clear();
            row.resize(self.row_width, Value::Null);
            match self.decode(partition, r, row) {
                Ok(Some(event_time_ms)) => {
                    if self.filter.as_ref().is_some_and(|f| !is_true(f, row)) {
                        continue;
                    }
                    out.push(OutputRow {
                        event_time_ms,
                        partition,
                        offset: r.offset,
                        values: self.project.iter().map(|e| eval(e, row)).collect(),
                    });
                }
                Ok(None) => {}
                Err(DecodeError(reason)) => bad.push(BadRecord {
                    topic: self.topic.clone(),
                    partition,
                    offset: r.offset,
                    reason,
                }),
            }
        }
    }

    /// Fills the row; returns its event time, or None for a record a stream skips (a tombstone).
    fn decode(
        &self,
        partition: u32,
        r: &Record,
        row: &mut [Value],
    ) -> Result<Option<i64>, DecodeError> {
        row[ROWTIME] = Value::Bigint(r.timestamp_ms);
        row[ROWPARTITION] = Value::Int(partition as i32);
        row[ROWOFFSET] = Value::Bigint(r.offset as i64);
        if let Some(k) = &r.key {
            key::decode_key(self.key_format, k, &self.key_columns, row)?;
        }
        match &r.value {
            Some(v) => self.values.decode(v, row)?,
            None if self.has_value_columns => return Ok(None),
            None => {}
        }
        let event_time_ms = match self.timestamp_column {
            None => r.timestamp_ms,
            Some(pos) => match &row[pos] {
                Value::Bigint(ms) | Value::Timestamp(ms) => *ms,
                Value::Null => {
                    return Err(DecodeError(format!(
                        "the timestamp column {} is missing",
                        self.timestamp_name
                    )))
                }
                other => {
                    return Err(DecodeError(format!(
                        "the timestamp column {} holds {other}, not a time",
                        self.timestamp_name
                    )))
                }
            },
        };
        Ok(Some(event_time_ms))
    }
}

fn count_values(s: &Source) -> usize {
    // Value columns are those not pseudo and not key; the catalog put keys first.
    s.schema.fields.len() - crate::plan::schema::PSEUDO_COLUMNS.len() - s.key_count
}
