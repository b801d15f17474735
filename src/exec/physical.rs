//! Physical planning: the physical plan (`node.rs`) a logical plan is lowered to
//! (`lower.rs`), which the drivers run and EXPLAIN prints (`explain.rs`); which tasks run
//! it, and over which offsets. A bounded run fixes each input partition's end offset (its
//! high watermark) when the query starts.

mod co_partition;
mod explain;
mod lower;
mod node;

pub use lower::lower;
pub use node::{
    Distribution, Edge, EdgeKind, Node, NodeId, Operator, Output, PhysicalPlan, Purpose,
    Repartition, Required,
};

use crate::exec::task::RowTask;
use std::sync::Arc;

use crate::exec::log::{LogHandle, Offsets};

use super::operators::pipeline::StatelessPipeline;
use super::task::PartitionRange;
use crate::diagnostic::{Code, Diagnostic};
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
pub type TasksAndTopics = (Vec<RowTask>, Vec<String>);

/// The tasks that run a transient query's plan, and the internal topics made for it (to
/// remove when the query ends): what runs is what its physical plan says.
pub fn tasks_and_topics(
    runtime: &tokio::runtime::Runtime,
    log: &LogHandle,
    plan: &QueryPlan,
    start: StartAt,
) -> Result<TasksAndTopics, Diagnostic> {
    let physical = lower(plan, Output::Rows)?;
    let top = physical.below_stateless(physical.root);
    match physical.node(top).operator {
        Operator::Join(_) | Operator::GlobalJoin(_) => {
            let j = super::operators::join::tasks(runtime, log, &physical, start)?;
            Ok((j.tasks, j.internal_topics))
        }
        Operator::Scan(source) => {
            let pipeline = Arc::new(
                StatelessPipeline::new(plan)
                    .ok_or_else(|| Diagnostic::internal("a source plan that is not stateless"))?,
            );
            Ok((
                pipeline.tasks(log, ranges(log, &source.topic, start)?),
                Vec::new(),
            ))
        }
        _ => Err(Diagnostic::new(
            Code::Unsupported,
            "this query compiles (see EXPLAIN) but does not run in this version of kql yet",
        )),
    }
}

/// EXPLAIN's physical part: the plan lowered as it runs, its rows going to `output`;
/// `prefix` begins its internal topics' names when the query runs already.
pub fn explain(
    plan: &QueryPlan,
    output: Output,
    prefix: Option<&str>,
) -> Result<String, Diagnostic> {
    Ok(explain::explain(&lower(plan, output)?, prefix))
}
