//! An aggregation of a join's rows. The join runs as any join does (its tasks, its sides'
//! feeders, its state), and writes every field of its rows to the GROUP BY's internal
//! topic, keyed by the GROUP BY expressions (the repartition operator's records, fields
//! named by their position, as a join of joins writes its inner join's rows). The
//! aggregation then reads that topic as it reads any re-keyed stream.
//!
//! A join of tables makes a table: a row of it changes or is deleted (a tombstone) later.
//! Its rows then go first to a topic of their own, keyed by the join key (the row's
//! identity), which a repartition stage reads as it reads a table: it keeps each row, and
//! writes a retraction of a row's previous values to the GROUP BY's topic before its new
//! ones (ksqlDB's aggregation of a table), which the aggregation applies.

use std::sync::Arc;

use super::error::ExecResult;
use super::log::{LogHandle, TopicConfig};
use super::operators::aggregate::{AggregateSpec, InputKind, InputScanner};
use super::operators::join::{row_columns, row_source, InnerWriter};
use super::persistent::{task_slots, with_agg_state, Stage, StageKind};
use super::physical::Repartition;
use super::sinks::repartition::RepartitionWriter;
use crate::plan::aggregate::Aggregate;
use crate::plan::expr::{TExpr, TypedExpr};
use crate::plan::logical::{LogicalPlan, OutputColumn, Project, ProjectItem, QueryPlan};
use crate::plan::schema::Field;
use crate::syntax::ast::EmitKind;
use crate::syntax::span::Span;

/// The stages of `agg`, whose input (a join, maybe filtered by WHERE) is re-keyed as `r`
/// says into the internal topic named after `prefix` (a join of tables: re-keyed as `rows`
/// says first); `having` and `project` are bound against the aggregate's output row.
pub(crate) fn stages(
    log: &LogHandle,
    agg: &Aggregate,
    r: &Repartition,
    rows: Option<&Repartition>,
    prefix: &str,
    having: Option<TypedExpr>,
    project: Vec<TypedExpr>,
) -> ExecResult<Vec<Stage>> {
    let fields: Vec<Field> = agg
        .input
        .sources()
        .iter()
        .flat_map(|s| s.schema.fields.iter().cloned())
        .collect();
    let topic = format!("{prefix}-{}", r.topic);
    create(log, &topic, r.partitions)?;
    let first_topic = agg
        .input
        .sources()
        .first()
        .map(|s| s.topic.clone())
        .unwrap_or_default();
    let mut join = Stage::new(
        StageKind::Joined(join_rows(&agg.input, &fields)),
        &first_topic,
        Vec::new(),
    );
    let source = row_source(&fields, &topic, r.partitions);
    let mut spec = AggregateSpec::new(
        agg,
        InputScanner::internal(&source, &topic),
        having,
        project,
    );
    let Some(rows) = rows else {
        let writer = RepartitionWriter::new(r, topic.clone(), row_columns(&fields), true);
        join.into = Some(Arc::new(InnerWriter::new(writer)));
        spec.input_kind = InputKind::Stream;
        let aggregate = Stage::new(
            StageKind::Aggregate(spec),
            &topic,
            with_agg_state(task_slots(log, &topic)?),
        );
        return Ok(vec![join, aggregate]);
    };
    // A table's rows: by the join key into their own topic, then retractions and new
    // values by the GROUP BY keys.
    let rows_topic = format!("{prefix}-{}", rows.topic);
    create(log, &rows_topic, rows.partitions)?;
    let writer = RepartitionWriter::new(rows, rows_topic.clone(), row_columns(&fields), true);
    join.into = Some(Arc::new(InnerWriter::new(writer)));
    let retract = Stage::new(
        StageKind::Repartition {
            pipeline: InputScanner::internal(&source, &rows_topic),
            writer: RepartitionWriter::new(r, topic.clone(), row_columns(&fields), true),
            table: true,
        },
        &rows_topic,
        with_agg_state(task_slots(log, &rows_topic)?),
    );
    spec.input_kind = InputKind::Retractions;
    let aggregate = Stage::new(
        StageKind::Aggregate(spec),
        &topic,
        with_agg_state(task_slots(log, &topic)?),
    );
    Ok(vec![join, retract, aggregate])
}

/// Creates an internal topic, or keeps it when it exists (a restarted query's).
fn create(log: &LogHandle, topic: &str, partitions: u32) -> ExecResult<()> {
    if log.partition_count(topic).is_none() {
        log.create_topic(
            topic,
            TopicConfig {
                partitions,
                replicas: 1,
                ..Default::default()
            },
        )?;
    }
    Ok(())
}

/// The join's query: every field of its rows, as they are.
fn join_rows(input: &LogicalPlan, fields: &[Field]) -> QueryPlan {
    let items: Vec<ProjectItem> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| ProjectItem {
            name: format!("C{i}"),
            expr: TypedExpr {
                kind: TExpr::Column(i),
                ty: f.ty.clone(),
                span: Span::default(),
            },
            text: format!("C{i}"),
        })
        .collect();
    QueryPlan {
        columns: items
            .iter()
            .map(|i| OutputColumn {
                name: i.name.clone(),
                ty: i.expr.ty.clone(),
            })
            .collect(),
        root: LogicalPlan::Project(Project {
            input: Box::new(input.clone()),
            items,
            table_functions: Vec::new(),
            table_base: 0,
            window: None,
        }),
        emit: EmitKind::Changes,
        limit: None,
        partition_by: Vec::new(),
        join_key: None,
    }
}
