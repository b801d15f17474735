//! A join of joins: the inner join runs (through the same tasks as any join, before the
//! outer join's tasks at each run) and its rows are written to an internal topic, each row's fields a JSON object
//! `{"C0": .., "C1": ..}` (positions, since two sources may share column names). Rows are
//! keyed by the outer join's key when given, so the partitioner co-partitions them with
//! the outer join's other side; otherwise each stays on its task's partition. The outer
//! join then reads the topic as a source whose row is the inner join's row.

use std::collections::HashSet;

use crate::exec::log::{LogHandle, ProducerRecord};
use bytes::Bytes;

use super::live::{LiveJoin, RowEncoder};
use super::{key_bytes, Naming};
use crate::data::{SqlType, Value};
use crate::diagnostic::Diagnostic;
use crate::exec::durable::{tag_headers, Tagger};
use crate::exec::eval::eval;
use crate::exec::format::json::encode_object;
use crate::exec::persistent::Encoded;
use crate::exec::physical::{NodeId, PhysicalPlan, StartAt};
use crate::exec::pipeline::Operators;
use crate::exec::task::OutputRow;
use crate::plan::catalog::Format;
use crate::plan::expr::{TExpr, TypedExpr};
use crate::plan::logical::Source;
use crate::plan::schema::{Field, Schema};
use crate::syntax::ast::SourceKind;
use crate::syntax::span::Span;

/// Encodes the inner join's rows as records of the internal topic.
pub struct InnerWriter {
    topic: String,
    names: Vec<String>,
    types: Vec<SqlType>,
    /// The outer join's key, its encoded type, and its format.
    key: Option<(TypedExpr, SqlType, Format)>,
    partitions: u32,
    tagged: bool,
    /// Records written after the last commit of a query that crashed: not written again.
    pub(super) skip: HashSet<Bytes>,
}

impl RowEncoder for InnerWriter {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn encode(
        &self,
        log: &LogHandle,
        rows: Vec<OutputRow>,
        out: &mut Vec<Encoded>,
        _bad: &mut Vec<crate::exec::task::BadRecord>,
    ) -> Result<(), String> {
        let mut value = Vec::new();
        let mut tagger = Tagger::default();
        for row in rows {
            let tag = self
                .tagged
                .then(|| tagger.tag(&self.topic, row.partition, row.offset));
            if tag.as_ref().is_some_and(|t| self.skip.contains(t)) {
                continue;
            }
            let key = self
                .key
                .as_ref()
                .and_then(|(expr, ty, format)| key_bytes(*format, ty, &eval(expr, &row.values)));
            let target = match &key {
                Some(k) => log
                    .partition_for(&self.topic, Some(k))
                    .map_err(|e| e.to_string())?,
                None => row.partition % self.partitions,
            };
            value.clear();
            let cols: Vec<(&str, &SqlType, &Value)> = self
                .names
                .iter()
                .zip(&self.types)
                .zip(&row.values)
                .map(|((n, t), v)| (n.as_str(), t, v))
                .collect();
            encode_object(&cols, &mut value);
            out.push(Encoded {
                order: (row.event_time_ms, row.partition, row.offset),
                target,
                record: ProducerRecord {
                    key,
                    value: (!row.tombstone).then(|| Bytes::copy_from_slice(&value)),
                    timestamp_ms: Some(row.event_time_ms),
                    partition: None,
                    headers: tag_headers(tag),
                },
            });
        }
        Ok(())
    }
}

/// The inner join of a join of joins (node `inner` of the physical plan), built to write
/// its rows to `topic` (created here, kept when it exists); returns it, its writer, and
/// the source the outer join reads.
#[allow(clippy::too_many_arguments)]
pub fn build(
    log: &LogHandle,
    plan: &PhysicalPlan,
    inner: NodeId,
    key: Option<(&TypedExpr, Format)>,
    partitions: u32,
    topic: &str,
    start: StartAt,
    naming: &Naming,
) -> Result<(LiveJoin, InnerWriter, Source), Diagnostic> {
    let fields: Vec<Field> = plan
        .sources(inner)
        .iter()
        .flat_map(|s| s.schema.fields.iter().cloned())
        .collect();
    let names: Vec<String> = (0..fields.len()).map(|i| format!("C{i}")).collect();
    // Every field of the inner join's row, as it is.
    let ops = Operators {
        filter: None,
        project: fields
            .iter()
            .enumerate()
            .map(|(i, f)| TypedExpr {
                kind: TExpr::Column(i),
                ty: f.ty.clone(),
                span: Span::default(),
            })
            .collect(),
        table_functions: Vec::new(),
        table_base: 0,
    };
    let join = super::build_node(log, plan, inner, ops, start, naming)?;
    super::create_internal_topic(log, topic, partitions)?;
    let writer = InnerWriter {
        topic: topic.to_string(),
        names: names.clone(),
        types: fields.iter().map(|f| f.ty.clone()).collect(),
        key: key.map(|(e, f)| (e.clone(), super::key_type(e), f)),
        partitions,
        tagged: naming.durable,
        skip: HashSet::new(),
    };
    let schema = Schema::new(
        fields
            .iter()
            .zip(&names)
            .map(|(f, n)| Field {
                qualifiers: Vec::new(),
                name: n.clone(),
                ty: f.ty.clone(),
                pseudo: f.pseudo,
            })
            .collect(),
    );
    let source = Source {
        name: "JOIN".into(),
        topic: topic.to_string(),
        partitions,
        key_format: Format::Kafka,
        value_format: Format::Json,
        wrap_single_value: true,
        schema,
        key_count: 0,
        timestamp_column: None,
        timestamp_format: None,
        window: None,
        kind: SourceKind::Stream,
        span: Span::default(),
    };
    Ok((join, writer, source))
}
