//! A join of joins: the inner join runs to its end (through the same tasks as any join)
//! and its rows are written to an internal topic, each row's fields a JSON object
//! `{"C0": .., "C1": ..}` (positions, since two sources may share column names). Rows are
//! keyed by the outer join's key when given, so the partitioner co-partitions them with
//! the outer join's other side; otherwise each stays on its task's partition. The outer
//! join then reads the topic as a source whose row is the inner join's row.

use std::sync::Arc;

use bytes::Bytes;
use kql_runtime::{Acks, Cluster, ProducerRecord, TopicConfig};

use super::key_bytes;
use crate::data::{SqlType, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::exec::eval::eval;
use crate::exec::format::json::encode_object;
use crate::exec::output::Progress;
use crate::exec::physical::StartAt;
use crate::plan::catalog::Format;
use crate::plan::expr::{TExpr, TypedExpr};
use crate::plan::logical::{LogicalPlan, OutputColumn, Project, ProjectItem, QueryPlan, Source};
use crate::plan::schema::{Field, Schema};
use crate::syntax::ast::{EmitKind, SourceKind};
use crate::syntax::span::Span;

/// Rows written to the internal topic at once.
const WRITE_ROWS: usize = 8192;

#[allow(clippy::too_many_arguments)]
pub fn run(
    runtime: &tokio::runtime::Runtime,
    cluster: &Cluster,
    inner: &LogicalPlan,
    key: Option<(&TypedExpr, Format)>,
    partitions: u32,
    topic: &str,
    start: StartAt,
    internal_topics: &mut Vec<String>,
) -> Result<Source, Diagnostic> {
    let fail = |e: String| {
        Diagnostic::new(
            Code::TopicError,
            format!("the inner join of this query failed: {e}"),
        )
    };
    let fields: Vec<Field> = inner
        .sources()
        .iter()
        .flat_map(|s| s.schema.fields.iter().cloned())
        .collect();
    let names: Vec<String> = (0..fields.len()).map(|i| format!("C{i}")).collect();
    let items = fields
        .iter()
        .enumerate()
        .map(|(i, f)| ProjectItem {
            name: names[i].clone(),
            expr: TypedExpr {
                kind: TExpr::Column(i),
                ty: f.ty.clone(),
                span: Span::default(),
            },
            text: f.name.clone(),
        })
        .collect();
    let columns = fields
        .iter()
        .zip(&names)
        .map(|(f, n)| OutputColumn {
            name: n.clone(),
            ty: f.ty.clone(),
        })
        .collect();
    let plan = QueryPlan {
        root: LogicalPlan::Project(Project {
            input: Box::new(inner.clone()),
            items,
        }),
        columns,
        emit: EmitKind::Changes,
        limit: None,
        partition_by: Vec::new(),
    };
    let (tasks, topics) = crate::exec::physical::tasks_and_topics(runtime, cluster, &plan, start)?;
    internal_topics.extend(topics);
    cluster
        .create_topic(
            topic,
            TopicConfig {
                partitions,
                ..TopicConfig::default()
            },
        )
        .map_err(|e| fail(e.to_string()))?;
    let types: Vec<SqlType> = fields.iter().map(|f| f.ty.clone()).collect();
    let mut pending: Vec<Vec<ProducerRecord>> = vec![Vec::new(); partitions as usize];
    let mut waiting = 0usize;
    let mut error = None;
    let mut value = Vec::new();
    let flush = |pending: &mut Vec<Vec<ProducerRecord>>| -> Result<(), String> {
        for (p, batch) in pending.iter_mut().enumerate() {
            if !batch.is_empty() {
                cluster
                    .produce_batch(topic, p as u32, std::mem::take(batch), Acks::All)
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    };
    let result =
        crate::exec::query::run_bounded(runtime, tasks, &Arc::new(Progress::default()), |row| {
            let key = key.and_then(|(expr, format)| {
                let v: Value = eval(expr, &row.values);
                let ty = if expr.ty == SqlType::Null {
                    SqlType::String
                } else {
                    expr.ty.clone()
                };
                key_bytes(format, &ty, &v)
            });
            let partition = match &key {
                Some(k) => cluster.partition_for(topic, Some(k)).unwrap_or(0),
                None => row.partition % partitions,
            };
            value.clear();
            let cols: Vec<(&str, &SqlType, &Value)> = names
                .iter()
                .zip(&types)
                .zip(&row.values)
                .map(|((n, t), v)| (n.as_str(), t, v))
                .collect();
            encode_object(&cols, &mut value);
            pending[partition as usize].push(ProducerRecord {
                key,
                value: Some(Bytes::copy_from_slice(&value)),
                timestamp_ms: Some(row.event_time_ms),
                partition: None,
                headers: Vec::new(),
            });
            waiting += 1;
            if waiting >= WRITE_ROWS {
                waiting = 0;
                if let Err(e) = flush(&mut pending) {
                    error = Some(e);
                    return false;
                }
            }
            true
        });
    result.map_err(fail)?;
    if let Some(e) = error {
        return Err(fail(e));
    }
    flush(&mut pending).map_err(fail)?;
    let schema = Schema {
        fields: fields
            .iter()
            .zip(&names)
            .map(|(f, n)| Field {
                qualifiers: Vec::new(),
                name: n.clone(),
                ty: f.ty.clone(),
                pseudo: f.pseudo,
            })
            .collect(),
    };
    Ok(Source {
        name: "JOIN".into(),
        topic: topic.to_string(),
        partitions,
        key_format: Format::Kafka,
        value_format: Format::Json,
        schema,
        key_count: 0,
        timestamp_column: None,
        timestamp_format: None,
        window: None,
        kind: SourceKind::Stream,
        span: Span::default(),
    })
}
