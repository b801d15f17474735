//! Statements that start long-running work: `CREATE STREAM|TABLE ... AS SELECT`,
//! `INSERT INTO ... SELECT` (persistent queries writing a sink topic), connectors, and
//! TERMINATE. The sink of a CREATE ... AS SELECT is a new catalog entry whose key columns
//! are the selected key columns of the query (ksqlDB's rule) and whose value columns are
//! the rest.

use std::path::PathBuf;

use crate::data::SqlType;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{self, ConnectorKind, EmitKind, ExprKind, Literal, SourceKind};
use crate::syntax::span::Span;

use super::catalog::{Column, ColumnRole, Format, SourceDef};
use super::compile::Compiler;
use super::logical::{LogicalPlan, QueryPlan};
use super::properties;
use super::window::WindowType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistentKind {
    CreateStream,
    CreateTable,
    Insert,
}

impl PersistentKind {
    /// ksqlDB's query id prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            PersistentKind::CreateStream => "CSAS",
            PersistentKind::CreateTable => "CTAS",
            PersistentKind::Insert => "INSERTQUERY",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PersistentPlan {
    pub kind: PersistentKind,
    /// The sink: a new definition (CREATE) or the target (INSERT).
    pub sink: SourceDef,
    pub query: QueryPlan,
    /// For each column of the sink (key columns first), the query output column it takes.
    pub sink_columns: Vec<usize>,
    /// The window of a windowed aggregation: its sink's keys are windowed.
    pub window: Option<WindowType>,
    /// CREATE ... AS SELECT WITH (timestamp='col'): each sink record's timestamp is the
    /// value of the sink's timestamp column. INSERT INTO keeps the rows' event time, even
    /// into a target declared with a timestamp column (that column is for its readers).
    pub stamp_from_column: bool,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct ConnectorPlan {
    pub name: String,
    pub kind: ConnectorKind,
    pub class: String,
    pub file: PathBuf,
    /// Where the statement gives the file (for errors about it).
    pub file_span: Span,
    pub topic: String,
    /// JSON field that gives each record's key (kql's short form of ValueToKey).
    pub key_field: Option<String>,
    /// How that key is written: the key format and type of the stream or table declared
    /// on the topic, so an INT key is 4 bytes as a Java producer writes it (None: no
    /// declaration, the field's text).
    pub key_type: Option<(Format, SqlType)>,
    /// JSON field that gives each record's timestamp (epoch ms, or ISO-8601 text);
    /// without it a record is stamped with the time it is loaded.
    pub timestamp_field: Option<String>,
}

type Result<T> = std::result::Result<T, Vec<Diagnostic>>;

/// The window a plan's output keys carry: a windowed aggregation's, or that of the
/// windowed source whose key the rows keep.
pub fn plan_window(plan: &QueryPlan) -> Option<WindowType> {
    let mut node = Some(&plan.root);
    while let Some(n) = node {
        match n {
            LogicalPlan::Aggregate(a) => return a.window.as_ref().map(|w| w.kind),
            LogicalPlan::Project(p) if p.window.is_some() => {
                return p.input.sources().first().and_then(|s| s.window)
            }
            _ => {}
        }
        node = n.inputs().first().copied();
    }
    None
}

fn is_aggregating(plan: &QueryPlan) -> bool {
    aggregate_of(plan).is_some()
}

fn aggregate_of(plan: &QueryPlan) -> Option<&super::aggregate::Aggregate> {
    let mut node = Some(&plan.root);
    while let Some(n) = node {
        if let LogicalPlan::Aggregate(a) = n {
            return Some(a);
        }
        node = n.inputs().first().copied();
    }
    None
}

/// ksqlDB keeps an aggregate's running state in the sink's value format: a call whose
/// state is a STRUCT, ARRAY or MAP (AVG's sum and count, ...) needs a format that holds
/// one, which only JSON does here.
fn check_aggregate_state(plan: &QueryPlan, format: Format, at: Span) -> Result<()> {
    let Some(call) = aggregate_of(plan)
        .into_iter()
        .flat_map(|a| &a.calls)
        .find(|c| c.func.structured_state())
    else {
        return Ok(());
    };
    if format == Format::Json {
        return Ok(());
    }
    Err(vec![Diagnostic::new(
        Code::InvalidPropertyValue,
        format!(
            "{} has an intermediate type (its running state is a structured value) that the {} value format cannot handle",
            call.text,
            format.name()
        ),
    )
    .label(at, format!("values in the {} format", format.name()))
    .help("remove the function or change the format: value_format='JSON' holds any state")])
}

impl Compiler<'_> {
    /// A persistent query's SELECT: EMIT may be left out (it means EMIT CHANGES).
    fn persistent_query(&self, q: &ast::Query) -> Result<QueryPlan> {
        let reserved = super::reserved_names::check(q, true);
        if !reserved.is_empty() {
            return Err(reserved);
        }
        let mut q = q.clone();
        if q.emit.is_none() {
            q.emit = Some(ast::Emit {
                kind: EmitKind::Changes,
                span: q.span,
            });
        }
        if let Some(l) = q.limit {
            let _ = l;
            return Err(vec![Diagnostic::new(
                Code::Unsupported,
                "a persistent query cannot have a LIMIT",
            )
            .label(q.span, "query with LIMIT")
            .help("remove LIMIT; it is for queries that print their rows")]);
        }
        let plan = self.query(&q)?;
        if let Some(s) = plan
            .root
            .sources()
            .into_iter()
            .find(|s| s.window.is_some() && s.kind != SourceKind::Stream)
        {
            return Err(vec![Diagnostic::new(
                Code::Unsupported,
                "KSQL does not support persistent queries on windowed tables.",
            )
            .label(s.span, format!("{} is a windowed table", s.name))
            .help("query it with SELECT ... EMIT CHANGES, or declare its topic as a windowed stream (WINDOW_TYPE) and query that")]);
        }
        Ok(plan)
    }

    pub fn create_as_select(&self, c: &ast::CreateAsSelect, span: Span) -> Result<super::Planned> {
        // IF NOT EXISTS on an existing stream or table does nothing, as in ksqlDB (it must
        // not start a second query into the same sink).
        if let Some(prev) = self.catalog.get(&c.name.name) {
            if c.if_not_exists && !c.or_replace {
                return Ok(super::Planned::CreateSource {
                    def: prev.clone(),
                    or_replace: false,
                    skip: true,
                });
            }
        }
        let mut errors = Vec::new();
        if let Some(prev) = self.catalog.get(&c.name.name) {
            if !c.or_replace && !c.if_not_exists {
                errors.push(
                    Diagnostic::new(
                        Code::DuplicateSource,
                        format!(
                            "a {} named {} already exists",
                            prev.kind.describe(),
                            prev.name
                        ),
                    )
                    .label(c.name.span, "declared again here")
                    .label(prev.declared_at, "first declared here")
                    .help("choose another name, or use INSERT INTO to add to it"),
                );
            }
        }
        let (props, mut prop_errors) = properties::parse(&c.properties);
        errors.append(&mut prop_errors);
        let query_ast = c.query.clone();
        let partitioned = !c.query.partition_by.is_empty();
        let query = match self.persistent_query(&query_ast) {
            Ok(q) => q,
            Err(mut e) => {
                errors.append(&mut e);
                return Err(errors);
            }
        };
        let source = query.root.sources()[0].clone();
        let source_def = self.catalog.get(&source.name);
        let aggregating = is_aggregating(&query);
        if c.kind == SourceKind::Stream && aggregating {
            errors.push(
                Diagnostic::new(
                    Code::SinkKindMismatch,
                    "an aggregation gives a table, not a stream",
                )
                .label(c.name.span, "declared as a stream")
                .help("write CREATE TABLE ... AS SELECT for a GROUP BY query"),
            );
        }
        if c.kind == SourceKind::Table
            && !aggregating
            && source_def.is_some_and(|d| d.kind == SourceKind::Stream)
        {
            errors.push(
                Diagnostic::new(
                    Code::SinkKindMismatch,
                    "a table built from a stream needs GROUP BY",
                )
                .label(c.name.span, "declared as a table")
                .help("aggregate with GROUP BY, or write CREATE STREAM ... AS SELECT"),
            );
        }
        // A join's key is the sink's, unless PARTITION BY gives another.
        if let Some(k) = query.join_key.as_ref().filter(|k| k.columns.is_empty()) {
            if !partitioned {
                errors.push(k.missing(&c.name.name));
            }
        }
        if let Some(k) = query.join_key.as_ref().filter(|_| !partitioned) {
            let names: Vec<String> = query.columns.iter().map(|c| c.name.clone()).collect();
            errors.extend(k.repeated_error(&c.name.name, &names));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // PARTITION BY: the items that select its expressions are the key.
        let keys = if partitioned {
            query.partition_by.clone()
        } else {
            let keyless_ok = self.keyless_projection();
            match super::sink_keys::sink_keys(
                &query,
                &c.name.name,
                select_span(&c.query),
                keyless_ok,
            ) {
                Ok(keys) => keys,
                Err(mut e) => {
                    errors.append(&mut e);
                    return Err(errors);
                }
            }
        };
        if partitioned && !keys.is_empty() && keys.len() == query.columns.len() {
            return Err(vec![Diagnostic::new(
                Code::InvalidKey,
                "The projection contains no value columns.",
            )
            .label(select_span(&c.query), "only key columns")
            .help("select a column that is not a key, or copy a key into the value with AS_VALUE(key)")]);
        }
        if partitioned && keys.is_empty() && props.key_format.is_some_and(|f| f != Format::None) {
            return Err(vec![Diagnostic::new(
                Code::InvalidKey,
                "Key format specified for stream without key columns.",
            )
            .label(c.name.span, "PARTITION BY NULL leaves no key to format")
            .help("remove key_format from the WITH clause")]);
        }
        let mut sink_columns: Vec<usize> = keys.clone();
        sink_columns.extend((0..query.columns.len()).filter(|i| !keys.contains(i)));
        let columns: Vec<Column> = sink_columns
            .iter()
            .map(|&i| Column {
                name: query.columns[i].name.clone(),
                ty: query.columns[i].ty.clone(),
                role: if keys.contains(&i) {
                    ColumnRole::Key
                } else {
                    ColumnRole::Value
                },
                header_key: None,
            })
            .collect();
        // A sink that has key columns where its source had none (NONE) takes the default
        // key format, as in ksqlDB.
        let key_format = match props.key_format {
            Some(f) => f,
            None if source.key_format == Format::None && !keys.is_empty() => self
                .default_formats()
                .get(true, c.name.span)
                .map_err(|d| vec![d])?,
            None => source.key_format,
        };
        if let Err(d) = check_key_format(
            key_format,
            keys.iter().map(|&k| &query.columns[k]),
            &c.name,
            props.key_format.is_some(),
        ) {
            return Err(vec![d]);
        }
        let topic = props.kafka_topic.as_ref().map_or_else(
            || {
                format!(
                    "{}{}",
                    self.output_topic_prefix(),
                    c.name.name.to_ascii_uppercase()
                )
            },
            |(t, _)| t.clone(),
        );
        let (partitions, partitions_at) = match ((self.topic_partitions)(&topic), props.partitions)
        {
            (Some(real), p) => (real, p.map(|(_, s)| s)),
            (None, Some((n, s))) => (n, Some(s)),
            (None, None) => (source.partitions, None),
        };
        let kind = match c.kind {
            SourceKind::Stream => PersistentKind::CreateStream,
            _ => PersistentKind::CreateTable,
        };
        let value_format = props.value_format.unwrap_or(source.value_format);
        let value_columns: Vec<(&str, &SqlType)> = columns
            .iter()
            .filter(|c| c.role == ColumnRole::Value)
            .map(|c| (c.name.as_str(), &c.ty))
            .collect();
        super::properties::check_value_format(value_format, &value_columns, c.name.span)
            .map_err(|d| vec![d])?;
        check_aggregate_state(&query, value_format, c.name.span)?;
        let wrap_single_value = super::properties::wrap_single_value(
            &props,
            value_format,
            value_columns.len(),
            self.wrap_single_values(),
        )
        .map_err(|d| vec![d])?;
        let format_given = c.properties.iter().any(|p| p.name == "timestamp_format");
        let timestamp_column = super::properties::timestamp_column(&props, &columns, format_given)
            .map_err(|d| vec![d])?;
        let inherited =
            (source.value_format == Format::Delimited).then_some(source.value_delimiter);
        let value_delimiter = super::properties::delimiter_of(
            props.value_delimiter,
            "value",
            value_format,
            inherited,
        )
        .map_err(|d| vec![d])?;
        let inherited = (source.key_format == Format::Delimited).then_some(source.key_delimiter);
        let key_delimiter =
            super::properties::delimiter_of(props.key_delimiter, "key", key_format, inherited)
                .map_err(|d| vec![d])?;
        let sink = SourceDef {
            window: plan_window(&query),
            window_declared: false,
            read_only: false,
            value_delimiter,
            key_delimiter,
            name: c.name.name.clone(),
            kind: c.kind,
            columns,
            topic,
            partitions,
            replicas: props.replicas.map_or(1, |(r, _)| r),
            // Sinks keep every update (PRINT shows them) unless compaction is asked for.
            topic_settings: props.topic_settings(false),
            key_format,
            value_format,
            wrap_single_value,
            timestamp_column,
            timestamp_format: timestamp_column.and(props.timestamp_format.clone()),
            declared_at: span,
            partitions_at,
        };
        Ok(super::Planned::Persistent(Box::new(PersistentPlan {
            kind,
            window: plan_window(&query),
            stamp_from_column: timestamp_column.is_some(),
            sink,
            query,
            sink_columns,
            text: self.text(span),
        })))
    }

    pub fn insert_select(&self, i: &ast::InsertSelect, span: Span) -> Result<super::Planned> {
        let target = self.lookup(&i.target)?.clone();
        if target.kind != SourceKind::Stream {
            return Err(vec![Diagnostic::new(
                Code::SinkKindMismatch,
                format!(
                    "INSERT INTO ... SELECT writes a stream; {} is a {}",
                    target.name,
                    target.kind.describe()
                ),
            )
            .label(i.target.span, "not a stream")
            .help(
                "insert into a stream, or create a table with CREATE TABLE ... AS SELECT",
            )]);
        }
        if target.read_only {
            return Err(vec![super::compile::read_only(
                &target,
                i.target.span,
                "Cannot insert into",
            )]);
        }
        if target.has_header_columns() {
            return Err(vec![Diagnostic::new(
                Code::InsertMismatch,
                format!(
                    "Cannot insert into {} because it has header columns",
                    target.name
                ),
            )
            .label(i.target.span, "a stream with header columns")
            .label(target.declared_at, "the target is declared here")
            .help("header columns hold the records' Kafka headers, which a query cannot set; insert into a stream without HEADER or HEADERS columns")]);
        }
        let query = self.persistent_query(&i.query)?;
        let mut sink_columns = Vec::new();
        let mut errors = Vec::new();
        for col in &target.columns {
            match query.columns.iter().position(|c| c.name == col.name) {
                Some(p) if query.columns[p].ty.assignable_to(&col.ty) => sink_columns.push(p),
                Some(p) => errors.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        format!(
                            "column {} of {} is {}, but the query gives {}",
                            col.name, target.name, col.ty, query.columns[p].ty
                        ),
                    )
                    .label(i.query.span, "the query")
                    .label(target.declared_at, "the target is declared here")
                    .help(format!("CAST it: CAST(... AS {}) AS {}", col.ty, col.name)),
                ),
                None => errors.push(
                    Diagnostic::new(
                        Code::InsertMismatch,
                        format!("the query has no column {} for {}", col.name, target.name),
                    )
                    .label(i.query.span, "the query")
                    .label(target.declared_at, "the target is declared here")
                    .help(format!(
                        "select a column named {}: ... AS {}",
                        col.name, col.name
                    )),
                ),
            }
        }
        if query.columns.len() != target.columns.len() && errors.is_empty() {
            errors.push(
                Diagnostic::new(
                    Code::InsertMismatch,
                    format!(
                        "the query gives {} columns; {} has {}",
                        query.columns.len(),
                        target.name,
                        target.columns.len()
                    ),
                )
                .label(i.query.span, "the query")
                .help("select exactly the target's columns"),
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(super::Planned::Persistent(Box::new(PersistentPlan {
            kind: PersistentKind::Insert,
            window: plan_window(&query),
            stamp_from_column: false,
            sink: target,
            query,
            sink_columns,
            text: self.text(span),
        })))
    }

    pub fn connector(&self, c: &ast::CreateConnector, span: Span) -> Result<super::Planned> {
        let mut props = std::collections::BTreeMap::new();
        let mut errors = Vec::new();
        for p in &c.properties {
            match &p.value.kind {
                ExprKind::Literal(Literal::String(s)) => {
                    props.insert(p.name.to_ascii_lowercase(), (s.clone(), p.value.span));
                }
                ExprKind::Literal(Literal::Integer(i)) => {
                    props.insert(p.name.to_ascii_lowercase(), (i.to_string(), p.value.span));
                }
                _ => errors.push(
                    Diagnostic::new(
                        Code::InvalidPropertyValue,
                        format!("{} takes a string", p.name),
                    )
                    .label(p.value.span, "expected a 'string'"),
                ),
            }
        }
        let (want_class, topic_prop) = match c.kind {
            ConnectorKind::Source => ("FileStreamSource", "topic"),
            ConnectorKind::Sink => ("FileStreamSink", "topics"),
        };
        let mut get = |name: &str, example: &str| -> Option<(String, Span)> {
            let v = props.get(name).cloned();
            if v.is_none() {
                errors.push(
                    Diagnostic::new(
                        Code::MissingProperty,
                        format!("the connector needs '{name}'"),
                    )
                    .label(c.name.span, format!("no '{name}'"))
                    .help(format!("add '{name}'='{example}' to its WITH clause")),
                );
            }
            v
        };
        let class = get("connector.class", want_class);
        let file = get("file", "data/input.jsonl");
        let topic = get(topic_prop, "topic_name");
        if !errors.is_empty() {
            return Err(errors);
        }
        let (class, class_span) = class.unwrap();
        let short = class.rsplit('.').next().unwrap_or(&class).to_string();
        if short != want_class {
            return Err(vec![Diagnostic::new(
                Code::InvalidPropertyValue,
                format!("connector class '{class}' is not available"),
            )
            .label(class_span, "unknown connector class")
            .help(format!(
                "kql has Kafka Connect's file connectors: 'connector.class'='{want_class}'"
            ))]);
        }
        let base = std::path::Path::new(self.sources.name(span.source))
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        let (file, file_span) = file.unwrap();
        let file = base.join(file);
        let topic = topic.unwrap().0;
        let key_type = self
            .catalog
            .sources()
            .find(|d| d.topic == topic)
            .and_then(|d| {
                match d
                    .key_columns()
                    .map(|(_, c)| c)
                    .collect::<Vec<_>>()
                    .as_slice()
                {
                    [c] => Some((d.key_format, c.ty.clone())),
                    _ => None,
                }
            });
        Ok(super::Planned::Connector(ConnectorPlan {
            name: c.name.name.clone(),
            kind: c.kind,
            class: short,
            file,
            file_span,
            topic,
            key_field: props.get("key").map(|(k, _)| k.clone()),
            key_type,
            timestamp_field: props.get("timestamp.field").map(|(k, _)| k.clone()),
        }))
    }
}

/// Where a query's SELECT list is, for errors about it: from the first item to FROM.
fn select_span(q: &ast::Query) -> Span {
    let end = q.from.name.span;
    let start = q.select.first().map_or(q.span, |i| match i {
        ast::SelectItem::Star(s) => *s,
        ast::SelectItem::QualifiedStar(id) => id.span,
        ast::SelectItem::StructStar { span, .. } => *span,
        ast::SelectItem::Expr { expr, .. } => expr.span,
    });
    let last = q.select.last().map_or(start, |i| match i {
        ast::SelectItem::Star(s) => *s,
        ast::SelectItem::QualifiedStar(id) => id.span,
        ast::SelectItem::StructStar { span, .. } => *span,
        ast::SelectItem::Expr { expr, alias } => alias.as_ref().map_or(expr.span, |a| a.span),
    });
    if last.end <= end.start {
        start.to(last)
    } else {
        start
    }
}

/// The KAFKA key format holds one column of a type Kafka's serializers write, DELIMITED
/// no ARRAY, MAP or STRUCT; a sink keyed otherwise is an error (as in ksqlDB).
fn check_key_format<'a>(
    format: Format,
    keys: impl Iterator<Item = &'a super::logical::OutputColumn>,
    sink: &ast::Ident,
    explicit: bool,
) -> std::result::Result<(), Diagnostic> {
    // PARTITION BY NULL keys nothing.
    let keys: Vec<&super::logical::OutputColumn> = keys.filter(|k| k.ty != SqlType::Null).collect();
    let nested =
        |t: &SqlType| matches!(t, SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_));
    let reason = match (format, keys.as_slice()) {
        (Format::Json, _)
            if keys
                .iter()
                .any(|k| super::properties::has_non_string_map_key(&k.ty)) =>
        {
            super::properties::JSON_MAP_KEYS_ERROR.to_string()
        }
        (Format::Json, _) | (Format::None, []) => return Ok(()),
        (Format::None, _) => super::properties::none_format_error(
            keys.iter().map(|k| (k.name.as_str(), &k.ty, true)),
        ),
        (Format::Delimited, _) => match keys.iter().find(|k| nested(&k.ty)) {
            Some(k) => format!(
                "The 'DELIMITED' format does not support type '{}', column: `{}`",
                k.ty, k.name
            ),
            None => return Ok(()),
        },
        (Format::Kafka, [] | [_]) if keys.iter().all(|k| kafka_key_type(&k.ty)) => return Ok(()),
        (Format::Kafka, [k]) => format!("The 'KAFKA' format does not support type '{}'", k.ty),
        (Format::Kafka, _) => format!(
            "The 'KAFKA' format only supports a single field. Got: {}",
            keys.iter()
                .map(|k| format!("`{}` {} KEY", k.name, k.ty))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let whence = if explicit {
        format!("key_format='{}'", format.name())
    } else {
        format!(
            "the {} key format, inherited from the source",
            format.name()
        )
    };
    Err(Diagnostic::new(
        Code::InvalidKey,
        format!("Key format does not support schema: {reason}"),
    )
    .label(sink.span, format!("keyed with {whence}"))
    .help(if format == Format::Json {
        super::properties::JSON_MAP_KEYS_HELP.to_string()
    } else {
        format!(
            "give the sink a key format that can hold it: CREATE ... {} WITH (key_format='JSON') AS SELECT ...",
            sink.name
        )
    }))
}

/// Types a KAFKA key can hold.
pub fn kafka_key_type(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::String | SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::Bytes
    )
}
