//! The key columns of a `CREATE ... AS SELECT` sink. As in ksqlDB, the rows keep their key:
//! the source's key columns, the GROUP BY expressions, or the PARTITION BY expressions. The
//! SELECT list must carry each of them exactly once (that item names the sink's key column)
//! and at least one other column for the value; anything else is KQL0504 with ksqlDB's
//! wording. A join's key column is the one `join_key.rs` chose (a join to a global table keeps
//! the left source's selected key columns, unchecked).

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::span::Span;

use super::expr::TExpr;
use super::logical::{LogicalPlan, ProjectItem, QueryPlan};
use super::schema::PSEUDO_COLUMNS;

/// Where a query's key comes from.
enum Origin {
    Source,
    Grouping,
}

/// The output columns that are the sink's key, in key order. `keyless_ok`
/// (`ksql.new.query.planner.enabled`): a query over a source that selects none of its key
/// columns makes rows without a key instead of an error.
pub fn sink_keys(
    plan: &QueryPlan,
    sink: &str,
    select_span: Span,
    keyless_ok: bool,
) -> Result<Vec<usize>, Vec<Diagnostic>> {
    if !plan.partition_by.is_empty() {
        return Ok(plan.partition_by.clone());
    }
    let LogicalPlan::Project(p) = &plan.root else {
        return Ok(Vec::new());
    };
    let mut node = &*p.input;
    let (origin, keys): (Origin, Vec<(usize, String)>) = loop {
        match node {
            LogicalPlan::Aggregate(a) => {
                let keys = a.keys.iter().enumerate();
                break (
                    Origin::Grouping,
                    keys.map(|(i, k)| (i, k.text.clone())).collect(),
                );
            }
            LogicalPlan::Source(s) => {
                let first = PSEUDO_COLUMNS.len();
                let keys =
                    (first..first + s.key_count).map(|i| (i, s.schema.fields[i].name.clone()));
                break (Origin::Source, keys.collect());
            }
            // A join's key column is chosen with the projection (`join_key.rs`).
            LogicalPlan::Join(_) | LogicalPlan::GlobalTableJoin(_) => {
                return Ok(match &plan.join_key {
                    Some(k) => k.columns.clone(),
                    None => joined_keys(plan),
                });
            }
            other => match other.inputs().first().copied() {
                Some(i) => node = i,
                None => return Ok(Vec::new()),
            },
        }
    };
    let mut errors = Vec::new();
    let mut outputs = Vec::new();
    let mut missing = Vec::new();
    for (slot, text) in &keys {
        let refs: Vec<usize> = (0..p.items.len())
            .filter(|&i| p.items[i].expr.kind == TExpr::Column(*slot))
            .collect();
        match refs.as_slice() {
            [] => missing.push(text.as_str()),
            [i] => outputs.push(*i),
            [first, more @ ..] => {
                outputs.push(*first);
                errors.push(twice(&p.items, *first, more, select_span));
            }
        }
    }
    if keyless_ok && matches!(origin, Origin::Source) && outputs.is_empty() && errors.is_empty() {
        return Ok(Vec::new());
    }
    if !missing.is_empty() {
        let what = match (&origin, missing.len()) {
            (Origin::Source, 1) => "key column",
            (Origin::Source, _) => "key columns",
            (Origin::Grouping, 1) => "grouping expression",
            (Origin::Grouping, _) => "grouping expressions",
        };
        errors.push(
            Diagnostic::new(
                Code::InvalidKey,
                format!(
                    "The query used to build `{sink}` must include the {what} {} in its projection (eg, SELECT {}...).",
                    and_list(&missing),
                    missing.join(", ")
                ),
            )
            .label(select_span, format!("no {} here", missing.join(", ")))
            .help(format!(
                "select {}: the sink is keyed by {}",
                if missing.len() == 1 { "it" } else { "them" },
                missing.join(", ")
            )),
        );
    }
    if errors.is_empty() && outputs.len() == p.items.len() {
        errors.push(
            Diagnostic::new(Code::InvalidKey, "The projection contains no value columns.")
                .label(select_span, "only key columns")
                .help("select a column that is not a key, or copy a key into the value with AS_VALUE(key)"),
        );
    }
    if errors.is_empty() {
        Ok(outputs)
    } else {
        Err(errors)
    }
}

fn twice(items: &[ProjectItem], first: usize, more: &[usize], select_span: Span) -> Diagnostic {
    let names: Vec<&str> = std::iter::once(first)
        .chain(more.iter().copied())
        .map(|i| items[i].name.as_str())
        .collect();
    let mut d = Diagnostic::new(
        Code::InvalidKey,
        format!(
            "The projection contains a key column (`{}`) more than once, aliased as: {}.",
            items[first].text,
            and_list(&names)
        ),
    );
    for &i in std::iter::once(&first).chain(more) {
        let span = items[i].expr.span;
        if span != Span::default() {
            d = d.label(span, format!("the key, as {}", items[i].name));
        }
    }
    if d.labels.is_empty() {
        d = d.label(select_span, "the key is selected more than once");
    }
    d.help(format!(
        "select the key once; to keep a copy in the value, write AS_VALUE({}) AS {}",
        items[first].text, names[1]
    ))
}

/// `A`, `A and B`, `A, B and C`.
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A join's rows are keyed by the left source's key: the items that select it.
fn joined_keys(plan: &QueryPlan) -> Vec<usize> {
    let LogicalPlan::Project(p) = &plan.root else {
        return Vec::new();
    };
    let mut node = &*p.input;
    let key_range = loop {
        match node {
            LogicalPlan::Source(s) => {
                break PSEUDO_COLUMNS.len()..PSEUDO_COLUMNS.len() + s.key_count
            }
            other => match other.inputs().first().copied() {
                Some(i) => node = i,
                None => return Vec::new(),
            },
        }
    };
    let mut seen = Vec::new();
    p.items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item.expr.kind {
            TExpr::Column(c) if key_range.contains(&c) && !seen.contains(&c) => {
                seen.push(c);
                Some(i)
            }
            _ => None,
        })
        .collect()
}
