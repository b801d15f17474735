//! GROUP BY, windows and aggregate functions: a query with any of them becomes
//! `Project <- [Filter (HAVING)] <- Aggregate <- [Repartition] <- [Filter (WHERE)] <- Source`.
//!
//! The SELECT list and HAVING are rewritten before they are bound: each aggregate call is
//! bound against the input row and replaced by a reference to its slot in the aggregate's
//! output row, and each expression that is a GROUP BY expression becomes a reference to its
//! key slot. What is left must only read key slots, WINDOWSTART/WINDOWEND and aggregate
//! slots; any other column is an error that says to group by it or aggregate it.
//!
//! Invariant: the aggregate's output row is `keys..., [WINDOWSTART, WINDOWEND], aggs...`.

use crate::data::SqlType;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{self, EmitKind, ExprKind, Literal, SelectItem, SourceKind};
use crate::syntax::span::Span;

use super::catalog::Format;
use super::column_names::ColumnNamer;
use super::compile::Compiler;
use super::expr::{expect_boolean, Binder, TExpr, TypedExpr};
use super::logical::{Filter, LogicalPlan, OutputColumn, Project, ProjectItem, QueryPlan, Source};
use super::schema::{Field, Schema, PSEUDO_COLUMNS};
use super::window::{self, WindowDef};
use crate::functions;

/// `GROUP BY keys [WINDOW w]`: folds the rows of each key (and window) with the aggregate
/// functions; emits every update (EMIT CHANGES) or each window once it closes (EMIT FINAL).
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub input: Box<LogicalPlan>,
    pub keys: Vec<GroupKey>,
    pub window: Option<WindowDef>,
    pub calls: Vec<AggCall>,
    pub emit: EmitKind,
    /// The output row layout (see the module's invariant).
    pub schema: Schema,
    /// GROUP BY something other than the input's key: rows are first re-keyed through an
    /// internal topic so that each key's rows meet in one task.
    pub repartition: bool,
    /// The input is a table: each change of a table row first retracts the row's previous
    /// contribution from its group (ksqlDB's KTable aggregation), so every call can be undone.
    pub table: bool,
    /// The input is a table-table join: the key of its rows (the join key), which tells
    /// which earlier row a change replaces or deletes.
    pub row_key: Option<TypedExpr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupKey {
    pub name: String,
    pub expr: TypedExpr,
    pub text: String,
}

/// COLLECT_LIST and COLLECT_SET keep at most this many values (ksqlDB's default limit;
/// `ksql.functions.collect_list.limit` and `..collect_set.limit` change it); further
/// values are left out.
pub const COLLECT_VALUES_MAX: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    CountStar,
    Count,
    CountDistinct,
    Sum,
    /// The sum of the elements of every array (SUM_LIST).
    SumList,
    Avg,
    Min,
    Max,
    LatestByOffset,
    EarliestByOffset,
    CollectList,
    CollectSet,
    TopK,
    TopKDistinct,
    Histogram,
    /// The sample variance (what ksqlDB's STDDEV_SAMP gives).
    StddevSamp,
    /// The sample standard deviation.
    StddevSample,
    /// Pearson's correlation of the two values of the argument (an ARRAY<DOUBLE> [x, y]).
    Correlation,
    /// The value when every row has the same one (NULL included), else NULL.
    Attr,
}

impl AggFunc {
    /// Is the running state a STRUCT, ARRAY or MAP in ksqlDB (which keeps it in the
    /// value format)?
    pub fn structured_state(self) -> bool {
        matches!(
            self,
            AggFunc::Avg
                | AggFunc::StddevSamp
                | AggFunc::StddevSample
                | AggFunc::Correlation
                | AggFunc::LatestByOffset
                | AggFunc::EarliestByOffset
                | AggFunc::CollectList
                | AggFunc::CollectSet
                | AggFunc::TopK
                | AggFunc::TopKDistinct
                | AggFunc::Histogram
        )
    }

    /// Can a row's contribution be taken back out (needed to aggregate a table)?
    pub fn undoable(self) -> bool {
        matches!(
            self,
            AggFunc::CountStar
                | AggFunc::Count
                | AggFunc::Sum
                | AggFunc::SumList
                | AggFunc::Avg
                | AggFunc::CollectList
                | AggFunc::Histogram
                | AggFunc::StddevSamp
                | AggFunc::StddevSample
                | AggFunc::Correlation
                | AggFunc::Attr
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    /// The argument, bound against the input row (None for COUNT(*)).
    pub arg: Option<TypedExpr>,
    /// TOPK's k; for EARLIEST/LATEST_BY_OFFSET the n of their n-argument form (an
    /// array of the n earliest or latest values), 0 for the single value; for
    /// COLLECT_LIST and COLLECT_SET how many values they keep.
    pub k: usize,
    /// EARLIEST/LATEST_BY_OFFSET skip NULLs unless told not to.
    pub ignore_nulls: bool,
    pub ty: SqlType,
    pub text: String,
}

impl Aggregate {
    pub fn window_slots(&self) -> Option<(usize, usize)> {
        self.window
            .as_ref()
            .map(|_| (self.keys.len(), self.keys.len() + 1))
    }

    pub fn first_agg_slot(&self) -> usize {
        self.keys.len() + if self.window.is_some() { 2 } else { 0 }
    }

    pub fn describe(&self) -> String {
        let keys: Vec<&str> = self.keys.iter().map(|k| k.text.as_str()).collect();
        let calls: Vec<&str> = self.calls.iter().map(|c| c.text.as_str()).collect();
        let mut s = format!(
            "Aggregate by {} computing {}",
            keys.join(", "),
            calls.join(", ")
        );
        if self.repartition {
            let why = if self.input.sources().len() > 1 {
                "a join's rows reach an aggregation through an internal topic"
            } else {
                "the input is not keyed by it: rows go through an internal topic"
            };
            s.push_str(&format!(
                " after a repartition by {} ({why})",
                keys.join(", ")
            ));
        }
        if self.table {
            s.push_str(", retracting a table row's previous values when it changes");
        }
        if let Some(w) = &self.window {
            s.push_str(&format!(", {}", w.describe()));
        }
        s.push_str(match self.emit {
            EmitKind::Changes => ", emit changes",
            EmitKind::Final => ", emit final",
        });
        s
    }
}

/// Does the query aggregate (GROUP BY, WINDOW, or an aggregate function in SELECT)?
pub fn is_aggregate(q: &ast::Query) -> bool {
    !q.group_by.is_empty()
        || q.window.is_some()
        || q.select.iter().any(|i| match i {
            SelectItem::Expr { expr, .. } => has_aggregate(expr),
            _ => false,
        })
}

fn has_aggregate(e: &ast::Expr) -> bool {
    let mut found = false;
    walk(e, &mut |x| {
        if let ExprKind::Function { name, .. } = &x.kind {
            found |= functions::is_aggregate(&name.name);
        }
    });
    found
}

/// Where the first table function call in `e` is.
fn table_function_call(e: &ast::Expr) -> Option<Span> {
    let mut found = None;
    walk(e, &mut |x| {
        if let ExprKind::Function { name, .. } = &x.kind {
            if functions::is_table_function(&name.name) {
                found.get_or_insert(x.span);
            }
        }
    });
    found
}

fn walk(e: &ast::Expr, f: &mut impl FnMut(&ast::Expr)) {
    f(e);
    let mut children: Vec<&ast::Expr> = Vec::new();
    match &e.kind {
        ExprKind::Literal(_) | ExprKind::Column { .. } => {}
        ExprKind::Unary { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::IsNull { expr, .. }
        | ExprKind::Field { expr, .. } => children.push(expr),
        ExprKind::Binary { left, right, .. } => children.extend([&**left, &**right]),
        ExprKind::Function { args, .. } | ExprKind::Array(args) => children.extend(args),
        ExprKind::Case {
            operand,
            whens,
            otherwise,
        } => {
            children.extend(operand.as_deref());
            for (a, b) in whens {
                children.extend([a, b]);
            }
            children.extend(otherwise.as_deref());
        }
        ExprKind::Like { expr, pattern, .. } => children.extend([&**expr, &**pattern]),
        ExprKind::InList { expr, list, .. } => {
            children.push(expr);
            children.extend(list);
        }
        ExprKind::Between {
            expr, low, high, ..
        } => children.extend([&**expr, &**low, &**high]),
        ExprKind::Subscript { expr, index } => children.extend([&**expr, &**index]),
        ExprKind::Map(entries) => {
            for (a, b) in entries {
                children.extend([a, b]);
            }
        }
        ExprKind::Struct(fields) => children.extend(fields.iter().map(|(_, e)| e)),
        ExprKind::Lambda { body, .. } => children.push(body),
    }
    for c in children {
        walk(c, f);
    }
}

/// Rewrites an expression bottom-up: `f` may replace a node (then its children are not
/// visited).
fn rewrite(
    e: &mut ast::Expr,
    f: &mut impl FnMut(&mut ast::Expr) -> std::result::Result<bool, Diagnostic>,
) -> std::result::Result<(), Diagnostic> {
    if f(e)? {
        return Ok(());
    }
    let mut go = |x: &mut ast::Expr| rewrite(x, f);
    match &mut e.kind {
        ExprKind::Literal(_) | ExprKind::Column { .. } => Ok(()),
        ExprKind::Unary { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::IsNull { expr, .. }
        | ExprKind::Field { expr, .. } => go(expr),
        ExprKind::Binary { left, right, .. } => {
            go(left)?;
            go(right)
        }
        ExprKind::Function { args, .. } | ExprKind::Array(args) => args.iter_mut().try_for_each(go),
        ExprKind::Case {
            operand,
            whens,
            otherwise,
        } => {
            if let Some(o) = operand {
                go(o)?;
            }
            for (a, b) in whens {
                go(a)?;
                go(b)?;
            }
            if let Some(o) = otherwise {
                go(o)?;
            }
            Ok(())
        }
        ExprKind::Like { expr, pattern, .. } => {
            go(expr)?;
            go(pattern)
        }
        ExprKind::InList { expr, list, .. } => {
            go(expr)?;
            list.iter_mut().try_for_each(go)
        }
        ExprKind::Between {
            expr, low, high, ..
        } => {
            go(expr)?;
            go(low)?;
            go(high)
        }
        ExprKind::Subscript { expr, index } => {
            go(expr)?;
            go(index)
        }
        ExprKind::Map(entries) => {
            for (a, b) in entries {
                go(a)?;
                go(b)?;
            }
            Ok(())
        }
        ExprKind::Struct(fields) => fields.iter_mut().try_for_each(|(_, x)| go(x)),
        ExprKind::Lambda { body, .. } => go(body),
    }
}

/// Expression text normalised for matching SELECT expressions to GROUP BY expressions.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(|c| c.to_uppercase())
        .collect()
}

/// The name of key `i` in the aggregate's output row (not a name a query can write).
fn key_slot(i: usize) -> String {
    format!("$KEY{i}")
}

fn slot_ref(name: &str, span: Span) -> ast::Expr {
    ast::Expr {
        kind: ExprKind::Column {
            qualifier: None,
            name: ast::Ident {
                name: name.to_string(),
                quoted: true,
                span,
            },
        },
        span,
    }
}

type Result<T> = std::result::Result<T, Vec<Diagnostic>>;

/// What an aggregation reads: one source, or the rows of a join.
pub struct AggInput {
    /// The layout of the rows aggregated.
    pub schema: Schema,
    /// The FROM clause's source, for errors about it.
    pub span: Span,
    /// The sources read whose values are in the KAFKA format (GROUP BY cannot read them).
    pub kafka_sources: Vec<String>,
    /// How many key columns the rows are keyed by, after the pseudo-columns: rows grouped
    /// by exactly those need no repartition. A join's rows: none (they are re-keyed).
    pub key_count: usize,
    /// A table-table join's rows: their key (`Aggregate::row_key`).
    pub row_key: Option<TypedExpr>,
    /// The rows of a join.
    pub joined: bool,
}

/// Plans an aggregating query; `source` and `plan` are the query's input (FROM and WHERE).
pub fn plan(
    c: &Compiler,
    q: &ast::Query,
    source: AggInput,
    input: LogicalPlan,
    source_kind: SourceKind,
) -> Result<QueryPlan> {
    let mut errors = Vec::new();
    let schema = source.schema.clone();
    let table = source_kind != SourceKind::Stream;
    if table {
        if let Some(w) = &q.window {
            errors.push(
                Diagnostic::new(Code::NotOnTable, "a table source cannot be windowed")
                    .label(w.span, "WINDOW on a table")
                    .label(source.span, "a table")
                    .help(
                        "remove the WINDOW clause, or aggregate the stream the table is built from",
                    ),
            );
        }
    }
    if let (false, Some(g)) = (source.kafka_sources.is_empty(), q.group_by.first()) {
        errors.push(
            Diagnostic::new(
                Code::Unsupported,
                format!(
                    "Source(s) {} are using the 'KAFKA' value format. This format does not yet support GROUP BY.",
                    source.kafka_sources.join(", ")
                ),
            )
            .label(g.span, "grouped here")
            .label(source.span, "its values are in the KAFKA format")
            .help("copy the source into a JSON or DELIMITED topic first (CREATE STREAM ... WITH (value_format='JSON') AS SELECT ...), then group that, as in ksqlDB"),
        );
    }
    if let Some(p) = q.partition_by.first() {
        errors.push(
            Diagnostic::new(Code::Unsupported, "PARTITION BY with GROUP BY")
                .label(p.span, "the GROUP BY keys already decide the partitioning")
                .help("remove PARTITION BY"),
        );
    }
    let emit = q.emit.map_or(EmitKind::Changes, |e| e.kind);
    let window = match &q.window {
        Some(_) if table => None,
        Some(w) => match window::plan(w, emit == EmitKind::Final) {
            Ok(w) => Some(w),
            Err(d) => {
                errors.push(d);
                None
            }
        },
        None => None,
    };
    if let Some(e) = q.emit {
        if e.kind == EmitKind::Final && q.window.is_none() {
            errors.push(
                Diagnostic::new(
                    Code::EmitFinalWithoutWindow,
                    "EMIT FINAL needs a windowed aggregation",
                )
                .label(e.span, "EMIT FINAL without a WINDOW")
                .help("use EMIT CHANGES, or add WINDOW TUMBLING (SIZE 1 MINUTE) before WHERE"),
            );
        }
    }
    if q.group_by.is_empty() {
        let span = q.window.as_ref().map_or(q.span, |w| w.span);
        errors.push(
            Diagnostic::new(Code::NotGrouped, "an aggregation needs GROUP BY")
                .label(span, "aggregating without GROUP BY")
                .help("add GROUP BY with the columns that identify a group, e.g. GROUP BY sensor"),
        );
    }
    // The SELECT items' names, given before anything is rewritten (ksqlDB's rules,
    // `column_names.rs`): a GROUP BY expression that is selected takes its item's name.
    let source_columns = || {
        schema
            .fields
            .iter()
            .filter(|f| !f.pseudo)
            .map(|f| f.name.as_str())
    };
    let mut namer = ColumnNamer::new(source_columns());
    let select = expand_stars(&q.select, &schema);
    let item_names: Vec<Option<String>> = select
        .iter()
        .map(|item| match item {
            SelectItem::Expr { expr, alias } => Some(match (alias, &expr.kind) {
                (Some(a), _) => a.name.clone(),
                (None, ExprKind::Column { name, .. }) => name.name.clone(),
                (None, ExprKind::Field { field, .. }) => namer.field(&field.name),
                _ => namer.generated(),
            }),
            _ => None,
        })
        .collect();
    // Keys, bound against the input row.
    let binder = Binder {
        schema: &schema,
        context: "GROUP BY",
    };
    let mut key_namer = ColumnNamer::new(source_columns());
    let mut keys: Vec<GroupKey> = Vec::new();
    for g in &q.group_by {
        match binder.bind(g) {
            Ok(expr) => {
                if keys.iter().any(|k| k.expr.same_as(&expr)) {
                    errors.push(
                        Diagnostic::new(
                            Code::NotGrouped,
                            format!("Duplicate GROUP BY expression: {}", c.text(g.span)),
                        )
                        .label(g.span, "grouped by already")
                        .help("remove the repeated expression from GROUP BY"),
                    );
                    continue;
                }
                let selected = select.iter().zip(&item_names).find_map(|(item, name)| {
                    let SelectItem::Expr { expr: e, .. } = item else {
                        return None;
                    };
                    let same = normalise(&c.text(e.span)) == normalise(&c.text(g.span))
                        || binder.bind(e).is_ok_and(|b| b.same_as(&expr));
                    same.then(|| name.clone()).flatten()
                });
                let name = selected.unwrap_or_else(|| match &g.kind {
                    ExprKind::Column { name, .. } => name.name.clone(),
                    ExprKind::Field { field, .. } => key_namer.field(&field.name),
                    _ => key_namer.generated(),
                });
                keys.push(GroupKey {
                    name,
                    expr,
                    text: c.text(g.span),
                });
            }
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // The output row's schema, filled in as aggregate calls are found.
    let qualifiers: Vec<String> = schema
        .fields
        .iter()
        .find(|f| !f.pseudo)
        .map_or_else(Vec::new, |f| f.qualifiers.clone());
    let mut out_fields: Vec<Field> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Field {
            qualifiers: qualifiers.clone(),
            name: key_slot(i),
            ty: k.expr.ty.clone(),
            pseudo: false,
        })
        .collect();
    if window.is_some() {
        for n in ["WINDOWSTART", "WINDOWEND"] {
            out_fields.push(Field {
                qualifiers: qualifiers.clone(),
                name: n.to_string(),
                ty: SqlType::Bigint,
                pseudo: true,
            });
        }
    }
    let mut calls: Vec<AggCall> = Vec::new();
    // Calls that cannot be undone, which a table's changes would need: (name, span).
    let mut not_undoable: Vec<(String, Span)> = Vec::new();
    let key_texts: Vec<String> = keys.iter().map(|k| normalise(&k.text)).collect();
    let key_binder = binder_for(&schema, "GROUP BY");
    let mut rewrite_expr =
        |e: &ast::Expr, context: &'static str| -> std::result::Result<ast::Expr, Diagnostic> {
            let mut e = e.clone();
            rewrite(&mut e, &mut |x| {
                let text = normalise(&c.text(x.span));
                let key = key_texts.iter().position(|k| *k == text).or_else(|| {
                    // The same expression written another way (`t.a` for `a`).
                    let bound = key_binder.bind(x).ok()?;
                    keys.iter().position(|k| k.expr.same_as(&bound))
                });
                if let Some(i) = key {
                    *x = slot_ref(&key_slot(i), x.span);
                    return Ok(true);
                }
                let ExprKind::Function {
                    name,
                    args,
                    distinct,
                    star,
                } = &x.kind
                else {
                    return Ok(false);
                };
                if !functions::is_aggregate(&name.name) {
                    return Ok(false);
                }
                let mut call = bind_call(
                    &binder_for(&schema, context),
                    name,
                    args,
                    *distinct,
                    *star,
                    x.span,
                    c.text(x.span),
                )?;
                if let Some(limit) = c.collect_limit(call.func) {
                    call.k = limit;
                }
                let slot = match calls.iter().position(|k| normalise(&k.text) == text) {
                    Some(i) => i,
                    None => {
                        if table && !call.func.undoable() {
                            not_undoable.push((name.name.clone(), x.span));
                        }
                        calls.push(call);
                        calls.len() - 1
                    }
                };
                *x = slot_ref(&format!("$AGG{slot}"), x.span);
                Ok(true)
            })?;
            Ok(e)
        };
    let mut rewritten: Vec<(ast::Expr, Option<ast::Ident>, String)> = Vec::new();
    for item in &select {
        match item {
            SelectItem::Expr { expr, alias } => match rewrite_expr(expr, "the SELECT list") {
                Ok(r) => rewritten.push((r, alias.clone(), c.text(expr.span))),
                Err(d) => errors.push(d),
            },
            SelectItem::Star(span)
            | SelectItem::QualifiedStar(ast::Ident { span, .. })
            | SelectItem::StructStar { span, .. } => errors.push(
                Diagnostic::new(Code::NotGrouped, "SELECT * cannot be used with GROUP BY")
                    .label(*span, "every column would have to be grouped or aggregated")
                    .help("list the GROUP BY columns and the aggregates, e.g. SELECT sensor, COUNT(*) AS n"),
            ),
        }
    }
    let having = match &q.having {
        Some(h) => match rewrite_expr(h, "HAVING") {
            Ok(r) => Some((r, c.text(h.span))),
            Err(d) => {
                errors.push(d);
                None
            }
        },
        None => None,
    };
    if !not_undoable.is_empty() {
        let mut names: Vec<&str> = Vec::new();
        for (n, _) in &not_undoable {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
        let mut d = Diagnostic::new(
            Code::NotOnTable,
            format!(
                "The aggregation function(s) {} cannot be applied to a table source, only to a stream source.",
                names.join(", ")
            ),
        );
        for (_, span) in &not_undoable {
            d = d.label(*span, "cannot be undone when a table row changes");
        }
        errors.push(
            d.label(source.span, "a table").help(
                "on a table use COUNT, SUM, AVG or COLLECT_LIST, or aggregate the stream the table is built from",
            ),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for (i, call) in calls.iter().enumerate() {
        out_fields.push(Field {
            qualifiers: qualifiers.clone(),
            name: format!("$AGG{i}"),
            ty: call.ty.clone(),
            pseudo: true,
        });
    }
    let out_schema = Schema::new(out_fields);
    // Anything still reading an input column that is not a key is an error.
    let check_grouped = |e: &ast::Expr, errors: &mut Vec<Diagnostic>| {
        walk(e, &mut |x| {
            if let ExprKind::Column { name, .. } = &x.kind {
                let known = out_schema.fields.iter().any(|f| f.name == name.name);
                let input_col = schema.fields.iter().any(|f| f.name == name.name);
                if !known && input_col {
                    errors.push(
                        Diagnostic::new(
                            Code::NotGrouped,
                            format!(
                                "column {} is neither in GROUP BY nor inside an aggregate",
                                name.name
                            ),
                        )
                        .label(name.span, "not grouped")
                        .help(format!(
                            "add it to GROUP BY, or aggregate it, e.g. LATEST_BY_OFFSET({})",
                            name.name
                        )),
                    );
                }
            }
        });
    };
    for (e, _, _) in &rewritten {
        check_grouped(e, &mut errors);
        if source.joined && window.is_some() {
            window_bounds_of_join(e, &mut errors);
        }
    }
    if let Some((h, _)) = &having {
        check_grouped(h, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Repartition unless the keys are exactly the input's key columns.
    let n_pseudo = PSEUDO_COLUMNS.len();
    let keyed_by_source = keys.len() == source.key_count
        && keys
            .iter()
            .enumerate()
            .all(|(i, k)| k.expr.kind == TExpr::Column(n_pseudo + i));
    let mut plan = LogicalPlan::Aggregate(Aggregate {
        input: Box::new(input),
        keys,
        window,
        calls,
        emit,
        schema: out_schema.clone(),
        repartition: !keyed_by_source,
        table,
        row_key: source.row_key.clone(),
    });
    let out_binder = Binder {
        schema: &out_schema,
        context: "the SELECT list",
    };
    if let Some((h, text)) = having {
        match out_binder
            .bind(&h)
            .and_then(|p| expect_boolean(&p, "HAVING").map(|_| p))
        {
            Ok(predicate) => {
                plan = LogicalPlan::Filter(Filter {
                    input: Box::new(plan),
                    predicate,
                    text,
                })
            }
            Err(d) => errors.push(d),
        }
    }
    let mut items: Vec<ProjectItem> = Vec::new();
    for ((e, _, text), name) in rewritten.into_iter().zip(item_names.into_iter().flatten()) {
        match out_binder.bind(&e) {
            Ok(bound) => {
                if items.iter().any(|i| i.name == name) {
                    errors.push(
                        Diagnostic::new(
                            Code::DuplicateColumn,
                            format!("the output has two columns named {name}"),
                        )
                        .label(e.span, "second column with this name")
                        .help(format!("give one of them another name: {text} AS {name}_2")),
                    );
                }
                items.push(ProjectItem {
                    name,
                    expr: bound,
                    text,
                });
            }
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let columns = items
        .iter()
        .map(|i| OutputColumn {
            name: i.name.clone(),
            ty: i.expr.ty.clone(),
        })
        .collect();
    Ok(QueryPlan {
        root: LogicalPlan::Project(Project {
            input: Box::new(plan),
            items,
            table_functions: Vec::new(),
            table_base: 0,
            window: None,
        }),
        columns,
        emit,
        limit: q.limit,
        partition_by: Vec::new(),
        join_key: None,
    })
}

/// ksqlDB does not give a windowed aggregation of a join its window's bounds as SELECT
/// columns (the sink's key carries the window): WINDOWSTART and WINDOWEND are refused.
fn window_bounds_of_join(e: &ast::Expr, errors: &mut Vec<Diagnostic>) {
    walk(e, &mut |x| {
        if let ExprKind::Column { name, .. } = &x.kind {
            if !name.quoted && matches!(name.name.as_str(), "WINDOWSTART" | "WINDOWEND") {
                errors.push(
                    Diagnostic::new(
                        Code::UnknownColumn,
                        format!("SELECT column '{}' cannot be resolved.", name.name),
                    )
                    .label(name.span, "not a column of a windowed aggregation of a join")
                    .help("the window is part of each output row's key; as in ksqlDB, an aggregation of a join cannot select its bounds"),
                );
            }
        }
    });
}

/// The SELECT list with `*` (and `source.*`) replaced by a reference to each column of
/// the source, key columns first: each must then be grouped, as in ksqlDB, so a column
/// that is not is the usual "not in GROUP BY" error.
fn expand_stars(select: &[SelectItem], schema: &Schema) -> Vec<SelectItem> {
    let mut out = Vec::with_capacity(select.len());
    for item in select {
        match item {
            SelectItem::Star(span) | SelectItem::QualifiedStar(ast::Ident { span, .. }) => out
                .extend(
                    schema
                        .fields
                        .iter()
                        .filter(|f| !f.pseudo)
                        .map(|f| SelectItem::Expr {
                            expr: slot_ref(&f.name, *span),
                            alias: None,
                        }),
                ),
            other => out.push(other.clone()),
        }
    }
    out
}

fn binder_for<'a>(schema: &'a Schema, context: &'static str) -> Binder<'a> {
    Binder { schema, context }
}

fn bind_call(
    binder: &Binder,
    name: &ast::Ident,
    args: &[ast::Expr],
    distinct: bool,
    star: bool,
    span: Span,
    text: String,
) -> std::result::Result<AggCall, Diagnostic> {
    let n = name.name.as_str();
    let arity = |want: usize, example: &str| -> std::result::Result<(), Diagnostic> {
        if args.len() != want || star {
            Err(Diagnostic::new(
                Code::WrongArgumentCount,
                format!(
                    "{n} takes {want} argument(s), but {} were given",
                    if star { 0 } else { args.len() }
                ),
            )
            .label(span, "wrong number of arguments")
            .help(format!("for example: {example}")))
        } else {
            Ok(())
        }
    };
    // COUNT() counts rows, as COUNT(*) does.
    if n == "COUNT" && (star || args.is_empty()) {
        return Ok(AggCall {
            func: AggFunc::CountStar,
            arg: None,
            k: 0,
            ignore_nulls: true,
            ty: SqlType::Bigint,
            text,
        });
    }
    let example = match n {
        "TOPK" => "TOPK(temp, 3) or TOPK(temp, sensor, 3)",
        "TOPKDISTINCT" => "TOPKDISTINCT(temp, 3)",
        "COUNT" => "COUNT(*) or COUNT(sensor)",
        "CORRELATION" => "CORRELATION(x, y)",
        "LATEST_BY_OFFSET" => {
            "LATEST_BY_OFFSET(x), LATEST_BY_OFFSET(x, false) or LATEST_BY_OFFSET(x, 3, false)"
        }
        "EARLIEST_BY_OFFSET" => {
            "EARLIEST_BY_OFFSET(x), EARLIEST_BY_OFFSET(x, false) or EARLIEST_BY_OFFSET(x, 3, false)"
        }
        _ => "SUM(temp)",
    };
    match n {
        "TOPK" if args.len() > 2 => {}
        "TOPK" | "TOPKDISTINCT" | "CORRELATION" => arity(2, example)?,
        "LATEST_BY_OFFSET" | "EARLIEST_BY_OFFSET" if (1..=3).contains(&args.len()) => {}
        _ => arity(1, example)?,
    }
    let mut arg = binder.bind(&args[0])?;
    if n == "CORRELATION" {
        arg = pair_of_doubles(arg, binder.bind(&args[1])?, example)?;
    }
    let aty = arg.ty.clone();
    let wrong = |what: &str| {
        Diagnostic::new(
            Code::WrongArgumentType,
            format!("{n} needs {what}, not {aty}"),
        )
        .label(arg.span, format!("this is {aty}"))
        .help(format!("for example: {example}"))
    };
    let (func, ty) = match n {
        "COUNT" if distinct => (AggFunc::CountDistinct, SqlType::Bigint),
        "COUNT_DISTINCT" => (AggFunc::CountDistinct, SqlType::Bigint),
        "COUNT" => (AggFunc::Count, SqlType::Bigint),
        "SUM" => {
            if !aty.is_numeric() {
                return Err(wrong("a number"));
            }
            (AggFunc::Sum, aty.clone())
        }
        "SUM_LIST" => match &aty {
            SqlType::Array(t)
                if matches!(**t, SqlType::Int | SqlType::Bigint | SqlType::Double) =>
            {
                (AggFunc::SumList, (**t).clone())
            }
            _ => return Err(wrong("an ARRAY of INT, BIGINT or DOUBLE")),
        },
        "AVG" => {
            if !aty.is_numeric() {
                return Err(wrong("a number"));
            }
            (AggFunc::Avg, SqlType::Double)
        }
        "MIN" | "MAX" => {
            if !(aty.is_numeric()
                || matches!(
                    aty,
                    SqlType::String | SqlType::Timestamp | SqlType::Date | SqlType::Time
                ))
            {
                return Err(wrong("a number, a string or a time"));
            }
            (
                if n == "MIN" {
                    AggFunc::Min
                } else {
                    AggFunc::Max
                },
                aty.clone(),
            )
        }
        "LATEST_BY_OFFSET" | "EARLIEST_BY_OFFSET" => {
            let f = if n == "LATEST_BY_OFFSET" {
                AggFunc::LatestByOffset
            } else {
                AggFunc::EarliestByOffset
            };
            let (count, _) = by_offset_options(&args[1..], example)?;
            match count {
                0 => (f, aty.clone()),
                _ => (f, SqlType::Array(Box::new(aty.clone()))),
            }
        }
        "HISTOGRAM" => {
            if aty != SqlType::String {
                return Err(wrong("a string"));
            }
            (
                AggFunc::Histogram,
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bigint)),
            )
        }
        "STDDEV_SAMP" | "STDDEV_SAMPLE" => {
            if !aty.is_numeric() {
                return Err(wrong("a number"));
            }
            let f = if n == "STDDEV_SAMP" {
                AggFunc::StddevSamp
            } else {
                AggFunc::StddevSample
            };
            (f, SqlType::Double)
        }
        "CORRELATION" => (AggFunc::Correlation, SqlType::Double),
        "ATTR" => (AggFunc::Attr, aty.clone()),
        "COLLECT_LIST" => (AggFunc::CollectList, SqlType::Array(Box::new(aty.clone()))),
        "COLLECT_SET" => (AggFunc::CollectSet, SqlType::Array(Box::new(aty.clone()))),
        "TOPK" => {
            if !(aty.is_numeric() || aty == SqlType::String) {
                return Err(wrong("a number or a string"));
            }
            if args.len() > 2 {
                arg = topk_struct(arg, &args[1..args.len() - 1], binder)?;
            }
            (AggFunc::TopK, SqlType::Array(Box::new(arg.ty.clone())))
        }
        "TOPKDISTINCT" => {
            if !(aty.is_numeric()
                || matches!(
                    aty,
                    SqlType::String | SqlType::Timestamp | SqlType::Date | SqlType::Time
                ))
            {
                return Err(wrong("a number, a string or a time"));
            }
            (AggFunc::TopKDistinct, SqlType::Array(Box::new(aty.clone())))
        }
        _ => return Err(Diagnostic::internal(format!("unknown aggregate {n}"))),
    };
    let (k, ignore_nulls) = match func {
        AggFunc::TopK | AggFunc::TopKDistinct => match &args[args.len() - 1].kind {
            ExprKind::Literal(Literal::Integer(k)) if (1..=1000).contains(k) => (*k as usize, true),
            _ => {
                return Err(Diagnostic::new(
                    Code::WrongArgumentType,
                    format!("{n}'s last argument is how many values to keep"),
                )
                .label(
                    args[args.len() - 1].span,
                    "expected a whole number from 1 to 1000",
                )
                .help(format!("for example: {example}")))
            }
        },
        AggFunc::LatestByOffset | AggFunc::EarliestByOffset => {
            by_offset_options(&args[1..], example)?
        }
        AggFunc::CollectList | AggFunc::CollectSet => (COLLECT_VALUES_MAX, true),
        _ => (0, true),
    };
    if distinct && func != AggFunc::CountDistinct {
        return Err(Diagnostic::new(
            Code::Unsupported,
            format!("{n}(DISTINCT ...) is not supported"),
        )
        .label(span, "DISTINCT here")
        .help("only COUNT(DISTINCT x) takes DISTINCT; COLLECT_SET gives the distinct values"));
    }
    Ok(AggCall {
        func,
        arg: Some(arg),
        k,
        ignore_nulls,
        ty,
        text,
    })
}

/// The options after EARLIEST/LATEST_BY_OFFSET's value: `[n,] [ignore_nulls]`, both
/// literals. Returns (n, or 0 for the single-value form; ignore_nulls, true unless said).
fn by_offset_options(
    options: &[ast::Expr],
    example: &str,
) -> std::result::Result<(usize, bool), Diagnostic> {
    let bad = |e: &ast::Expr, what: &str| {
        Diagnostic::new(
            Code::WrongArgumentType,
            format!("this argument must be {what}"),
        )
        .label(e.span, format!("expected {what}"))
        .help(format!("for example: {example}"))
    };
    match options {
        [] => Ok((0, true)),
        [e] => match &e.kind {
            ExprKind::Literal(Literal::Boolean(b)) => Ok((0, *b)),
            ExprKind::Literal(Literal::Integer(k)) if (1..=1000).contains(k) => {
                Ok((*k as usize, true))
            }
            _ => Err(bad(
                e,
                "how many values to keep (1 to 1000) or whether to ignore NULLs (TRUE or FALSE)",
            )),
        },
        [count, ignore, ..] => {
            let k = match &count.kind {
                ExprKind::Literal(Literal::Integer(k)) if (1..=1000).contains(k) => *k as usize,
                _ => return Err(bad(count, "how many values to keep, 1 to 1000")),
            };
            match &ignore.kind {
                ExprKind::Literal(Literal::Boolean(b)) => Ok((k, *b)),
                _ => Err(bad(ignore, "whether to ignore NULLs, TRUE or FALSE")),
            }
        }
    }
}

/// TOPK(x, other..., k)'s value per row, as ksqlDB gives it: a struct of `sort_col` (x,
/// what the rows are ranked by) and `col0`, `col1`, ... (the other columns, in order).
fn topk_struct(
    sort: TypedExpr,
    others: &[ast::Expr],
    binder: &Binder,
) -> std::result::Result<TypedExpr, Diagnostic> {
    let mut span = sort.span;
    let mut types = vec![("sort_col".to_string(), sort.ty.clone())];
    let mut values = vec![sort];
    for (i, e) in others.iter().enumerate() {
        let b = binder.bind(e)?;
        span = span.to(b.span);
        types.push((format!("col{i}"), b.ty.clone()));
        values.push(b);
    }
    Ok(TypedExpr {
        kind: TExpr::MakeStruct(values),
        ty: SqlType::Struct(types),
        span,
    })
}

/// CORRELATION's two arguments as one value, `ARRAY[CAST(x AS DOUBLE), CAST(y AS DOUBLE)]`,
/// so the aggregation evaluates one expression per call.
fn pair_of_doubles(
    x: TypedExpr,
    y: TypedExpr,
    example: &str,
) -> std::result::Result<TypedExpr, Diagnostic> {
    for e in [&x, &y] {
        if !e.ty.is_numeric() && e.ty != SqlType::Null {
            return Err(Diagnostic::new(
                Code::WrongArgumentType,
                format!("CORRELATION needs numbers, not {}", e.ty),
            )
            .label(e.span, format!("this is {}", e.ty))
            .help(format!("for example: {example}")));
        }
    }
    let span = x.span.to(y.span);
    Ok(TypedExpr {
        kind: TExpr::MakeArray(vec![
            x.cast_to(&SqlType::Double),
            y.cast_to(&SqlType::Double),
        ]),
        ty: SqlType::Array(Box::new(SqlType::Double)),
        span,
    })
}

impl Compiler<'_> {
    /// A query with GROUP BY, WINDOW or aggregates: FROM and WHERE as in any query, then
    /// the aggregation (see `plan`).
    pub fn aggregate_query(&self, q: &ast::Query) -> Result<QueryPlan> {
        let def = self.lookup(&q.from.name)?;
        if q.emit.is_none() {
            return Err(vec![Diagnostic::new(
                Code::Unsupported,
                format!(
                    "a query on the stream {} must say EMIT CHANGES or EMIT FINAL",
                    def.name
                ),
            )
            .label(q.span, "no EMIT clause")
            .help(
                "add EMIT CHANGES (every update) or EMIT FINAL (each window once, when it closes)",
            )]);
        }
        for item in &q.select {
            if let SelectItem::Expr { expr, .. } = item {
                if let Some(span) = table_function_call(expr) {
                    return Err(vec![Diagnostic::new(
                        Code::Unsupported,
                        "Table functions cannot be used with aggregations.",
                    )
                    .label(span, "table function in an aggregation")
                    .help("explode in a CREATE STREAM ... AS SELECT first, then aggregate that stream")]);
                }
            }
        }
        let (source, mut input, kind) = if q.joins.is_empty() {
            let alias = q.from.alias.as_ref().map(|a| a.name.as_str());
            let schema = Schema::of_source(def, alias);
            let node = self.source_node(def, &schema, q.from.name.span);
            let source = AggInput {
                schema,
                span: node.span,
                kafka_sources: kafka_sources(std::slice::from_ref(&&node)),
                key_count: node.key_count,
                row_key: None,
                joined: false,
            };
            (source, LogicalPlan::Source(node), def.kind)
        } else {
            self.joined_input(q)?
        };
        let schema = source.schema.clone();
        if let Some(f) = &q.filter {
            if has_aggregate(f) {
                return Err(vec![Diagnostic::new(
                    Code::NotGrouped,
                    "WHERE is applied before aggregation, so it cannot use an aggregate",
                )
                .label(f.span, "aggregate in WHERE")
                .help("move the condition to HAVING")]);
            }
            let binder = Binder {
                schema: &schema,
                context: "WHERE",
            };
            let predicate = binder
                .bind(f)
                .and_then(|p| expect_boolean(&p, "WHERE").map(|_| p))
                .map_err(|d| vec![d])?;
            input = LogicalPlan::Filter(Filter {
                input: Box::new(input),
                predicate,
                text: self.text(f.span),
            });
        }
        plan(self, q, source, input, kind)
    }

    /// The rows of the FROM clause's joins, as an aggregation reads them: re-keyed by the
    /// GROUP BY expressions through an internal topic. A join of tables (a foreign-key
    /// join's too) gives a table, whose rows go by their key (`row_key`) first.
    fn joined_input(&self, q: &ast::Query) -> Result<(AggInput, LogicalPlan, SourceKind)> {
        let from = self.plan_from_clause(q)?;
        let source = AggInput {
            schema: from.schema,
            span: q.from.name.span,
            kafka_sources: kafka_sources(&from.plan.sources()),
            key_count: 0,
            row_key: (from.kind != SourceKind::Stream)
                .then(|| from.key.map(|k| k.value))
                .flatten(),
            joined: true,
        };
        Ok((source, from.plan, from.kind))
    }
}

/// The names of the sources whose values are in the KAFKA format.
fn kafka_sources(sources: &[&Source]) -> Vec<String> {
    sources
        .iter()
        .filter(|s| s.value_format == Format::Kafka)
        .map(|s| s.name.clone())
        .collect()
}
