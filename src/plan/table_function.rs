//! Table functions in a SELECT list (`SELECT id, EXPLODE(items) AS item FROM orders`).
//! Each call is taken out of the select items and replaced by a reference to a slot after
//! the input row's columns; the projection evaluates the calls, then projects once per
//! element, the slot `base + k` holding the element of call `k` (NULL once a shorter
//! list has run out, as ksqlDB pads them).

use crate::diagnostic::{Code, Diagnostic};
use crate::functions::Kind;
use crate::syntax::span::Span;

use super::expr::{TExpr, TypedExpr};
use super::logical::ProjectItem;

/// Replaces the table function calls of `items` by slots from `base` on and returns the
/// calls, in slot order.
pub fn extract(items: &mut [ProjectItem], base: usize) -> Result<Vec<TypedExpr>, Diagnostic> {
    let mut calls: Vec<TypedExpr> = Vec::new();
    // Calls that cannot be unrolled: inside a lambda (whose parameters take the slots
    // after the row) or inside another table function's arguments.
    let mut nested: Option<Span> = None;
    for item in items.iter_mut() {
        item.expr.rewrite(&mut |e| {
            if let TExpr::Lambda { body, .. } = &e.kind {
                nested = nested.or(first_table_call(body));
                return true;
            }
            if !is_table_call(e) {
                return false;
            }
            let slot = TypedExpr {
                kind: TExpr::Column(base + calls.len()),
                ty: e.ty.clone(),
                span: e.span,
            };
            calls.push(std::mem::replace(e, slot));
            true
        });
    }
    for call in &calls {
        if let TExpr::Call { args, .. } = &call.kind {
            nested = nested.or(args.iter().find_map(first_table_call));
        }
    }
    match nested {
        Some(span) => Err(Diagnostic::new(
            Code::Unsupported,
            "a table function can only be called in a SELECT item, not inside a lambda or another table function",
        )
        .label(span, "nested table function")
        .help("explode in two steps: CREATE STREAM s1 AS SELECT EXPLODE(...) AS x ..., then SELECT ... FROM s1")),
        None => Ok(calls),
    }
}

fn first_table_call(e: &TypedExpr) -> Option<Span> {
    let mut found = None;
    e.visit(&mut |x| {
        if is_table_call(x) {
            found.get_or_insert(x.span);
        }
    });
    found
}

pub fn is_table_call(e: &TypedExpr) -> bool {
    matches!(&e.kind, TExpr::Call { func, .. } if func.kind == Kind::Table)
}
