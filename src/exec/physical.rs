//! Physical planning: which tasks run a logical plan, and over which offsets. A bounded
//! run fixes each input partition's end offset (its high watermark) when the query starts.

use std::sync::Arc;

use crate::exec::log::{LogHandle, Offsets};

use super::pipeline::{Operators, StatelessPipeline};
use super::task::{PartitionRange, Task};
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::logical::{LogicalPlan, Source};
use crate::plan::QueryPlan;

/// Where a new query starts reading its inputs (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Earliest,
    Latest,
}

impl StartAt {
    pub fn from_property(value: Option<&str>) -> StartAt {
        match value {
            Some("latest") => StartAt::Latest,
            _ => StartAt::Earliest,
        }
    }
}

fn topic_error(topic: &str, e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(
        Code::TopicError,
        format!("cannot read topic '{topic}': {e}"),
    )
}

/// The ranges of every partition of a topic: from the start position to the high watermark.
pub fn ranges(
    log: &LogHandle,
    topic: &str,
    start: StartAt,
) -> Result<Vec<PartitionRange>, Diagnostic> {
    let partitions = log
        .partition_count(topic)
        .ok_or_else(|| topic_error(topic, "the topic does not exist"))?;
    (0..partitions)
        .map(|p| {
            let Offsets {
                log_start,
                high_watermark,
                ..
            } = log.offsets(topic, p).map_err(|e| topic_error(topic, e))?;
            let start = if start == StartAt::Latest {
                high_watermark
            } else {
                log_start
            };
            Ok(PartitionRange {
                partition: p,
                start,
                end: high_watermark,
            })
        })
        .collect()
}

/// A query's tasks, and the internal topics made for it.
pub type TasksAndTopics = (Vec<Box<dyn Task>>, Vec<String>);

/// The tasks that run a query's plan, and the internal topics made for it (to remove
/// when a transient query ends).
pub fn tasks_and_topics(
    runtime: &tokio::runtime::Runtime,
    log: &LogHandle,
    plan: &QueryPlan,
    start: StartAt,
) -> Result<TasksAndTopics, Diagnostic> {
    let (_, input) = Operators::split(plan);
    if matches!(
        input,
        LogicalPlan::Join(_) | LogicalPlan::GlobalTableJoin(_)
    ) {
        let j = super::join::tasks(runtime, log, plan, start)?;
        return Ok((j.tasks, j.internal_topics));
    }
    Ok((tasks(runtime, log, plan, start)?, Vec::new()))
}

/// The tasks that run a query's plan.
pub fn tasks(
    _runtime: &tokio::runtime::Runtime,
    log: &LogHandle,
    plan: &QueryPlan,
    start: StartAt,
) -> Result<Vec<Box<dyn Task>>, Diagnostic> {
    let (_, input) = Operators::split(plan);
    match input {
        LogicalPlan::Source(source) => {
            let pipeline = Arc::new(
                StatelessPipeline::new(plan)
                    .ok_or_else(|| Diagnostic::internal("a source plan that is not stateless"))?,
            );
            Ok(pipeline.tasks(log, ranges(log, &source.topic, start)?))
        }
        _ => Err(Diagnostic::new(
            Code::Unsupported,
            "this query compiles (see EXPLAIN) but does not run in this version of kql yet",
        )),
    }
}

/// How many tasks a plan runs, for EXPLAIN.
pub fn task_count(plan: &LogicalPlan) -> u32 {
    match plan {
        LogicalPlan::Source(s) => s.partitions,
        LogicalPlan::Repartition(r) => r.partitions,
        LogicalPlan::GlobalTableJoin(j) => task_count(&j.left),
        LogicalPlan::Join(j) => task_count(&j.right).max(task_count(&j.left)),
        other => other.inputs().first().map_or(1, |i| task_count(i)),
    }
}

/// The sources that feed tasks partition by partition (not broadcast ones).
pub fn partitioned_sources(plan: &LogicalPlan) -> Vec<&Source> {
    match plan {
        LogicalPlan::GlobalTableJoin(j) => partitioned_sources(&j.left),
        LogicalPlan::Source(s) => vec![s],
        other => other
            .inputs()
            .into_iter()
            .flat_map(partitioned_sources)
            .collect(),
    }
}

/// The physical plan in words, for EXPLAIN.
pub fn explain(plan: &LogicalPlan) -> String {
    let mut lines = Vec::new();
    describe(plan, &mut lines);
    let tasks = task_count(plan);
    let inputs: Vec<String> = task_inputs(plan).iter().map(|t| format!("'{t}'")).collect();
    let mut out = format!(
        "  {tasks} task{}; task i reads partition i of {}\n",
        if tasks == 1 { "" } else { "s" },
        inputs.join(" and ")
    );
    for l in lines {
        out.push_str(&format!("  {l}\n"));
    }
    out.push_str(&format!(
        "  records are fetched and processed in batches of up to {}; the rows of all tasks are merged by event time (then partition, offset)\n",
        super::task::FETCH_BATCH_RECORDS
    ));
    out
}

/// The topics the tasks of the outermost join (or scan) read partition by partition: a
/// repartitioned input is read from its internal topic, a broadcast table not at all.
fn task_inputs(plan: &LogicalPlan) -> Vec<&str> {
    match plan {
        LogicalPlan::Source(s) => vec![&s.topic],
        LogicalPlan::Repartition(r) => vec![&r.topic],
        LogicalPlan::GlobalTableJoin(j) => task_inputs(&j.left),
        LogicalPlan::Join(j) => task_inputs(&j.left)
            .into_iter()
            .chain(task_inputs(&j.right))
            .collect(),
        other => other.inputs().into_iter().flat_map(task_inputs).collect(),
    }
}

fn describe(plan: &LogicalPlan, lines: &mut Vec<String>) {
    match plan {
        LogicalPlan::Repartition(r) if !matches!(&*r.input, LogicalPlan::Source(_)) => lines.push(format!(
            "before that, the rows of the inner join are written keyed by {} to the internal topic '{}' ({})",
            r.key_text, r.topic, crate::diagnostic::count(r.partitions, "partition")
        )),
        LogicalPlan::Repartition(r) => {
            let src = r.input.sources();
            lines.push(format!(
                "before the join, {} task(s) read '{}' and write each row keyed by {} to the internal topic '{}' ({})",
                task_count(&r.input),
                src.first().map_or("?", |s| s.topic.as_str()),
                r.key_text,
                r.topic,
                crate::diagnostic::count(r.partitions, "partition")
            ));
        }
        LogicalPlan::Join(j) => {
            let right = j.right.sources();
            let left = j.left.sources();
            match j.kind {
                crate::plan::logical::JoinKind::StreamTable => lines.push(format!(
                    "table {} is materialized per task in a hash map keyed by its primary key; only stream records produce output, processed with the table's records in timestamp order",
                    right.first().map_or("?", |s| s.name.as_str())
                )),
                crate::plan::logical::JoinKind::TableTable => lines.push(format!(
                    "tables {} and {} are materialized per task; an update to either side emits the joined row",
                    left.first().map_or("?", |s| s.name.as_str()),
                    right.first().map_or("?", |s| s.name.as_str())
                )),
                _ => lines.push("each task buffers both streams' records within the join window, keyed by the join key".to_string()),
            }
        }
        LogicalPlan::Aggregate(a) => {
            if a.repartition {
                let src = a.input.sources();
                lines.push(format!(
                    "first, one task per partition of '{}' writes each row keyed by {} to the internal topic '_confluent-ksql-default_query_<query id>-Aggregate-GroupBy-repartition'; the aggregation's tasks read that topic",
                    src.first().map_or("?", |s| s.topic.as_str()),
                    a.keys.iter().map(|k| k.text.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
            if a.table {
                lines.push(format!(
                    "each {} keeps the rows of its table partition, and takes a row's previous values out of their group when it changes or is deleted{}",
                    if a.repartition { "repartitioning task" } else { "aggregation task" },
                    if a.repartition { " (a retraction record, header kql.retract, before the new values)" } else { "" }
                ));
            }
            lines.push(format!(
                "each task keeps its groups{} in a hash map of its own (no sharing between tasks); {}",
                if a.window.is_some() { " (one per key and window)" } else { "" },
                match (a.emit, &a.window) {
                    (crate::syntax::ast::EmitKind::Final, _) => "a window is emitted once, when stream time passes its end plus grace",
                    (_, Some(_)) => "every update is emitted; closed windows are dropped from the map",
                    _ => "every update is emitted",
                }
            ));
        }
        LogicalPlan::GlobalTableJoin(j) => lines.push(format!(
            "global table {} is read in full from every partition before the query starts into one store shared by all tasks (broadcast)",
            j.right.sources().first().map_or("?", |s| s.name.as_str())
        )),
        _ => {}
    }
    for i in plan.inputs() {
        describe(i, lines);
    }
}
