//! The system columns (ROWTIME, ROWPARTITION, ROWOFFSET, WINDOWSTART, WINDOWEND) as names of
//! SELECT items. A persistent query cannot write one unaliased into its sink, where the
//! name would collide with the sink's own system column; no query may give another
//! expression one of these names as its alias. (A join's unaliased `l.ROWTIME` is named
//! `L_ROWTIME`, so only its aliases are checked.)

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{self, ExprKind, SelectItem};

/// The names of the system columns every row has (the window bounds only on windowed rows).
pub const SYSTEM_COLUMNS: [&str; 5] = [
    "ROWTIME",
    "ROWPARTITION",
    "ROWOFFSET",
    "WINDOWSTART",
    "WINDOWEND",
];

/// The errors for SELECT items named after a system column: `persistent` when the items
/// are written to a sink.
pub fn check(q: &ast::Query, persistent: bool) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for item in &q.select {
        let SelectItem::Expr { expr, alias } = item else {
            continue;
        };
        let column = match &expr.kind {
            ExprKind::Column { name, .. } => Some(name.name.as_str()),
            _ => None,
        };
        // Unaliased, a column of a join's row is named after its source (L_ROWTIME).
        let (name, span) = match alias {
            Some(a) => (a.name.as_str(), a.span),
            None => match column {
                Some(c) if q.joins.is_empty() => (c, expr.span),
                _ => continue,
            },
        };
        let Some(system) = SYSTEM_COLUMNS.iter().find(|s| s.eq_ignore_ascii_case(name)) else {
            continue;
        };
        if !column.is_some_and(|c| c.eq_ignore_ascii_case(name)) {
            errors.push(
                Diagnostic::new(
                    Code::DuplicateColumn,
                    format!("`{system}` is a reserved column name. You cannot use it as an alias for a column."),
                )
                .label(span, "a system column's name")
                .help("choose another alias"),
            );
        } else if persistent {
            errors.push(
                Diagnostic::new(
                    Code::DuplicateColumn,
                    format!("Reserved column name in select: `{system}`. Please remove or alias the column."),
                )
                .label(span, "the sink has its own column of this name")
                .help(format!("alias it, e.g. {system} AS EVENT_{system}")),
            );
        }
    }
    errors
}
