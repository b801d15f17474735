//! The logical plan: what a query computes, as a tree of nodes, each documented in SQL terms.
//! The executor turns it into tasks; EXPLAIN prints it.

use std::fmt::Write as _;

use crate::data::SqlType;
use crate::syntax::ast::{EmitKind, JoinType, SourceKind};
use crate::syntax::span::Span;

use super::catalog::Format;
use super::expr::TypedExpr;
use super::schema::Schema;

#[derive(Debug, Clone, PartialEq)]
pub enum LogicalPlan {
    Source(Source),
    Filter(Filter),
    Project(Project),
    Join(Join),
    GlobalTableJoin(GlobalTableJoin),
    /// GROUP BY and windows (see `aggregate.rs`).
    Aggregate(super::aggregate::Aggregate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    StreamTable,
    StreamStream,
    TableTable,
    /// A table-table join from an expression of the left table (not its key) to the right
    /// table's key: rows keyed by the left table's key, no co-partitioning needed.
    ForeignKey,
    StreamGlobalTable,
}

impl JoinKind {
    pub fn describe(self) -> &'static str {
        match self {
            JoinKind::StreamTable => "stream-table",
            JoinKind::StreamStream => "stream-stream",
            JoinKind::TableTable => "table-table",
            JoinKind::ForeignKey => "foreign-key table-table",
            JoinKind::StreamGlobalTable => "stream-global table",
        }
    }
}

/// `left JOIN right ON left_key = right_key`, both inputs co-partitioned by their keys:
/// task i joins partition i of both sides. The logical plan says what is joined; the
/// physical pass (`exec/physical/co_partition.rs`) decides which side is repartitioned,
/// or reports sides that cannot be co-partitioned. Output rows are the left row's fields followed
/// by the right row's (NULLs for a LEFT join without a match).
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub join_type: JoinType,
    pub left: Box<LogicalPlan>,
    pub right: Box<LogicalPlan>,
    pub left_key: TypedExpr,
    pub right_key: TypedExpr,
    /// The keys as written, for EXPLAIN.
    pub key_texts: (String, String),
    /// Stream-stream joins: (before ms, after ms, grace ms).
    pub within: Option<(i64, i64, Option<i64>)>,
    pub span: Span,
}

/// `stream JOIN global_table ON lookup = table.pk`: the table is read in full before the
/// query starts and shared by every task (a broadcast); `lookup` may be any expression of
/// the stream, and the stream keeps its own partitioning.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalTableJoin {
    pub left: Box<LogicalPlan>,
    pub right: Box<LogicalPlan>,
    pub join_type: JoinType,
    pub lookup: TypedExpr,
    pub lookup_text: String,
    pub span: Span,
}

/// `FROM name`: read every partition of the source's topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub name: String,
    pub topic: String,
    pub partitions: u32,
    pub key_format: Format,
    pub value_format: Format,
    /// JSON only: whether a single value column is wrapped in an object (WRAP_SINGLE_VALUE).
    pub wrap_single_value: bool,
    /// DELIMITED only: the character between a value's fields.
    pub value_delimiter: char,
    /// DELIMITED keys only: the character between a key's fields.
    pub key_delimiter: char,
    /// The row layout: pseudo-columns, key columns, value columns.
    pub schema: Schema,
    /// How many of the schema's columns (after the pseudo-columns) are key columns.
    pub key_count: usize,
    /// Row positions of the key columns, in declaration order.
    pub key_positions: Vec<usize>,
    /// Columns read from the record's headers (they follow the value columns).
    pub headers: Vec<super::header_columns::HeaderSlot>,
    pub kind: SourceKind,
    /// Row position of the column that gives event time (else ROWTIME).
    pub timestamp_column: Option<usize>,
    /// How a STRING timestamp column is parsed (Java DateTimeFormatter letters).
    pub timestamp_format: Option<String>,
    /// A windowed table: keys carry the window; the schema ends with WINDOWSTART, WINDOWEND.
    pub window: Option<super::window::WindowType>,
    pub span: Span,
    /// Where the source is declared, and its `partitions=` property as written (if it is),
    /// for the errors of a join that cannot be co-partitioned.
    pub declared_at: Span,
    pub partitions_declared: Option<(Span, String)>,
}

/// `WHERE predicate`: keeps the rows for which it is true.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub input: Box<LogicalPlan>,
    pub predicate: TypedExpr,
    /// The predicate as written, for EXPLAIN.
    pub text: String,
}

/// `SELECT items`: computes the output columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub input: Box<LogicalPlan>,
    pub items: Vec<ProjectItem>,
    /// Table function calls (`table_function.rs`): each input row gives one output row per
    /// element of the longest of their lists; the items read element `k` at row slot
    /// `table_base + k`.
    pub table_functions: Vec<TypedExpr>,
    /// The input row's width: where the table functions' slots start.
    pub table_base: usize,
    /// The input row's WINDOWSTART and WINDOWEND when the output keeps the input's
    /// windowed key (a query over a windowed stream): each output row carries them.
    pub window: Option<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectItem {
    pub name: String,
    pub expr: TypedExpr,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputColumn {
    pub name: String,
    pub ty: SqlType,
}

/// A compiled query: its plan, output columns and how it emits.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    pub root: LogicalPlan,
    pub columns: Vec<OutputColumn>,
    pub emit: EmitKind,
    pub limit: Option<u64>,
    /// `PARTITION BY`: the output columns that are the rows' new key.
    pub partition_by: Vec<usize>,
    /// A join's key: the output column that holds it (see `join_key.rs`).
    pub join_key: Option<super::join_key::KeyColumn>,
}

impl LogicalPlan {
    pub fn inputs(&self) -> Vec<&LogicalPlan> {
        match self {
            LogicalPlan::Source(_) => vec![],
            LogicalPlan::Filter(f) => vec![&f.input],
            LogicalPlan::Project(p) => vec![&p.input],
            LogicalPlan::Join(j) => vec![&j.left, &j.right],
            LogicalPlan::GlobalTableJoin(j) => vec![&j.left, &j.right],
            LogicalPlan::Aggregate(a) => vec![&a.input],
        }
    }

    /// The sources the plan reads (leaves), left to right.
    pub fn sources(&self) -> Vec<&Source> {
        match self {
            LogicalPlan::Source(s) => vec![s],
            other => other
                .inputs()
                .into_iter()
                .flat_map(|i| i.sources())
                .collect(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            LogicalPlan::Source(s) => format!(
                "Source {} (topic '{}', {} partition{}, key {}, value {}{})",
                s.name,
                s.topic,
                s.partitions,
                if s.partitions == 1 { "" } else { "s" },
                s.key_format.name(),
                s.value_format.name(),
                match s.timestamp_column {
                    Some(i) => format!(", event time from {}", s.schema.fields[i].name),
                    None => String::new(),
                }
            ),
            LogicalPlan::Filter(f) => format!("Filter {}", f.text),
            LogicalPlan::Aggregate(a) => a.describe(),
            LogicalPlan::Join(j) => format!(
                "{} {} join on {} = {}{}",
                join_type_name(j.join_type),
                j.kind.describe(),
                j.key_texts.0,
                j.key_texts.1,
                match j.within {
                    Some((b, a, g)) => format!(
                        " within {} before, {} after{}",
                        ms(b),
                        ms(a),
                        g.map_or(String::new(), |g| format!(", grace {}", ms(g)))
                    ),
                    None if j.kind == JoinKind::ForeignKey => " (one task reads every partition of both tables)".to_string(),
                    None => " (co-partitioned: task i joins partition i of both sides)".to_string(),
                }
            ),
            LogicalPlan::GlobalTableJoin(j) => format!(
                "{} stream-global table join on {} (broadcast: the whole table is shared by every task; no co-partitioning needed)",
                join_type_name(j.join_type),
                j.lookup_text
            ),
            LogicalPlan::Project(p) => {
                let items: Vec<String> = p
                    .items
                    .iter()
                    .map(|i| {
                        if i.text == i.name || i.text.eq_ignore_ascii_case(&i.name) {
                            i.name.clone()
                        } else {
                            format!("{} AS {}", i.text, i.name)
                        }
                    })
                    .collect();
                let mut s = format!("Project {}", items.join(", "));
                if !p.table_functions.is_empty() {
                    s.push_str(&format!(
                        " (one row per element of {} table function list{})",
                        if p.table_functions.len() == 1 { "the" } else { "the longest" },
                        if p.table_functions.len() == 1 { "" } else { "s" }
                    ));
                }
                s
            }
        }
    }
}

impl QueryPlan {
    /// The logical plan as an indented tree, root first.
    pub fn explain_logical(&self) -> String {
        fn walk(n: &LogicalPlan, depth: usize, out: &mut String) {
            let _ = writeln!(out, "{}{}", "  ".repeat(depth), n.describe());
            for i in n.inputs() {
                walk(i, depth + 1, out);
            }
        }
        let mut out = String::new();
        if !self.partition_by.is_empty() {
            let keys: Vec<&str> = self
                .partition_by
                .iter()
                .map(|i| self.columns[*i].name.as_str())
                .collect();
            out.push_str(&format!(
                "Partition by {} (the rows' new key)\n",
                keys.join(", ")
            ));
        }
        let depth = usize::from(!self.partition_by.is_empty());
        walk(&self.root, depth, &mut out);
        out
    }
}

fn join_type_name(t: JoinType) -> &'static str {
    match t {
        JoinType::Inner => "Inner",
        JoinType::Left => "Left",
        JoinType::Right => "Right",
        JoinType::Full => "Full outer",
    }
}

fn ms(v: i64) -> String {
    match v {
        v if v % 3_600_000 == 0 && v > 0 => format!("{} h", v / 3_600_000),
        v if v % 60_000 == 0 && v > 0 => format!("{} min", v / 60_000),
        v if v % 1000 == 0 => format!("{} s", v / 1000),
        v => format!("{v} ms"),
    }
}
