//! FROM with joins: the kind of each join (stream-table, stream-stream, table-table,
//! foreign-key, stream-global table), its ON condition and what makes it invalid. Where
//! the sides are repartitioned, and whether they can be co-partitioned at all (KQL0401),
//! is decided by the physical pass (`exec/physical/co_partition.rs`), which reads the
//! spans the `Source` nodes carry.

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{self, BinaryOp, ExprKind, JoinType, SourceKind};
use crate::syntax::span::Span;

use super::catalog::{Format, SourceDef};
use super::compile::Compiler;
use super::expr::{Binder, TExpr, TypedExpr};
use super::join_key::JoinKey;
use super::logical::{GlobalTableJoin, Join, JoinKind, LogicalPlan, Source};
use super::schema::{Schema, PSEUDO_COLUMNS};
use super::windowed_join::WindowedSide;

type Result<T> = std::result::Result<T, Vec<Diagnostic>>;

/// One side of a join as the planner sees it.
struct Side<'a> {
    def: &'a SourceDef,
    /// The name used in messages and in `SELECT *` prefixes: the alias, else the source.
    name: String,
    plan: LogicalPlan,
    /// Row position where this side's fields start in the joined row.
    offset: usize,
}

/// The result of the FROM clause: the plan, its row layout, and whether it is a stream.
pub struct From {
    pub plan: LogicalPlan,
    pub schema: Schema,
    pub kind: SourceKind,
    /// Whether `SELECT *` should prefix column names with their source (joins).
    pub prefixed: bool,
    /// The key of the joined rows (None without a join).
    pub key: Option<JoinKey>,
}

impl Compiler<'_> {
    pub(super) fn plan_from_clause(&self, q: &ast::Query) -> Result<From> {
        let def = self.lookup(&q.from.name)?;
        let alias = q.from.alias.as_ref().map(|a| a.name.as_str());
        let mut schema = Schema::of_source(def, alias);
        let mut left = Side {
            def,
            name: alias.unwrap_or(&def.name).to_string(),
            plan: LogicalPlan::Source(self.source_node(def, &schema, q.from.name.span)),
            offset: 0,
        };
        let mut kind = def.kind;
        if kind == SourceKind::GlobalTable {
            return Err(vec![Diagnostic::new(Code::InvalidJoin, format!("{} is a GLOBAL TABLE, which can only be joined to", def.name))
                .label(q.from.name.span, "global table in FROM")
                .help("read a global table by joining a stream to it: SELECT ... FROM stream s JOIN global_table g ON s.col = g.pk EMIT CHANGES")]);
        }
        let mut key: Option<JoinKey> = None;
        let mut joined_sources = vec![def.name.as_str()];
        for j in &q.joins {
            let right_def = self.lookup(&j.right.name)?;
            if joined_sources.contains(&right_def.name.as_str()) {
                return Err(vec![Diagnostic::new(
                    Code::InvalidJoin,
                    format!(
                        "{n} is joined to itself: self joins are not supported, as in ksqlDB",
                        n = right_def.name
                    ),
                )
                .label(j.right.name.span, "joined again here")
                .help(match right_def.kind {
                    // a global table is read only by joining to it, not in FROM
                    SourceKind::GlobalTable => format!(
                        "declare a second GLOBAL TABLE over its topic '{}' and join that",
                        right_def.topic
                    ),
                    k => format!(
                        "copy it and join the copy: CREATE {k} {n}_COPY AS SELECT * FROM {n};",
                        k = super::compile::kind_keyword(k),
                        n = right_def.name
                    ),
                })]);
            }
            joined_sources.push(&right_def.name);
            let right_alias = j.right.alias.as_ref().map(|a| a.name.as_str());
            let right_schema = Schema::of_source(right_def, right_alias);
            if right_schema.fields.iter().any(|f| {
                schema
                    .fields
                    .iter()
                    .any(|g| g.qualifiers.iter().any(|q| f.qualifiers.contains(q)))
            }) {
                return Err(vec![Diagnostic::new(
                    Code::DuplicateSource,
                    format!(
                        "{} appears twice in this query",
                        right_alias.unwrap_or(&right_def.name)
                    ),
                )
                .label(j.right.name.span, "second use")
                .help("give each use its own alias: FROM s a JOIN s b ...")]);
            }
            let right = Side {
                def: right_def,
                name: right_alias.unwrap_or(&right_def.name).to_string(),
                plan: LogicalPlan::Source(self.source_node(
                    right_def,
                    &right_schema,
                    j.right.name.span,
                )),
                offset: schema.len(),
            };
            let mut joined = schema.clone();
            joined.fields.extend(right_schema.fields.iter().cloned());
            let (plan, out_kind, (left_key, right_key)) =
                self.join(left, right, j, &joined, kind)?;
            // A broadcast join keeps the stream's key and partitioning.
            if !matches!(plan, LogicalPlan::GlobalTableJoin(_)) {
                let texts = (self.text(left_key.span), self.text(right_key.span));
                let foreign =
                    matches!(&plan, LogicalPlan::Join(n) if n.kind == JoinKind::ForeignKey);
                let next = if foreign {
                    // Rows keyed by the left table's key.
                    let left_pk: Vec<(usize, String)> = def
                        .key_columns()
                        .map(|(i, c)| (i + PSEUDO_COLUMNS.len(), c.name.clone()))
                        .collect();
                    JoinKey::foreign_key(&left_pk, &joined)
                } else {
                    JoinKey::after_join(
                        key.as_ref(),
                        j.join_type,
                        &left_key,
                        &right_key,
                        texts,
                        &joined,
                    )
                };
                // The synthetic key column can be named from here on.
                joined.computed = next
                    .synthetic
                    .iter()
                    .map(|name| (name.clone(), next.value.clone()))
                    .collect();
                key = Some(next);
            }
            kind = out_kind;
            schema = joined;
            left = Side {
                def,
                name: String::new(),
                plan,
                offset: 0,
            };
        }
        Ok(From {
            plan: left.plan,
            schema,
            kind,
            prefixed: !q.joins.is_empty(),
            key,
        })
    }

    pub(super) fn source_node(&self, def: &SourceDef, schema: &Schema, span: Span) -> Source {
        Source {
            name: def.name.clone(),
            topic: def.topic.clone(),
            partitions: (self.topic_partitions)(&def.topic).unwrap_or(def.partitions),
            key_format: def.key_format,
            value_format: def.value_format,
            wrap_single_value: def.wrap_single_value,
            value_delimiter: def.value_delimiter,
            key_delimiter: def.key_delimiter,
            timestamp_column: def.timestamp_column.map(|i| i + PSEUDO_COLUMNS.len()),
            timestamp_format: def.timestamp_format.clone(),
            window: def.window,
            schema: schema.clone(),
            key_count: def.key_columns().count(),
            key_positions: def
                .key_columns()
                .map(|(i, _)| i + PSEUDO_COLUMNS.len())
                .collect(),
            headers: super::header_columns::slots(def),
            kind: def.kind,
            span,
            declared_at: def.declared_at,
            partitions_declared: def.partitions_at.map(|at| (at, self.text(at))),
        }
    }

    fn join(
        &self,
        left: Side,
        right: Side,
        j: &ast::Join,
        schema: &Schema,
        left_kind: SourceKind,
    ) -> Result<(LogicalPlan, SourceKind, (TypedExpr, TypedExpr))> {
        use SourceKind::*;
        let right_kind = right.def.kind;
        let kind = match (left_kind, right_kind) {
            (Stream, Table) => JoinKind::StreamTable,
            (Stream, Stream) => JoinKind::StreamStream,
            (Table, Table) => JoinKind::TableTable,
            (Stream, GlobalTable) => JoinKind::StreamGlobalTable,
            (Table, Stream) => {
                return Err(vec![Diagnostic::new(
                    Code::InvalidJoin,
                    "a stream joins a table with the stream on the left",
                )
                .label(j.right.name.span, "stream on the right")
                .help(format!(
                    "swap the sides: FROM {} JOIN <table> ...",
                    right.def.name
                ))])
            }
            (Table, GlobalTable) | (GlobalTable, _) => {
                return Err(vec![Diagnostic::new(
                    Code::InvalidJoin,
                    "only a stream can be joined to a GLOBAL TABLE",
                )
                .label(j.right.name.span, "global table joined to a table")
                .help(
                    "declare the table as a normal TABLE to join two tables on their primary keys",
                )])
            }
        };
        let type_ok = match kind {
            JoinKind::StreamTable | JoinKind::StreamGlobalTable => {
                matches!(j.join_type, JoinType::Inner | JoinType::Left)
            }
            _ => true,
        };
        if !type_ok {
            return Err(vec![Diagnostic::new(
                Code::InvalidJoin,
                format!("a {} join can be INNER or LEFT", kind.describe()),
            )
            .label(j.span, "unsupported join type")
            .help(
                "only stream-stream and table-table joins can be FULL OUTER, as in ksqlDB",
            )]);
        }
        let (left_key, right_key) = self.join_condition(&left, &right, j, schema)?;
        // The window after the condition, as ksqlDB checks them: a condition that is no
        // join (a literal side, an unknown column) is the first thing to mend.
        match (&j.within, kind) {
            (None, JoinKind::StreamStream) => {
                return Err(vec![Diagnostic::new(
                    Code::InvalidJoin,
                    "a stream-stream join needs a WITHIN window",
                )
                .label(j.span, "no WITHIN")
                .help(format!(
                    "say how far apart matching records may be: ... JOIN {} WITHIN 1 HOUR ON ...",
                    right.def.name
                ))])
            }
            (Some(w), k) if k != JoinKind::StreamStream => {
                return Err(vec![Diagnostic::new(
                Code::InvalidJoin,
                format!(
                    "WITHIN is for stream-stream joins, not {} joins",
                    k.describe()
                ),
            )
            .label(w.before.span.to(w.after.span), "WITHIN here")
            .help(
                "remove WITHIN: a table holds the latest row of each key, so there is no window",
            )])
            }
            _ => {}
        }
        self.check_joinable(&left, &right, &left_key, &right_key, j)?;
        super::windowed_join::check(
            WindowedSide::new(left.def, &left.name, left.offset, &left_key)
                .after_join(!matches!(left.plan, LogicalPlan::Source(_))),
            WindowedSide::new(right.def, &right.name, right.offset, &right_key),
            j.on.span,
        )
        .map_err(|d| vec![d])?;
        let needs_right_pk = matches!(
            kind,
            JoinKind::StreamTable | JoinKind::TableTable | JoinKind::StreamGlobalTable
        );
        let pk = |d: &SourceDef| {
            d.key_columns()
                .next()
                .map(|(i, c)| (i + PSEUDO_COLUMNS.len(), c.name.clone(), c.ty.clone()))
        };
        if needs_right_pk {
            let (pk_pos, pk_name, _) = pk(right.def)
                .ok_or_else(|| vec![Diagnostic::internal("a table without a primary key")])?;
            // A key of several columns cannot be looked up by one expression.
            let whole_key = right.def.key_columns().count() == 1;
            if right_key.kind != TExpr::Column(right.offset + pk_pos) || !whole_key {
                return Err(vec![Diagnostic::new(
                    Code::JoinNotOnKey,
                    format!(
                        "a join to the {} {} must be on its PRIMARY KEY {pk_name}",
                        right.def.kind.describe(),
                        right.def.name
                    ),
                )
                .label(
                    right_key.span,
                    format!("not the primary key of {}", right.def.name),
                )
                .label(
                    right.def.declared_at,
                    format!(
                        "{} is declared here with PRIMARY KEY {pk_name}",
                        right.def.name
                    ),
                )
                .help(format!(
                    "join ON ... = {}.{pk_name}; a table is looked up by its key only",
                    right.name
                ))]);
            }
        }
        // A table-table join whose left side is not the left table's key is a foreign-key
        // join: each left row refers to one right row.
        let kind = if kind == JoinKind::TableTable {
            let (pk_pos, _, _) = pk(left.def)
                .ok_or_else(|| vec![Diagnostic::internal("a table without a primary key")])?;
            let whole_key = left.def.key_columns().count() == 1;
            if left_key.kind == TExpr::Column(left.offset + pk_pos) && whole_key {
                kind
            } else {
                self.check_foreign_key_join(&left, &left_key, &right_key, j)?;
                JoinKind::ForeignKey
            }
        } else {
            kind
        };
        if left_key.ty != right_key.ty {
            return Err(vec![Diagnostic::new(Code::JoinKeyType, format!("the join keys have different types: {} and {}", left_key.ty, right_key.ty))
                .label(left_key.span, format!("this is {}", left_key.ty))
                .label(right_key.span, format!("this is {}", right_key.ty))
                .help(format!(
                    "CAST the {} side so both keys are {}: keys of different types serialize to different bytes, so equal values would land on different partitions",
                    if needs_right_pk { "stream" } else { "left" },
                    right_key.ty
                ))]);
        }
        let join_span = j.on.span;
        if kind == JoinKind::StreamGlobalTable {
            // A broadcast: no distribution requirement on either side.
            let lookup_text = self.text(left_key.span);
            let node = GlobalTableJoin {
                left: Box::new(left.plan),
                right: Box::new(right.plan),
                join_type: j.join_type,
                lookup: left_key.clone(),
                lookup_text,
                span: join_span,
            };
            return Ok((
                LogicalPlan::GlobalTableJoin(node),
                SourceKind::Stream,
                (left_key, right_key),
            ));
        }
        if kind == JoinKind::ForeignKey {
            // No distribution requirement: one task reads both tables whole.
            let key_texts = (self.text(left_key.span), self.text(right_key.span));
            let keys = (left_key.clone(), right_key.clone());
            let node = Join {
                kind,
                join_type: j.join_type,
                left: Box::new(left.plan),
                right: Box::new(right.plan),
                left_key,
                right_key,
                key_texts,
                within: None,
                span: join_span,
            };
            return Ok((LogicalPlan::Join(node), SourceKind::Table, keys));
        }
        let within = j
            .within
            .as_ref()
            .map(|w| (w.before.millis, w.after.millis, w.grace.map(|g| g.millis)));
        let key_texts = (self.text(left_key.span), self.text(right_key.span));
        let keys = (left_key.clone(), right_key.clone());
        let node = Join {
            kind,
            join_type: j.join_type,
            left: Box::new(left.plan),
            right: Box::new(right.plan),
            left_key,
            right_key,
            key_texts,
            within,
            span: join_span,
        };
        let out_kind = if kind == JoinKind::TableTable {
            SourceKind::Table
        } else {
            SourceKind::Stream
        };
        Ok((LogicalPlan::Join(node), out_kind, keys))
    }

    /// What no join can be done on, as in ksqlDB: sources whose values are in the KAFKA
    /// format (a single unnamed value), and a key that is or holds a MAP (a map's entries
    /// serialize in no fixed order, so equal maps could be different keys).
    fn check_joinable(
        &self,
        left: &Side,
        right: &Side,
        left_key: &TypedExpr,
        right_key: &TypedExpr,
        j: &ast::Join,
    ) -> Result<()> {
        let kafka: Vec<&str> = [left.def, right.def]
            .iter()
            .filter(|d| d.value_format == Format::Kafka)
            .map(|d| d.name.as_str())
            .collect();
        if !kafka.is_empty() {
            let mut d = Diagnostic::new(
                Code::InvalidJoin,
                format!(
                    "{} {} the KAFKA value format, which cannot be joined",
                    kafka.join(" and "),
                    if kafka.len() == 1 { "uses" } else { "use" }
                ),
            )
            .label(j.span, "joined here");
            for def in [left.def, right.def]
                .iter()
                .filter(|d| d.value_format == Format::Kafka)
            {
                d = d.label(
                    def.declared_at,
                    format!("{} is declared with value_format='KAFKA'", def.name),
                );
            }
            return Err(vec![d.help(
                "declare the sources with value_format='JSON' (or 'DELIMITED') to join them",
            )]);
        }
        for key in [left_key, right_key] {
            if super::compile::contains_map(&key.ty) {
                return Err(vec![Diagnostic::new(
                    Code::JoinKeyType,
                    format!("a join key cannot be a MAP or hold one (this one is {})", key.ty),
                )
                .label(key.span, format!("this is {}", key.ty))
                .help("join on a column of another type: a map's entries have no fixed order, so equal maps may serialize to different keys")]);
            }
        }
        Ok(())
    }

    /// What a foreign-key join may not be (as in ksqlDB): a later step of a join of joins,
    /// a RIGHT or FULL join.
    fn check_foreign_key_join(
        &self,
        left: &Side,
        left_key: &TypedExpr,
        right_key: &TypedExpr,
        j: &ast::Join,
    ) -> Result<()> {
        let condition = format!(
            "{} = {}",
            self.text(left_key.span),
            self.text(right_key.span)
        );
        if !matches!(left.plan, LogicalPlan::Source(_)) {
            return Err(vec![Diagnostic::new(
                Code::InvalidJoin,
                format!("a foreign-key table-table join can only be the first join of a query (got {condition})"),
            )
            .label(left_key.span, "not the primary key of the tables joined so far")
            .help("join on the key of the first table here, or CREATE TABLE ... AS SELECT the joins so far and join that table")]);
        }
        if matches!(j.join_type, JoinType::Right | JoinType::Full) {
            return Err(vec![Diagnostic::new(
                Code::InvalidJoin,
                format!(
                    "a foreign-key table-table join ({condition}) can be INNER or LEFT, not {}",
                    if j.join_type == JoinType::Right { "RIGHT OUTER" } else { "FULL OUTER" }
                ),
            )
            .label(j.span, "unsupported join type")
            .help("write JOIN or LEFT JOIN, with the table whose column refers to the other's key on the left")]);
        }
        Ok(())
    }

    /// `ON a = b`, with `a` on the left side and `b` on the right (either order written).
    fn join_condition(
        &self,
        left: &Side,
        right: &Side,
        j: &ast::Join,
        schema: &Schema,
    ) -> Result<(TypedExpr, TypedExpr)> {
        let ExprKind::Binary {
            op: BinaryOp::Eq,
            left: a,
            right: b,
        } = &j.on.kind
        else {
            return Err(vec![Diagnostic::new(
                Code::JoinCondition,
                "a join condition is an equality between the two sides",
            )
            .label(j.on.span, "not of the form a = b")
            .help(format!(
                "write ON {}.col = {}.key",
                left.name_or(&left.def.name),
                right.name
            ))]);
        };
        let binder = Binder {
            schema,
            context: "the join condition",
        };
        let (x, y) = (
            binder.bind(a).map_err(|d| vec![d])?,
            binder.bind(b).map_err(|d| vec![d])?,
        );
        let side_of = |e: &TypedExpr| -> Option<bool> {
            let mut cols = Vec::new();
            e.columns(&mut cols);
            let is_right = |c: &usize| *c >= right.offset;
            if cols.is_empty() {
                None
            } else if cols.iter().all(is_right) {
                Some(true)
            } else if cols.iter().all(|c| !is_right(c)) {
                Some(false)
            } else {
                None
            }
        };
        match (side_of(&x), side_of(&y)) {
            (Some(false), Some(true)) => Ok((x, y)),
            (Some(true), Some(false)) => Ok((y, x)),
            _ => Err(vec![Diagnostic::new(
                Code::JoinCondition,
                "each side of the join condition must use the columns of one source",
            )
            .label(
                j.on.span,
                format!(
                    "should compare a column of {} with a column of {}",
                    left.name_or(&left.def.name),
                    right.name
                ),
            )
            .help(format!(
                "write ON {}.col = {}.key",
                left.name_or(&left.def.name),
                right.name
            ))]),
        }
    }
}

impl Side<'_> {
    fn name_or<'b>(&'b self, fallback: &'b str) -> &'b str {
        if self.name.is_empty() {
            fallback
        } else {
            &self.name
        }
    }
}

/// What `SELECT *` names a column of a join: `ALIAS_COLUMN`, as ksqlDB does.
pub fn prefixed_name(qualifier: &str, column: &str) -> String {
    format!("{qualifier}_{column}")
}
