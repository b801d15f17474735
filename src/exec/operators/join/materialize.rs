//! A join of joins: the inner join runs (through the same tasks as any join, before the
//! outer join's tasks at each run) and its rows are written to an internal topic, each row's fields a JSON object
//! `{"C0": .., "C1": ..}` (positions, since two sources may share column names). Rows are
//! keyed by the outer join's key when given, so the partitioner co-partitions them with
//! the outer join's other side; otherwise each stays on its task's partition. The outer
//! join then reads the topic as a source whose row is the inner join's row.

use std::collections::HashSet;

use crate::data::SqlType;
use crate::exec::log::LogHandle;
use bytes::Bytes;

use super::live::{LiveJoin, RowEncoder};
use super::Naming;
use crate::diagnostic::Diagnostic;
use crate::exec::operators::pipeline::Operators;
use crate::exec::persistent::Encoded;
use crate::exec::physical::{NodeId, PhysicalPlan, Repartition, StartAt};
use crate::exec::sinks::repartition::RepartitionWriter;
use crate::exec::task::OutputRow;
use crate::plan::catalog::Format;
use crate::plan::expr::{TExpr, TypedExpr};
use crate::plan::logical::Source;
use crate::plan::schema::{Field, Schema};
use crate::syntax::ast::SourceKind;
use crate::syntax::span::Span;

/// The inner join's rows as records of the internal topic: the repartition operator's
/// records (`RepartitionWriter`), which every internal topic's records are.
#[derive(Debug)]
pub struct InnerWriter {
    writer: RepartitionWriter,
    /// Records written after the last commit of a query that crashed: not written again.
    pub(super) skip: HashSet<Bytes>,
}

impl InnerWriter {
    pub(crate) fn new(writer: RepartitionWriter) -> InnerWriter {
        InnerWriter {
            writer,
            skip: HashSet::new(),
        }
    }
}

impl RowEncoder for InnerWriter {
    fn topic(&self) -> &str {
        &self.writer.topic
    }

    fn skip_written(&mut self, tags: HashSet<Bytes>) {
        self.skip = tags;
    }

    fn encode(
        &self,
        log: &LogHandle,
        rows: Vec<OutputRow>,
        out: &mut Vec<Encoded>,
        _bad: &mut Vec<crate::exec::task::BadRecord>,
    ) -> Result<(), String> {
        self.writer.encode_rows(log, &self.skip, rows, out)
    }
}

/// The inner join of a join of joins (node `inner` of the physical plan), built to write
/// its rows to `topic` as the repartition node `r` says (the topic created here, kept when
/// it exists); returns it, its writer, and the source the outer join reads.
pub fn build(
    log: &LogHandle,
    plan: &PhysicalPlan,
    inner: NodeId,
    r: &Repartition,
    topic: &str,
    start: StartAt,
    naming: &Naming,
) -> Result<(LiveJoin, InnerWriter, Source), Diagnostic> {
    let partitions = r.partitions;
    let fields: Vec<Field> = plan
        .sources(inner)
        .iter()
        .flat_map(|s| s.schema.fields.iter().cloned())
        .collect();
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
        window: None,
    };
    let join = super::build_node(log, plan, inner, ops, start, naming)?;
    super::create_internal_topic(log, topic, partitions)?;
    let writer = InnerWriter::new(RepartitionWriter::new(
        r,
        topic.to_string(),
        row_columns(&fields),
        naming.durable,
    ));
    let source = row_source(&fields, topic, partitions);
    Ok((join, writer, source))
}

/// The columns a join's row is written with: every field, named by its position (`C0`,
/// `C1`, ...: two sources may share column names), with its type and row position.
pub(crate) fn row_columns(fields: &[Field]) -> Vec<(String, SqlType, usize)> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("C{i}"), f.ty.clone(), i))
        .collect()
}

/// A join's rows written to `topic` (`row_columns`), as a source whose row is the join's.
pub(crate) fn row_source(fields: &[Field], topic: &str, partitions: u32) -> Source {
    let schema = Schema::new(
        fields
            .iter()
            .enumerate()
            .map(|(i, f)| Field {
                qualifiers: Vec::new(),
                name: format!("C{i}"),
                ty: f.ty.clone(),
                pseudo: f.pseudo,
            })
            .collect(),
    );
    Source {
        name: "JOIN".into(),
        topic: topic.to_string(),
        partitions,
        key_format: Format::Kafka,
        value_format: Format::Json,
        wrap_single_value: true,
        value_delimiter: ',',
        key_delimiter: ',',
        schema,
        key_count: 0,
        key_positions: Vec::new(),
        headers: Vec::new(),
        timestamp_column: None,
        timestamp_format: None,
        window: None,
        kind: SourceKind::Stream,
        span: Span::default(),
        declared_at: Span::default(),
        partitions_declared: None,
    }
}
