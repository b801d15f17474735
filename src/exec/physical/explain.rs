//! EXPLAIN's physical part: the physical plan's nodes as a tree, output first, each with
//! the tasks that run it and the state it keeps; an input reached through an internal
//! topic or a broadcast says so.

use std::fmt::Write as _;

use crate::diagnostic::count;
use crate::plan::logical::JoinKind;
use crate::syntax::ast::EmitKind;

use super::node::{EdgeKind, NodeId, Operator, Output, PhysicalPlan, Purpose};

/// The plan as text. `prefix` begins the names of the query's internal topics (unknown
/// before the query runs: `<query>`).
pub fn explain(plan: &PhysicalPlan, prefix: Option<&str>) -> String {
    let mut out = String::new();
    let shown = prefix.unwrap_or("<query>");
    walk(plan, plan.root, 1, "", shown, &mut out);
    if prefix.is_none() && !plan.internal_topics().is_empty() {
        out.push_str(
            "  <query>: the prefix of the query's internal topics (a persistent query's is _confluent-ksql-<application id>_query_<query id>)\n",
        );
    }
    let _ = writeln!(
        out,
        "  records are fetched and processed in batches of up to {}",
        crate::exec::limits::FETCH_BATCH_RECORDS
    );
    out
}

fn walk(plan: &PhysicalPlan, id: NodeId, depth: usize, edge: &str, prefix: &str, out: &mut String) {
    let _ = writeln!(
        out,
        "{}{edge}{}",
        "  ".repeat(depth),
        line(plan, id, prefix)
    );
    for e in &plan.node(id).inputs {
        let edge = match e.kind {
            EdgeKind::Forward => "",
            EdgeKind::Exchange => "(exchange) ",
            EdgeKind::Broadcast => "(broadcast) ",
        };
        walk(plan, e.from, depth + 1, edge, prefix, out);
    }
}

fn tasks(n: u32) -> String {
    count(n, "task")
}

fn line(plan: &PhysicalPlan, id: NodeId, prefix: &str) -> String {
    let node = plan.node(id);
    let logical = || node.logical.map(|l| l.describe()).unwrap_or_default();
    match &node.operator {
        Operator::Output(Output::Rows) => format!(
            "Output: the rows of {}, merged by event time (then partition, offset)",
            tasks(node.tasks)
        ),
        Operator::Output(Output::Sink(topic)) => format!(
            "Sink '{topic}': the records of {}, appended in event-time order (then partition, offset)",
            tasks(node.tasks)
        ),
        Operator::Scan(s) => {
            let broadcast = plan.nodes.iter().any(|n| {
                n.inputs
                    .iter()
                    .any(|e| e.from == id && e.kind == EdgeKind::Broadcast)
            });
            if broadcast {
                format!(
                    "Scan {}: topic '{}' read in full from every partition before the query starts, into one store shared by all tasks",
                    s.name, s.topic
                )
            } else {
                format!(
                    "Scan {}: topic '{}', {}, task i reads partition i",
                    s.name,
                    s.topic,
                    tasks(node.tasks)
                )
            }
        }
        Operator::Filter(_) | Operator::Project(_) => logical(),
        Operator::Repartition(r) => {
            let target = format!("'{prefix}-{}' ({})", r.topic, count(r.partitions, "partition"));
            let mut s = if r.key.is_empty() {
                format!("Write each row to {target} on its task's partition")
            } else {
                format!("Repartition by {} into {target}", r.key_text)
            };
            let _ = write!(s, ", written by {}", tasks(node.tasks));
            if r.purpose == Purpose::TableJoinRows {
                s.push_str("; a row of the joined table replaces the previous row of its key");
            }
            if r.purpose == (Purpose::GroupBy { table: true }) {
                s.push_str("; each task keeps the rows of its table partition and writes a row's previous values as a retraction (header kql.retract) before its new ones");
            }
            s
        }
        Operator::Aggregate(a) => {
            let keys: Vec<&str> = a.keys.iter().map(|k| k.text.as_str()).collect();
            let mut s = format!(
                "Aggregate by {}: {}, each keeps its groups{} in a hash map of its own",
                keys.join(", "),
                tasks(node.tasks),
                if a.window.is_some() {
                    " (one per key and window)"
                } else {
                    ""
                }
            );
            if a.table && node.inputs[0].kind == EdgeKind::Forward {
                s.push_str(" and the rows of its table partition, taking a row's previous values out of their group when it changes or is deleted");
            } else if a.table {
                s.push_str(", applying retractions before new values");
            }
            s.push_str(match (a.emit, &a.window) {
                (EmitKind::Final, _) => {
                    "; a window is emitted once, when stream time passes its end plus grace"
                }
                (_, Some(_)) => "; every update is emitted; closed windows are dropped",
                _ => "; every update is emitted",
            });
            s
        }
        Operator::Join(j) => {
            let sources = plan.sources(id);
            let right = plan.sources(node.inputs[1].from);
            let name = |v: &[&crate::plan::logical::Source]| {
                v.first().map_or("?".to_string(), |s| s.name.clone())
            };
            let state = match j.kind {
                JoinKind::StreamTable => format!(
                    "table {} is materialized per task in a hash map keyed by its primary key; only stream records produce output, processed with the table's records in timestamp order",
                    name(&right)
                ),
                JoinKind::TableTable => format!(
                    "tables {} and {} are materialized per task; an update to either side emits the joined row",
                    name(&sources),
                    name(&right)
                ),
                JoinKind::ForeignKey => format!(
                    "it keeps both tables, and {}'s rows indexed by the key they refer to: an update to either side emits the joined rows it changes, keyed by {}'s key",
                    name(&sources),
                    name(&sources)
                ),
                _ => "each task buffers both streams' records within the join window, keyed by the join key".to_string(),
            };
            let text = logical();
            if j.kind == JoinKind::ForeignKey {
                let head = text.split(" (one task").next().unwrap_or(&text);
                return format!("{head}: 1 task reads every partition of both inputs; {state}");
            }
            let head = text.split(" (co-partitioned").next().unwrap_or(&text);
            format!(
                "{head}: {}, task i joins partition i of both inputs; {state}",
                tasks(node.tasks)
            )
        }
        Operator::GlobalJoin(_) => {
            let text = logical();
            let head = text.split(" (broadcast").next().unwrap_or(&text);
            format!(
                "{head}: {}, each looks its rows up in the shared table",
                tasks(node.tasks)
            )
        }
    }
}
