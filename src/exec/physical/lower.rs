//! Lowering: a logical plan becomes a physical plan. Each operator states the layout it
//! needs of its inputs (`Required`): GROUP BY needs its rows keyed by the GROUP BY keys, a
//! co-partitioned join needs both sides keyed by their join expressions with the same
//! number of partitions, a global join needs its table broadcast. One pass
//! (`Lowering::enforce`) compares each input's layout with what is needed and inserts a
//! `Repartition` through an internal topic where they differ (DataFusion's
//! `enforce_distribution` works the same way).
//!
//! A co-partitioned join's requirement (which side is repartitioned, to how many
//! partitions) and the errors of sides that cannot be co-partitioned (KQL0401) are decided
//! here too, by `co_partition.rs`, from the spans the logical plan's sources carry.

use crate::diagnostic::Diagnostic;
use crate::plan::catalog::Format;
use crate::plan::expr::{TExpr, TypedExpr};
use crate::plan::logical::{JoinKind, LogicalPlan, QueryPlan};
use crate::plan::schema::PSEUDO_COLUMNS;

use super::co_partition::{co_partition, SideRepartition};
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
        if self.nodes[id].logical.is_none() {
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
                        format: s.key_format,
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
                    format: None,
                };
                // A join's rows reach the aggregation through a topic, whatever their key:
                // its task reads its input from the log. A join of tables makes a table,
                // whose rows go by their key first (the join key; a foreign-key join's:
                // the left table's), so that a row's change replaces it.
                let edge = if a.input.sources().len() > 1 {
                    let rows = match &a.row_key {
                        Some(key) => {
                            let by_row = Required::Keyed {
                                key: vec![key.clone()],
                                partitions: None,
                                format: None,
                            };
                            let rows_hint = Hint {
                                topic: "Aggregate-GroupBy-repartition-rows".into(),
                                key_text: "the joined rows' key".into(),
                                key_format: Format::Json,
                                purpose: Purpose::TableJoinRows,
                            };
                            self.exchange(input, &by_row, rows_hint).from
                        }
                        None => input,
                    };
                    let edge = self.exchange(rows, &required, hint);
                    if rows != input {
                        // (the repartition reads the rows' topic)
                        self.nodes[edge.from].inputs[0].kind = EdgeKind::Exchange;
                    }
                    edge
                } else {
                    self.enforce(input, &required, hint)
                };
                let partitions = self.input_partitions(edge);
                let format = match self.nodes[edge.from].distribution {
                    Distribution::Keyed { format, .. } => format,
                    Distribution::Unknown { .. } => Format::Json,
                };
                // The aggregate's row starts with its keys.
                let key = (0..a.keys.len()).map(TExpr::Column).collect();
                self.push(
                    Operator::Aggregate(a),
                    vec![edge],
                    partitions,
                    Distribution::Keyed {
                        key,
                        partitions,
                        format,
                    },
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
                let right_offset = width(&j.left);
                let sides = co_partition(j, right_offset)?;
                let mut exchanges = 0;
                let left =
                    self.join_side(&j.left, &j.left_key, sides.left, base, &mut exchanges)?;
                let right = self.join_side(
                    &j.right,
                    &j.right_key,
                    sides.right,
                    base + right_offset,
                    &mut exchanges,
                )?;
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
        })
    }

    /// How many partitions an edge delivers.
    fn input_partitions(&self, edge: Edge) -> u32 {
        self.nodes[edge.from].distribution.partitions()
    }

    /// A side of a co-partitioned join: keyed by its join expression, through the
    /// repartition `co_partition` chose for it (if any).
    fn join_side(
        &mut self,
        side: &'a LogicalPlan,
        key: &TypedExpr,
        repartition: Option<SideRepartition>,
        base: usize,
        exchanges: &mut usize,
    ) -> Result<Edge, Diagnostic> {
        let input = self.lower(side, base)?;
        let (required, hint) = match repartition {
            Some(r) => {
                // A source's rows are named after it, an inner join's after its place.
                let topic = match side {
                    LogicalPlan::Source(s) => format!("{}-repartition", s.name),
                    _ => format!("Join-{exchanges}-repartition"),
                };
                (
                    Required::Keyed {
                        key: vec![r.key],
                        partitions: Some(r.partitions),
                        format: Some(r.key_format),
                    },
                    Hint {
                        topic,
                        key_text: r.key_text,
                        key_format: r.key_format,
                        purpose: Purpose::JoinInput,
                    },
                )
            }
            None => {
                let name = side.sources().first().map_or("JOIN", |s| s.name.as_str());
                (
                    Required::Keyed {
                        key: vec![key.clone()],
                        partitions: None,
                        format: None,
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
        if self.nodes[input].distribution.satisfies(required) {
            return forward(input);
        }
        self.exchange(input, required, hint)
    }

    /// A new repartition of `input`'s rows into the layout `required` names.
    fn exchange(&mut self, input: NodeId, required: &Required, hint: Hint) -> Edge {
        let node = &self.nodes[input];
        let tasks = node.tasks;
        let (key, partitions) = match required {
            Required::Keyed {
                key, partitions, ..
            } => (
                key.clone(),
                partitions.unwrap_or_else(|| node.distribution.partitions()),
            ),
            Required::Any => (Vec::new(), node.distribution.partitions()),
        };
        let distribution = Distribution::Keyed {
            key: key.iter().map(|k| k.kind.clone()).collect(),
            partitions,
            format: hint.key_format,
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
