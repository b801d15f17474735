//! The logical plan: what a query computes, as a tree of nodes, each documented in SQL terms.
//! The executor turns it into tasks; EXPLAIN prints it.

use std::fmt::Write as _;

use crate::data::SqlType;
use crate::syntax::ast::EmitKind;
use crate::syntax::span::Span;

use super::catalog::Format;
use super::expr::TypedExpr;
use super::schema::Schema;

#[derive(Debug, Clone, PartialEq)]
pub enum LogicalPlan {
    Source(Source),
    Filter(Filter),
    Project(Project),
    /// GROUP BY and windows (see `aggregate.rs`).
    Aggregate(super::aggregate::Aggregate),
    Repartition(super::aggregate::Repartition),
}

/// `FROM name`: read every partition of the source's topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub name: String,
    pub topic: String,
    pub partitions: u32,
    pub key_format: Format,
    pub value_format: Format,
    /// The row layout: pseudo-columns, key columns, value columns.
    pub schema: Schema,
    /// How many of the schema's columns (after the pseudo-columns) are key columns.
    pub key_count: usize,
    /// Row position of the column that gives event time (else ROWTIME).
    pub timestamp_column: Option<usize>,
    pub span: Span,
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
}

impl LogicalPlan {
    pub fn input(&self) -> Option<&LogicalPlan> {
        match self {
            LogicalPlan::Source(_) => None,
            LogicalPlan::Filter(f) => Some(&f.input),
            LogicalPlan::Project(p) => Some(&p.input),
            LogicalPlan::Aggregate(a) => Some(&a.input),
            LogicalPlan::Repartition(r) => Some(&r.input),
        }
    }

    /// The sources the plan reads (leaves).
    pub fn sources(&self) -> Vec<&Source> {
        match self {
            LogicalPlan::Source(s) => vec![s],
            other => other.input().map(|i| i.sources()).unwrap_or_default(),
        }
    }

    fn describe(&self) -> String {
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
            LogicalPlan::Repartition(r) => r.describe(),
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
                format!("Project {}", items.join(", "))
            }
        }
    }
}

impl QueryPlan {
    /// The logical plan as an indented tree, root first.
    pub fn explain_logical(&self) -> String {
        let mut out = String::new();
        let mut node = Some(&self.root);
        let mut depth = 0;
        while let Some(n) = node {
            let _ = writeln!(out, "{}{}", "  ".repeat(depth), n.describe());
            node = n.input();
            depth += 1;
        }
        out
    }
}
