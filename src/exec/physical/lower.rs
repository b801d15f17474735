//! Lowering: a logical plan becomes a physical plan. Each operator states the layout it
//! needs of its inputs (`Required`): GROUP BY needs its rows keyed by the GROUP BY keys, a
//! co-partitioned join needs both sides keyed by their join expressions with the same
//! number of partitions, a global join needs its table broadcast. One pass
//! (`Lowering::enforce`) compares each input's layout with what is needed and inserts a
//! `Repartition` through an internal topic where they differ (DataFusion's
//! `enforce_distribution` works the same way).
//!
//! The planner has already checked co-partitioning (KQL0401, with spans) and chosen the
//! partition count and name of each join side's repartition (its `Repartition` nodes);
//! here they are the requirement of the join's input, and the pass decides where a
//! repartition runs.

use crate::diagnostic::Diagnostic;
use crate::plan::catalog::Format;
use crate::plan::expr::{TExpr, TypedExpr};
use crate::plan::logical::{JoinKind, LogicalPlan, QueryPlan};
use crate::plan::schema::PSEUDO_COLUMNS;

use super::node::{
    Distribution, Edge, EdgeKind, Node, NodeId, Operator, Output, PhysicalPlan, Purpose,
    Repartition, Required,
};

/// The physical plan of a query whose rows go to `output`.
pub fn lower<'a>(plan: &'a QueryPlan, output: Output) -> Result<PhysicalPlan<'a>, Diagnostic> {
    let mut l = Lowering { nodes: Vec::new() };
    let top = l.lower(&plan.root, 0)?;
    let distribution = l.nodes[top].distribution.clone();
    let root = l.push(
        Operator::Output(output),
        vec![forward(top)],
        distribution.partitions(),
        distribution,
    );
    Ok(PhysicalPlan {
        nodes: l.nodes,
        root,
    })
}

struct Lowering<'a> {
    nodes: Vec<Node<'a>>,
}

/// What to call a repartition the pass inserts, and how to key it.
struct Hint {
    topic: String,
    key_text: String,
    key_format: Format,
    purpose: Purpose,
}

fn forward(from: NodeId) -> Edge {
    Edge {
        from,
        kind: EdgeKind::Forward,
    }
}

/// The width of the rows a plan gives: a join's row is its sides' rows one after the other.
fn width(plan: &LogicalPlan) -> usize {
    plan.sources().iter().map(|s| s.schema.len()).sum()
}

impl<'a> Lowering<'a> {
    fn push(
        &mut self,
        operator: Operator<'a>,
        inputs: Vec<Edge>,
        tasks: u32,
        distribution: Distribution,
    ) -> NodeId {
        self.nodes.push(Node {
            operator,
            logical: None,
            inputs,
            tasks,
            distribution,
        });
        self.nodes.len() - 1
    }

    /// Lowers a subtree whose rows sit at `base` in the row of the operator reading them.
    fn lower(&mut self, plan: &'a LogicalPlan, base: usize) -> Result<NodeId, Diagnostic> {
        let id = self.lower_node(plan, base)?;
        if self.nodes[id].logical.is_none() && !matches!(plan, LogicalPlan::Repartition(_)) {
            self.nodes[id].logical = Some(plan);
        }
        Ok(id)
    }

    fn lower_node(&mut self, plan: &'a LogicalPlan, base: usize) -> Result<NodeId, Diagnostic> {
        Ok(match plan {
            LogicalPlan::Source(s) => {
                // A source's records are placed by their key: its key columns.
                let key: Vec<TExpr> = (0..s.key_count)
                    .map(|i| TExpr::Column(base + PSEUDO_COLUMNS.len() + i))
                    .collect();
                let distribution = if key.is_empty() {
                    Distribution::Unknown {
                        partitions: s.partitions,
                    }
                } else {
                    Distribution::Keyed {
                        key,
                        partitions: s.partitions,
                    }
                };
                self.push(Operator::Scan(s), Vec::new(), s.partitions, distribution)
            }
            LogicalPlan::Filter(f) => {
                let input = self.lower(&f.input, base)?;
                let d = self.nodes[input].distribution.clone();
                self.push(Operator::Filter(f), vec![forward(input)], d.partitions(), d)
            }
            LogicalPlan::Project(p) => {
                let input = self.lower(&p.input, base)?;
                // The projection's row has other columns: its key positions are not known.
                let partitions = self.nodes[input].distribution.partitions();
                self.push(
                    Operator::Project(p),
                    vec![forward(input)],
                    partitions,
                    Distribution::Unknown { partitions },
                )
            }
            LogicalPlan::Aggregate(a) => {
                let input = self.lower(&a.input, base)?;
                let key: Vec<TypedExpr> = a.keys.iter().map(|k| k.expr.clone()).collect();
                let hint = Hint {
                    topic: "Aggregate-GroupBy-repartition".into(),
                    key_text: a
                        .keys
                        .iter()
                        .map(|k| k.text.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    key_format: Format::Json,
                    purpose: Purpose::GroupBy { table: a.table },
                };
                let required = Required::Keyed {
                    key,
                    partitions: None,
                };
                let edge = self.enforce(input, &required, hint);
                let partitions = self.input_partitions(edge);
                // The aggregate's row starts with its keys.
                let key = (0..a.keys.len()).map(TExpr::Column).collect();
                self.push(
                    Operator::Aggregate(a),
                    vec![edge],
                    partitions,
                    Distribution::Keyed { key, partitions },
                )
            }
            // A foreign-key join reads both tables whole in one task: no distribution.
            LogicalPlan::Join(j) if j.kind == JoinKind::ForeignKey => {
                let mut exchanges = 0;
                let left_node = self.lower(&j.left, base)?;
                let left = self.from_topic(left_node, &mut exchanges);
                let right_node = self.lower(&j.right, base + width(&j.left))?;
                let right = self.from_topic(right_node, &mut exchanges);
                self.push(
                    Operator::Join(j),
                    vec![left, right],
                    1,
                    Distribution::Unknown { partitions: 1 },
                )
            }
            LogicalPlan::Join(j) => {
                let right_base = base + width(&j.left);
                let mut exchanges = 0;
                let left = self.join_side(&j.left, &j.left_key, base, &mut exchanges)?;
                let right = self.join_side(&j.right, &j.right_key, right_base, &mut exchanges)?;
                let (lp, rp) = (self.input_partitions(left), self.input_partitions(right));
                if lp != rp {
                    return Err(Diagnostic::internal(format!(
                        "the sides of a {} join reach it with {lp} and {rp} partitions",
                        j.kind.describe()
                    )));
                }
                self.push(
                    Operator::Join(j),
                    vec![left, right],
                    lp,
                    Distribution::Unknown { partitions: lp },
                )
            }
            LogicalPlan::GlobalTableJoin(g) => {
                let mut exchanges = 0;
                let left_node = self.lower(&g.left, base)?;
                let left = self.from_topic(left_node, &mut exchanges);
                let right = self.lower(&g.right, base + width(&g.left))?;
                let d = match left.kind {
                    EdgeKind::Forward => self.nodes[left.from].distribution.clone(),
                    _ => Distribution::Unknown {
                        partitions: self.input_partitions(left),
                    },
                };
                self.push(
                    Operator::GlobalJoin(g),
                    vec![
                        left,
                        Edge {
                            from: right,
                            kind: EdgeKind::Broadcast,
                        },
                    ],
                    d.partitions(),
                    d,
                )
            }
            // Outside a join (which reads its sides' repartitions itself), a repartition
            // is a plain requirement of its consumer.
            LogicalPlan::Repartition(r) => {
                let input = self.lower(&r.input, base)?;
                let required = Required::Keyed {
                    key: vec![r.key.clone()],
                    partitions: Some(r.partitions),
                };
                let hint = Hint {
                    topic: r.topic.clone(),
                    key_text: r.key_text.clone(),
                    key_format: r.key_format,
                    purpose: Purpose::JoinInput,
                };
                let edge = self.enforce(input, &required, hint);
                edge.from
            }
        })
    }

    /// How many partitions an edge delivers.
    fn input_partitions(&self, edge: Edge) -> u32 {
        self.nodes[edge.from].distribution.partitions()
    }

    /// A side of a co-partitioned join: keyed by its join expression. The planner's
    /// `Repartition` over the side gives the partition count and the topic's name.
    fn join_side(
        &mut self,
        side: &'a LogicalPlan,
        key: &TypedExpr,
        base: usize,
        exchanges: &mut usize,
    ) -> Result<Edge, Diagnostic> {
        let (input, required, hint) = match side {
            LogicalPlan::Repartition(r) => {
                let input = self.lower(&r.input, base)?;
                // The rows of an inner join are named after the join's place.
                let topic = if matches!(&*r.input, LogicalPlan::Source(_)) {
                    r.topic.clone()
                } else {
                    format!("Join-{exchanges}-repartition")
                };
                (
                    input,
                    Required::Keyed {
                        key: vec![r.key.clone()],
                        partitions: Some(r.partitions),
                    },
                    Hint {
                        topic,
                        key_text: r.key_text.clone(),
                        key_format: r.key_format,
                        purpose: Purpose::JoinInput,
                    },
                )
            }
            other => {
                let input = self.lower(other, base)?;
                let name = other.sources().first().map_or("JOIN", |s| s.name.as_str());
                (
                    input,
                    Required::Keyed {
                        key: vec![key.clone()],
                        partitions: None,
                    },
                    Hint {
                        topic: format!("{name}-repartition"),
                        key_text: "the join key".into(),
                        key_format: Format::Kafka,
                        purpose: Purpose::JoinInput,
                    },
                )
            }
        };
        let edge = self.enforce(input, &required, hint);
        if edge.kind == EdgeKind::Exchange {
            *exchanges += 1;
        } else if !matches!(self.nodes[edge.from].operator, Operator::Scan(_)) {
            // A join's rows that are keyed already still go through a topic: a join
            // task reads its inputs from the log.
            return Ok(self.from_topic(edge.from, exchanges));
        }
        Ok(edge)
    }

    /// An input read from a topic: a scan as it is, anything else written to an internal
    /// topic with each row on its task's partition.
    fn from_topic(&mut self, input: NodeId, exchanges: &mut usize) -> Edge {
        if matches!(self.nodes[input].operator, Operator::Scan(_)) {
            return forward(input);
        }
        let partitions = self.nodes[input].distribution.partitions();
        let r = Repartition {
            key: Vec::new(),
            key_text: String::new(),
            key_format: Format::Kafka,
            partitions,
            topic: format!("Join-{exchanges}"),
            purpose: Purpose::JoinInput,
        };
        *exchanges += 1;
        let id = self.push(
            Operator::Repartition(r),
            vec![forward(input)],
            self.nodes[input].tasks,
            Distribution::Unknown { partitions },
        );
        Edge {
            from: id,
            kind: EdgeKind::Exchange,
        }
    }

    /// The distribution pass: the edge from `input` to an operator that needs `required`,
    /// through a new repartition when the input's layout does not give it.
    fn enforce(&mut self, input: NodeId, required: &Required, hint: Hint) -> Edge {
        let node = &self.nodes[input];
        if node.distribution.satisfies(required) {
            return forward(input);
        }
        let tasks = node.tasks;
        let (key, partitions) = match required {
            Required::Keyed { key, partitions } => (
                key.clone(),
                partitions.unwrap_or_else(|| node.distribution.partitions()),
            ),
            Required::Any => (Vec::new(), node.distribution.partitions()),
        };
        let distribution = Distribution::Keyed {
            key: key.iter().map(|k| k.kind.clone()).collect(),
            partitions,
        };
        let r = Repartition {
            key,
            key_text: hint.key_text,
            key_format: hint.key_format,
            partitions,
            topic: hint.topic,
            purpose: hint.purpose,
        };
        let id = self.push(
            Operator::Repartition(r),
            vec![forward(input)],
            tasks,
            distribution,
        );
        Edge {
            from: id,
            kind: EdgeKind::Exchange,
        }
    }
}
