//! The physical plan's parts: operators (nodes), how rows move between them (edges), and
//! how a node's output rows are spread over partitions (its distribution).

use crate::plan::aggregate::Aggregate;
use crate::plan::catalog::Format;
use crate::plan::expr::{TExpr, TypedExpr};
use crate::plan::logical::{Filter, GlobalTableJoin, Join, LogicalPlan, Project, Source};

/// A node's place in `PhysicalPlan::nodes`.
pub type NodeId = usize;

/// A query as it runs: nodes borrowed from its logical plan, plus the repartitions the
/// distribution pass inserted. Nodes come after their inputs; the root is the output.
#[derive(Debug)]
pub struct PhysicalPlan<'a> {
    pub nodes: Vec<Node<'a>>,
    pub root: NodeId,
}

#[derive(Debug)]
pub struct Node<'a> {
    pub operator: Operator<'a>,
    /// The logical node it runs (None for what the distribution pass added).
    pub logical: Option<&'a LogicalPlan>,
    pub inputs: Vec<Edge>,
    /// How many tasks run it: one per partition of what it reads.
    pub tasks: u32,
    /// Where its output rows are.
    pub distribution: Distribution,
}

/// How a node's rows reach the node that reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub from: NodeId,
    pub kind: EdgeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// Batch by batch within one task.
    Forward,
    /// Through the internal topic a `Repartition` node writes: task i of the reader reads
    /// partition i.
    Exchange,
    /// Every row to every task: a global table, read in full before the query starts.
    Broadcast,
}

#[derive(Debug)]
pub enum Operator<'a> {
    /// Reads partition i of a source's topic in task i (or all of it, when broadcast).
    Scan(&'a Source),
    Filter(&'a Filter),
    Project(&'a Project),
    /// Writes each row to an internal topic, keyed so that rows with equal keys land on
    /// the same partition.
    Repartition(Repartition),
    Aggregate(&'a Aggregate),
    /// A co-partitioned join: task i joins partition i of both inputs.
    Join(&'a Join),
    /// A stream joined with a broadcast global table.
    GlobalJoin(&'a GlobalTableJoin),
    Output(Output),
}

/// Where a query's rows go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Rows for the caller (a transient query), merged across tasks by event time.
    Rows,
    /// Records of a sink topic (a persistent query).
    Sink(String),
}

/// What a repartition writes.
#[derive(Debug, Clone)]
pub struct Repartition {
    /// The new key; empty when every row stays on its task's partition (a join's rows
    /// written to a topic for the next join to read).
    pub key: Vec<TypedExpr>,
    pub key_text: String,
    pub key_format: Format,
    pub partitions: u32,
    /// The internal topic's name after the query's prefix (`naming.rs`).
    pub topic: String,
    pub purpose: Purpose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The rows of a GROUP BY; `table`: a table's rows, whose changes are written as a
    /// retraction of the previous values before the new ones.
    GroupBy { table: bool },
    /// A join's input.
    JoinInput,
    /// The rows of a join of tables, keyed by their key (the join key, or a foreign-key
    /// join's left key): the GROUP BY's repartition
    /// reads them as a table's rows.
    TableJoinRows,
}

/// How rows are spread over partitions.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Rows with equal values of `key` (expressions over the node's row) are in the same
    /// partition, placed by the key's bytes in `format` (another format's bytes of the same
    /// key may be on another partition).
    Keyed {
        key: Vec<TExpr>,
        partitions: u32,
        format: Format,
    },
    /// No promise about where a key's rows are.
    Unknown { partitions: u32 },
}

impl Distribution {
    pub fn partitions(&self) -> u32 {
        match self {
            Distribution::Keyed { partitions, .. } | Distribution::Unknown { partitions } => {
                *partitions
            }
        }
    }

    /// Does this layout give what an operator needs?
    pub fn satisfies(&self, required: &Required) -> bool {
        match required {
            Required::Any => true,
            Required::Keyed {
                key,
                partitions,
                format,
            } => match self {
                Distribution::Keyed {
                    key: have,
                    partitions: n,
                    format: placed_by,
                } => {
                    have.len() == key.len()
                        && have.iter().zip(key).all(|(h, k)| *h == k.kind)
                        && partitions.map_or(true, |p| p == *n)
                        && format.map_or(true, |f| f == *placed_by)
                }
                Distribution::Unknown { .. } => false,
            },
        }
    }
}

/// The layout an operator needs of an input.
#[derive(Debug, Clone)]
pub enum Required {
    Any,
    /// Rows with equal `key` in one partition, of `partitions` and placed by the key's
    /// bytes in `format` when given.
    Keyed {
        key: Vec<TypedExpr>,
        partitions: Option<u32>,
        format: Option<Format>,
    },
}

impl<'a> PhysicalPlan<'a> {
    pub fn node(&self, id: NodeId) -> &Node<'a> {
        &self.nodes[id]
    }

    /// The node an edge comes from.
    pub fn input(&self, edge: Edge) -> &Node<'a> {
        &self.nodes[edge.from]
    }

    /// The first node below `id` (following first inputs) that is not a filter, project or
    /// output: the operator that gives the node its rows.
    pub fn below_stateless(&self, mut id: NodeId) -> NodeId {
        loop {
            let n = &self.nodes[id];
            match n.operator {
                Operator::Filter(_) | Operator::Project(_) | Operator::Output(_) => {
                    id = n.inputs[0].from
                }
                _ => return id,
            }
        }
    }

    /// The sources a node reads, left to right, through every kind of edge.
    pub fn sources(&self, id: NodeId) -> Vec<&'a Source> {
        match self.nodes[id].operator {
            Operator::Scan(s) => vec![s],
            _ => self.nodes[id]
                .inputs
                .iter()
                .flat_map(|e| self.sources(e.from))
                .collect(),
        }
    }

    /// `Filter?(Scan)` below a node: the source and the predicate read with it in one task.
    pub fn filtered_scan(&self, id: NodeId) -> Option<(&'a Source, Option<&'a TypedExpr>)> {
        match self.nodes[id].operator {
            Operator::Scan(s) => Some((s, None)),
            Operator::Filter(f) => match self.nodes[self.nodes[id].inputs[0].from].operator {
                Operator::Scan(s) => Some((s, Some(&f.predicate))),
                _ => None,
            },
            _ => None,
        }
    }

    /// The internal topics the plan writes (names after the query's prefix).
    pub fn internal_topics(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.operator {
                Operator::Repartition(r) => Some(r.topic.as_str()),
                _ => None,
            })
            .collect()
    }
}
