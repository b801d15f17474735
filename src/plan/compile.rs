//! Statements to plans: checks names and types against the catalog and produces what the
//! executor runs. Errors are collected per statement, not stopped at the first.

use std::collections::HashMap;

use crate::data::SqlType;
use crate::diagnostic::{Code, Diagnostic};
use crate::sources::Sources;
use crate::syntax::ast::{
    self, EmitKind, KeyMarker, SelectItem, SourceKind, Statement, StatementKind,
};
use crate::syntax::span::Span;

use super::catalog::{did_you_mean, Catalog, Column, ColumnRole, Format, SourceDef};
use super::column_names::ColumnNamer;
use super::expr::{expect_boolean, resolve_type_in, Binder, TExpr, TypedExpr};
use super::logical::{Filter, LogicalPlan, OutputColumn, Project, ProjectItem, QueryPlan};
use super::properties;
use super::schema::{Schema, PSEUDO_COLUMNS};

/// What a statement becomes once checked.
#[derive(Debug, Clone)]
pub enum Planned {
    CreateSource {
        def: SourceDef,
        or_replace: bool,
        /// The source already exists and IF NOT EXISTS was given: nothing to do.
        skip: bool,
    },
    InsertValues {
        target: SourceDef,
        /// ROWTIME, if given.
        rowtime: Option<TypedExpr>,
        /// One expression per column of the target (NULL literals where not given).
        values: Vec<TypedExpr>,
    },
    Set {
        name: String,
        value: String,
    },
    Unset {
        name: String,
    },
    Query(QueryPlan),
    /// A query on a table without EMIT: answered from the table's current state, then ends.
    Pull(QueryPlan),
    Explain(QueryPlan),
    /// Statements the executor carries out as written (SHOW, DESCRIBE, PRINT, ...).
    Inspect(StatementKind),
    /// CREATE STREAM|TABLE ... AS SELECT, INSERT INTO ... SELECT (see `persistent.rs`).
    Persistent(Box<super::persistent::PersistentPlan>),
    Connector(super::persistent::ConnectorPlan),
    /// TERMINATE id (None: ALL).
    Terminate(Option<ast::Ident>),
    Drop {
        name: String,
        /// The source did not exist and IF EXISTS was given.
        skip: bool,
        delete_topic: bool,
    },
    /// CREATE TYPE: `skip` when it exists and IF NOT EXISTS was given.
    CreateType {
        name: String,
        ty: SqlType,
        skip: bool,
    },
    /// DROP TYPE: `skip` when it does not exist and IF EXISTS was given.
    DropType {
        name: String,
        skip: bool,
    },
    /// A file to run, resolved against the directory of the text that names it.
    RunScript {
        path: std::path::PathBuf,
        span: Span,
    },
}

/// Compiles statements against a catalog. `topic_partitions` tells the real partition count
/// of a topic that exists in the log.
pub struct Compiler<'a> {
    pub catalog: &'a Catalog,
    pub sources: &'a Sources,
    pub topic_partitions: &'a dyn Fn(&str) -> Option<u32>,
    /// Does the log take client properties (Kafka)? Then `SET` of a name that is not
    /// kql's passes it to the log's client, which checks it.
    pub client_properties: bool,
    /// The session's properties, as SET (see `session_properties`).
    pub properties: &'a std::collections::BTreeMap<String, String>,
}

/// The key and value formats a statement gets when it does not name them; Err holds the
/// name of a format the property was set to that kql does not read (AVRO...), an error
/// only for a statement that needs the default.
#[derive(Debug, Clone)]
pub struct DefaultFormats {
    pub key: std::result::Result<Format, String>,
    pub value: std::result::Result<Format, String>,
}

impl Default for DefaultFormats {
    fn default() -> Self {
        DefaultFormats {
            key: Ok(Format::Kafka),
            value: Ok(Format::Json),
        }
    }
}

impl DefaultFormats {
    /// `given`, or else the key (or value) default; a default kql cannot use is reported
    /// into `errors` (and JSON or KAFKA stands in, so checking goes on).
    pub fn or_default(
        &self,
        given: Option<Format>,
        key: bool,
        at: Span,
        errors: &mut Vec<Diagnostic>,
    ) -> Format {
        given.unwrap_or_else(|| {
            self.get(key, at).unwrap_or_else(|d| {
                errors.push(d);
                if key {
                    Format::Kafka
                } else {
                    Format::Json
                }
            })
        })
    }

    /// The key (or value) default, or the error of a statement at `at` that needs it.
    pub fn get(&self, key: bool, at: Span) -> std::result::Result<Format, Diagnostic> {
        let (which, setting) = if key {
            ("key", &self.key)
        } else {
            ("value", &self.value)
        };
        setting.clone().map_err(|name| {
            Diagnostic::new(
                Code::InvalidPropertyValue,
                format!("the default {which} format is {name}, which kql does not read or write"),
            )
            .label(at, format!("no {which}_format given"))
            .help(format!(
                "give {which}_format='JSON' in WITH, or SET 'ksql.persistence.default.format.{which}' to JSON, DELIMITED or KAFKA"
            ))
        })
    }
}

type Result<T> = std::result::Result<T, Vec<Diagnostic>>;

fn one(d: Diagnostic) -> Vec<Diagnostic> {
    vec![d]
}

/// RUN SCRIPT reads statements: a file that is not a `.ksql` or `.sql` file is refused
/// before it is read, so no diagnostic ever quotes another kind of file (a key, a password
/// file) as if it were a statement.
fn script_extension(path: &std::path::Path, span: Span) -> Result<()> {
    not_a_script(path).map_or(Ok(()), |d| Err(one(d.label(span, "not a statement file"))))
}

/// The error for a RUN SCRIPT of a file that is not a `.ksql` or `.sql` file (the shell's
/// RUN SCRIPT checks it too), None for a script.
pub fn not_a_script(path: &std::path::Path) -> Option<Diagnostic> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext.eq_ignore_ascii_case("ksql") || ext.eq_ignore_ascii_case("sql") {
        return None;
    }
    Some(
        Diagnostic::new(
            Code::FileError,
            format!(
                "RUN SCRIPT runs .ksql or .sql files; {} is not one",
                path.display()
            ),
        )
        .help("name the script file with a .ksql extension"),
    )
}

impl Compiler<'_> {
    pub fn compile(&self, stmt: &Statement) -> Result<Planned> {
        match &stmt.kind {
            StatementKind::CreateSource(c) => self.create_source(c, stmt.span),
            StatementKind::InsertValues(i) => self.insert_values(i),
            StatementKind::Set(s) => {
                let (name, value) = match super::session_properties::check_set(s) {
                    Err(_)
                        if self.client_properties
                            && !super::session_properties::is_kql_name(&s.name) =>
                    {
                        (s.name.clone(), s.value.clone())
                    }
                    checked => checked.map_err(one)?,
                };
                Ok(Planned::Set { name, value })
            }
            StatementKind::Unset(u) => Ok(Planned::Unset {
                name: super::session_properties::check_unset(u).map_err(one)?,
            }),
            StatementKind::Select(q) if self.is_pull(q) => Ok(Planned::Pull(self.pull_query(q)?)),
            StatementKind::Select(q) => {
                let reserved = super::reserved_names::check(q, false);
                if !reserved.is_empty() {
                    return Err(reserved);
                }
                Ok(Planned::Query(self.query(q)?))
            }
            StatementKind::Explain(ast::Explain::Statement(inner)) => match &inner.kind {
                StatementKind::Select(q) => Ok(Planned::Explain(self.query(q)?)),
                StatementKind::CreateAsSelect(_) | StatementKind::InsertSelect(_) => {
                    match self.compile(inner)? {
                        Planned::Persistent(p) => Ok(Planned::Explain(p.query)),
                        _ => Err(one(Diagnostic::internal(
                            "a persistent statement without a plan",
                        ))),
                    }
                }
                _ => Err(one(unsupported(
                    inner.span,
                    "EXPLAIN of persistent queries",
                ))),
            },
            StatementKind::Describe(ast::Describe::Source { name, .. }) => {
                self.lookup(name)?;
                Ok(Planned::Inspect(stmt.kind.clone()))
            }
            StatementKind::Show(show)
                if show.extended
                    && !matches!(show.what, ast::ShowWhat::Streams | ast::ShowWhat::Tables) =>
            {
                use ast::ShowWhat as W;
                // ksqlDB's extended listings, and what gives their details here.
                let help = match show.what {
                    W::Queries => "SHOW QUERIES already gives each query's rows in and out, lag, sink and text; EXPLAIN <query id> gives its plans",
                    W::Topics => "DESCRIBE TOPIC t [EXTENDED] gives a topic's partitions, replicas, offsets and storage",
                    W::ConsumerGroups => "DESCRIBE CONSUMER GROUP g gives a group's committed offsets and lag per partition",
                    W::Functions => "DESCRIBE FUNCTION f gives a function's signature, description and example",
                    _ => "leave EXTENDED out",
                };
                Err(one(Diagnostic::new(
                    Code::Unsupported,
                    "EXTENDED is for SHOW STREAMS and SHOW TABLES",
                )
                .label(stmt.span, "no extended form")
                .help(help)))
            }
            StatementKind::Describe(ast::Describe::Function { name }) => {
                if crate::functions::lookup(&name.name).is_none() {
                    let names = crate::functions::all().map(|f| f.name);
                    let d = Diagnostic::new(
                        Code::UnknownFunction,
                        format!("there is no function named {}", name.name),
                    )
                    .label(name.span, "unknown function");
                    return Err(one(
                        match crate::diagnostic::did_you_mean(&name.name, names) {
                            Some(s) => {
                                d.help(format!("did you mean {s}? SHOW FUNCTIONS lists them"))
                            }
                            None => d.help("SHOW FUNCTIONS lists the functions"),
                        },
                    ));
                }
                Ok(Planned::Inspect(stmt.kind.clone()))
            }
            StatementKind::Show(_)
            | StatementKind::Describe(_)
            | StatementKind::Print(_)
            | StatementKind::Broker(_) => Ok(Planned::Inspect(stmt.kind.clone())),
            StatementKind::CreateAsSelect(c) => self.create_as_select(c, stmt.span),
            StatementKind::CreateConnector(c) => self.connector(c, stmt.span),
            StatementKind::InsertSelect(i) => self.insert_select(i, stmt.span),
            StatementKind::Drop(d) if d.kind == ast::DropKind::Type => self.drop_type(d),
            StatementKind::Drop(d) => self.drop(d),
            StatementKind::CreateType(c) => self.create_type(c),
            // A running query's plan: the executor knows its statement.
            StatementKind::Explain(ast::Explain::QueryId(_)) => {
                Ok(Planned::Inspect(stmt.kind.clone()))
            }
            StatementKind::Terminate(t) => Ok(Planned::Terminate(match t {
                ast::Terminate::All => None,
                ast::Terminate::Query(id) => Some(id.clone()),
            })),
            StatementKind::RunScript(r) => {
                let path = self.script_path(&r.path, r.path_span);
                script_extension(&path, r.path_span)?;
                Ok(Planned::RunScript {
                    path,
                    span: r.path_span,
                })
            }
        }
    }

    /// `ksql.persistence.wrap.single.values`: WRAP_SINGLE_VALUE where WITH does not say.
    pub fn wrap_single_values(&self) -> bool {
        self.properties
            .get("ksql.persistence.wrap.single.values")
            .is_none_or(|v| v != "false")
    }

    /// `ksql.persistence.default.format.key` and `.value`: the formats of a CREATE whose
    /// WITH does not say (the key's also for a sink that gets key columns its source has not).
    pub fn default_formats(&self) -> DefaultFormats {
        let format = |name: &str, default| match self.properties.get(name) {
            None => default,
            Some(v) => match v.to_ascii_uppercase().as_str() {
                "JSON" => Ok(Format::Json),
                "DELIMITED" => Ok(Format::Delimited),
                "KAFKA" => Ok(Format::Kafka),
                "NONE" => Ok(Format::None),
                other => Err(other.to_string()),
            },
        };
        let d = DefaultFormats::default();
        DefaultFormats {
            key: format("ksql.persistence.default.format.key", d.key),
            value: format("ksql.persistence.default.format.value", d.value),
        }
    }

    /// `ksql.output.topic.name.prefix`: before a sink's topic name when WITH gives none.
    pub fn output_topic_prefix(&self) -> &str {
        self.properties
            .get("ksql.output.topic.name.prefix")
            .map_or("", String::as_str)
    }

    /// `ksql.new.query.planner.enabled`: may a query over a stream leave its key out of
    /// the projection (the result then has no key)?
    pub fn keyless_projection(&self) -> bool {
        self.properties
            .get("ksql.new.query.planner.enabled")
            .is_some_and(|v| v == "true")
    }

    /// How many values COLLECT_LIST or COLLECT_SET keeps, when a property says.
    pub fn collect_limit(&self, func: super::aggregate::AggFunc) -> Option<usize> {
        let name = match func {
            super::aggregate::AggFunc::CollectList => "ksql.functions.collect_list.limit",
            super::aggregate::AggFunc::CollectSet => "ksql.functions.collect_set.limit",
            _ => return None,
        };
        self.properties.get(name)?.parse().ok()
    }

    pub(crate) fn text(&self, span: Span) -> String {
        let t = self.sources.text(span.source);
        t.get(span.start..span.end).unwrap_or("").to_string()
    }

    /// Finds a stream or table by name.
    pub fn lookup(&self, name: &ast::Ident) -> Result<&SourceDef> {
        self.catalog.get(&name.name).ok_or_else(|| {
            let mut d = Diagnostic::new(
                Code::UnknownSource,
                format!("there is no stream or table named {}", name.name),
            )
            .label(name.span, "unknown stream or table");
            d = match did_you_mean(&name.name, self.catalog.names()) {
                Some(s) => d.help(format!("did you mean {s}?")),
                None if self.catalog.names().next().is_none() => {
                    d.help("declare it first with CREATE STREAM or CREATE TABLE")
                }
                None => d.help(format!(
                    "the streams and tables are: {}",
                    self.catalog.names().collect::<Vec<_>>().join(", ")
                )),
            };
            if !name.quoted
                && self
                    .catalog
                    .names()
                    .any(|n| n.eq_ignore_ascii_case(&name.name))
            {
                d = d.note(
                    "unquoted names are upper-cased; quote a lower-case name with back-quotes",
                );
            }
            one(d)
        })
    }

    fn create_type(&self, c: &ast::CreateType) -> Result<Planned> {
        let name = c.name.name.clone();
        if let Some(existing) = self.catalog.type_named(&name) {
            if c.if_not_exists {
                return Ok(Planned::CreateType {
                    name,
                    ty: existing.clone(),
                    skip: true,
                });
            }
            return Err(one(
                Diagnostic::new(
                    Code::DuplicateSource,
                    format!("the type {name} already exists: {existing}"),
                )
                .label(c.name.span, "declared again")
                .help(format!(
                    "DROP TYPE {name}; first, or use another name; CREATE TYPE IF NOT EXISTS keeps the first"
                )),
            ));
        }
        let ty = resolve_type_in(&c.ty, Some(self.catalog)).map_err(one)?;
        Ok(Planned::CreateType {
            name,
            ty,
            skip: false,
        })
    }

    fn drop_type(&self, d: &ast::Drop) -> Result<Planned> {
        let name = d.name.name.clone();
        match self.catalog.type_named(&name) {
            Some(_) => Ok(Planned::DropType { name, skip: false }),
            None if d.if_exists => Ok(Planned::DropType { name, skip: true }),
            None => Err(one(Diagnostic::new(
                Code::UnknownSource,
                format!("there is no type named {name}"),
            )
            .label(d.name.span, "unknown type")
            .help("SHOW TYPES lists the declared types"))),
        }
    }

    fn drop(&self, d: &ast::Drop) -> Result<Planned> {
        if d.kind == ast::DropKind::Connector {
            return Err(one(unsupported(d.name.span, "DROP CONNECTOR")));
        }
        let Some(def) = self.catalog.get(&d.name.name) else {
            if d.if_exists {
                return Ok(Planned::Drop {
                    name: d.name.name.clone(),
                    skip: true,
                    delete_topic: false,
                });
            }
            return Err(self.lookup(&d.name).err().unwrap_or_default());
        };
        let is_table = def.kind != SourceKind::Stream;
        if def.read_only && d.delete_topic {
            return Err(one(Diagnostic::new(
                Code::ReadOnlySource,
                format!("Cannot delete topic for read-only source: {}", def.name),
            )
            .label(d.name.span, "a source (read-only) stream or table")
            .label(def.declared_at, "declared with CREATE SOURCE here")
            .help(format!(
                "DROP {} {}; (without DELETE TOPIC) keeps the topic",
                if is_table { "TABLE" } else { "STREAM" },
                def.name
            ))));
        }
        if is_table != (d.kind == ast::DropKind::Table) {
            return Err(one(Diagnostic::new(
                Code::WrongSourceKind,
                format!(
                    "{} is a {}, not a {}",
                    def.name,
                    def.kind.describe(),
                    if is_table { "stream" } else { "table" }
                ),
            )
            .label(d.name.span, format!("a {}", def.kind.describe()))
            .label(def.declared_at, "declared here")
            .help(format!(
                "DROP {} {};",
                if is_table { "TABLE" } else { "STREAM" },
                def.name
            ))));
        }
        Ok(Planned::Drop {
            name: def.name.clone(),
            skip: false,
            delete_topic: d.delete_topic,
        })
    }

    /// A script's path: relative to the directory of the file being run (or as given).
    fn script_path(&self, path: &str, at: Span) -> std::path::PathBuf {
        let p = std::path::Path::new(path);
        if p.is_absolute() {
            return p.to_path_buf();
        }
        let current = self.sources.name(at.source).to_string();
        match std::path::Path::new(&current).parent() {
            Some(dir) if std::path::Path::new(&current).exists() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }

    fn create_source(&self, c: &ast::CreateSource, span: Span) -> Result<Planned> {
        let mut errors = Vec::new();
        let existing = self.catalog.get(&c.name.name);
        if c.kind == SourceKind::GlobalTable && c.read_only {
            return Err(one(unsupported(c.name.span, "CREATE SOURCE GLOBAL TABLE")));
        }
        let replaces_source = existing.is_some_and(|prev| prev.read_only);
        if c.or_replace && (c.read_only || replaces_source) {
            let kind = c.kind.describe();
            return Err(one(Diagnostic::new(
                Code::ReadOnlySource,
                format!(
                    "Cannot add {kind} '{}': CREATE OR REPLACE is not supported on source {kind}s.",
                    c.name.name
                ),
            )
            .label(
                c.name.span,
                "a source (read-only) stream or table is not replaced",
            )
            .help(format!(
                "DROP {} {} first, then create it again",
                kind_keyword(c.kind),
                c.name.name
            ))));
        }
        if let Some(prev) = existing {
            if c.if_not_exists {
                return Ok(Planned::CreateSource {
                    def: prev.clone(),
                    or_replace: false,
                    skip: true,
                });
            }
            if !c.or_replace {
                errors.push(
                    Diagnostic::new(Code::DuplicateSource, format!("a {} named {} already exists", prev.kind.describe(), prev.name))
                        .label(c.name.span, "declared again here")
                        .label(prev.declared_at, "first declared here")
                        .help(format!("use CREATE OR REPLACE {} to change it, or CREATE ... IF NOT EXISTS to keep it", kind_keyword(c.kind))),
                );
            }
        }
        let (props, mut prop_errors) = properties::parse(&c.properties);
        if c.columns.is_empty() && prop_errors.is_empty() {
            errors.push(
                Diagnostic::new(
                    Code::NoColumns,
                    format!("The statement does not define any columns: {} needs its columns listed", c.name.name),
                )
                .label(c.name.span, "no columns")
                .help(format!(
                    "list them after the name, as kql has no schema registry to read them from: CREATE {} {} (id VARCHAR {}, ...) WITH (...)",
                    kind_keyword(c.kind),
                    c.name.name,
                    if c.kind == SourceKind::Stream { "KEY" } else { "PRIMARY KEY" }
                )),
            );
        }
        errors.append(&mut prop_errors);
        // A timestamp_format that was given (even one reported as invalid) makes a STRING
        // timestamp column acceptable, so its error is not followed by another.
        let format_given = c.properties.iter().any(|p| p.name == "timestamp_format");
        let key_format =
            self.default_formats()
                .or_default(props.key_format, true, c.name.span, &mut errors);
        let mut columns: Vec<Column> = Vec::new();
        let mut key_spans = Vec::new();
        // The first declaration of each name, so a repeated name is found without a scan.
        let mut first_declared: HashMap<&str, &ast::ColumnDef> = HashMap::new();
        for col in &c.columns {
            first_declared.entry(col.name.name.as_str()).or_insert(col);
        }
        for col in &c.columns {
            if PSEUDO_COLUMNS.iter().any(|(n, _)| *n == col.name.name)
                || matches!(col.name.name.as_str(), "WINDOWSTART" | "WINDOWEND")
            {
                errors.push(
                    Diagnostic::new(
                        Code::DuplicateColumn,
                        format!(
                            "{} is a pseudo-column kql provides; it cannot be declared",
                            col.name.name
                        ),
                    )
                    .label(col.name.span, "reserved column name")
                    .help("choose another name, e.g. EVENT_TIME"),
                );
                continue;
            }
            if let Some(first) = first_declared.get(col.name.name.as_str()) {
                if !std::ptr::eq(*first, col) {
                    errors.push(
                        Diagnostic::new(
                            Code::DuplicateColumn,
                            format!("column {} is declared twice", col.name.name),
                        )
                        .label(col.name.span, "declared again here")
                        .label(first.name.span, "first declared here"),
                    );
                    continue;
                }
            }
            let ty = match resolve_type_in(&col.ty, Some(self.catalog)) {
                Ok(t) => t,
                Err(d) => {
                    errors.push(d);
                    continue;
                }
            };
            if let Some(marker) = &col.header {
                if let Err(d) = super::header_columns::check_type(marker, &ty, col.ty.span) {
                    errors.push(d);
                    continue;
                }
            }
            let role = match (c.kind, col.key) {
                _ if col.header.is_some() => ColumnRole::Header,
                (_, KeyMarker::None) => ColumnRole::Value,
                (SourceKind::Stream, KeyMarker::PrimaryKey) => {
                    errors.push(Diagnostic::new(Code::InvalidKey, "a stream's key column is declared with KEY, not PRIMARY KEY")
                        .label(col.span, "PRIMARY KEY on a stream")
                        .help(format!("write `{} {} KEY`; PRIMARY KEY is for tables, whose rows are updated by key", col.name.name, ty)));
                    ColumnRole::Key
                }
                (SourceKind::Table | SourceKind::GlobalTable, KeyMarker::Key) => {
                    errors.push(
                        Diagnostic::new(
                            Code::InvalidKey,
                            "a table's key column is declared with PRIMARY KEY",
                        )
                        .label(col.span, "KEY on a table")
                        .help(format!("write `{} {} PRIMARY KEY`", col.name.name, ty)),
                    );
                    ColumnRole::Key
                }
                _ => ColumnRole::Key,
            };
            if role == ColumnRole::Key {
                key_spans.push(col.span);
                if key_format == Format::Kafka
                    && !matches!(
                        ty,
                        SqlType::String
                            | SqlType::Int
                            | SqlType::Bigint
                            | SqlType::Double
                            | SqlType::Bytes
                    )
                {
                    errors.push(
                        Diagnostic::new(
                            Code::InvalidKey,
                            format!("the KAFKA key format cannot hold a {ty} key"),
                        )
                        .label(col.ty.span, "unsupported key type")
                        .help("use STRING, INT, BIGINT or DOUBLE, or set key_format='JSON'"),
                    );
                } else if contains_map(&ty) {
                    errors.push(
                        Diagnostic::new(
                            Code::InvalidKey,
                            format!("Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{}`. Column type: {ty}.", col.name.name),
                        )
                        .label(col.ty.span, "a key that holds a MAP")
                        .help("the same map can be written with its entries in any order, so equal maps would be different keys: key by a STRUCT or a primitive"),
                    );
                } else if key_format == Format::Delimited
                    && matches!(ty, SqlType::Array(_) | SqlType::Struct(_))
                {
                    errors.push(
                        Diagnostic::new(
                            Code::InvalidKey,
                            format!(
                                "The 'DELIMITED' format does not support type '{}'",
                                super::properties::type_kind(&ty)
                            ),
                        )
                        .label(col.ty.span, "unsupported key type")
                        .help("a DELIMITED key holds primitive columns; set key_format='JSON' for this one"),
                    );
                }
            }
            columns.push(Column {
                name: col.name.name.clone(),
                ty,
                role,
                header_key: match &col.header {
                    Some(ast::HeaderMarker::Key(k)) => Some(k.clone()),
                    _ => None,
                },
            });
        }
        if key_format == Format::None && !key_spans.is_empty() {
            let keys = columns
                .iter()
                .filter(|c| c.role == ColumnRole::Key)
                .map(|c| (c.name.as_str(), &c.ty, true));
            errors.push(
                Diagnostic::new(Code::InvalidKey, super::properties::none_format_error(keys))
                    .label(key_spans[0], "a key column")
                    .help("remove key_format='NONE', or declare the stream without key columns"),
            );
        }
        if key_spans.len() > 1 && key_format == Format::Kafka {
            let mut d = Diagnostic::new(
                Code::InvalidKey,
                "the KAFKA key format holds a single key column",
            )
            .label(key_spans[1], "second key column");
            d = d
                .label(key_spans[0], "first key column")
                .help("keep one key column, or set key_format='JSON' for a key of several columns");
            errors.push(d);
        }
        if c.kind != SourceKind::Stream && key_spans.is_empty() && !c.columns.is_empty() {
            errors.push(
                Diagnostic::new(
                    Code::InvalidKey,
                    format!("a {} needs a PRIMARY KEY column", c.kind.describe()),
                )
                .label(c.name.span, "no PRIMARY KEY")
                .help("mark the column that identifies a row, e.g. `id VARCHAR PRIMARY KEY`"),
            );
        }
        // Key columns first, then value columns, then header columns, as ksqlDB lists them.
        columns.sort_by_key(|c| match c.role {
            ColumnRole::Key => 0,
            ColumnRole::Value => 1,
            ColumnRole::Header => 2,
        });
        let topic = match &props.kafka_topic {
            Some((t, _)) => t.clone(),
            None => {
                errors.push(
                    Diagnostic::new(
                        Code::MissingProperty,
                        "CREATE needs the topic that holds the data",
                    )
                    .label(c.name.span, "no kafka_topic")
                    .help(format!(
                        "add WITH (kafka_topic='{}', partitions=1, value_format='JSON')",
                        c.name.name.to_ascii_lowercase()
                    )),
                );
                String::new()
            }
        };
        let timestamp_column = super::properties::timestamp_column(&props, &columns, format_given)
            .unwrap_or_else(|d| {
                errors.push(d);
                None
            });
        let window = properties::declared_window(&props).unwrap_or_else(|d| {
            errors.push(d);
            None
        });
        if window.is_some() && key_spans.is_empty() {
            errors.push(
                Diagnostic::new(Code::InvalidKey, "Windowed sources require a key column.")
                    .label(c.name.span, "windowed, with no key column")
                    .help("declare the key column the windows are of, e.g. `k STRING KEY`"),
            );
        }
        let value_format =
            self.default_formats()
                .or_default(props.value_format, false, c.name.span, &mut errors);
        let value_columns: Vec<(&str, &SqlType)> = columns
            .iter()
            .filter(|c| c.role == ColumnRole::Value)
            .map(|c| (c.name.as_str(), &c.ty))
            .collect();
        if let Err(d) = properties::check_value_format(value_format, &value_columns, c.name.span) {
            errors.push(d);
        }
        let wrap_single_value = properties::wrap_single_value(
            &props,
            value_format,
            value_columns.len(),
            self.wrap_single_values(),
        )
        .unwrap_or_else(|d| {
            errors.push(d);
            true
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        // The log's real partition count wins over the declaration.
        let (partitions, partitions_at) = match ((self.topic_partitions)(&topic), props.partitions)
        {
            (Some(real), Some((_, s))) => (real, Some(s)),
            (Some(real), None) => (real, None),
            (None, Some((n, s))) => (n, Some(s)),
            (None, None) => (1, None),
        };
        let value_delimiter =
            properties::delimiter_of(props.value_delimiter, "value", value_format, None)
                .map_err(|d| vec![d])?;
        let key_delimiter = properties::delimiter_of(props.key_delimiter, "key", key_format, None)
            .map_err(|d| vec![d])?;
        let def = SourceDef {
            window,
            window_declared: window.is_some(),
            read_only: c.read_only,
            value_delimiter,
            key_delimiter,
            name: c.name.name.clone(),
            kind: c.kind,
            columns,
            topic,
            partitions,
            replicas: props.replicas.map_or(1, |(r, _)| r),
            topic_settings: props.topic_settings(c.kind != SourceKind::Stream),
            key_format,
            value_format,
            wrap_single_value,
            timestamp_column,
            timestamp_format: props.timestamp_format.clone(),
            declared_at: span,
            partitions_at,
        };
        Ok(Planned::CreateSource {
            def,
            or_replace: c.or_replace,
            skip: false,
        })
    }

    fn insert_values(&self, i: &ast::InsertValues) -> Result<Planned> {
        let target = self.lookup(&i.target)?.clone();
        if target.read_only {
            return Err(one(read_only(
                &target,
                i.target.span,
                "Cannot insert values into",
            )));
        }
        let empty = Schema::default();
        let binder = Binder {
            schema: &empty,
            context: "VALUES",
        };
        // Which column each value goes to: None is ROWTIME.
        let mut slots: Vec<(Option<usize>, Span)> = Vec::new();
        let mut errors = Vec::new();
        match &i.columns {
            Some(cols) => {
                let mut column_at: HashMap<&str, usize> = HashMap::new();
                for (idx, c) in target.columns.iter().enumerate() {
                    column_at.entry(c.name.as_str()).or_insert(idx);
                }
                for c in cols {
                    if c.name == "ROWTIME" {
                        slots.push((None, c.span));
                    } else if let Some(&idx) = column_at.get(c.name.as_str()) {
                        slots.push((Some(idx), c.span));
                    } else {
                        let mut d = Diagnostic::new(
                            Code::UnknownColumn,
                            format!("{} has no column {}", target.name, c.name),
                        )
                        .label(c.span, "unknown column");
                        if let Some(s) =
                            did_you_mean(&c.name, target.columns.iter().map(|c| c.name.as_str()))
                        {
                            d = d.help(format!("did you mean {s}?"));
                        }
                        errors.push(d);
                    }
                }
            }
            None => slots.extend((0..target.columns.len()).map(|i| (Some(i), i_span(i)))),
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // A header column is read from the record's headers; a value cannot give it.
        // (labelled at the named column, or at the value when no columns are named)
        let headers: Vec<(&str, Span)> = slots
            .iter()
            .enumerate()
            .filter_map(|(k, (s, span))| {
                let c = &target.columns[(*s)?];
                let at = match (&i.columns, i.values.get(k)) {
                    (None, Some(v)) => v.span,
                    _ => *span,
                };
                (c.role == ColumnRole::Header).then_some((c.name.as_str(), at))
            })
            .collect();
        if let Some((_, span)) = headers.first() {
            let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
            return Err(one(
                Diagnostic::new(
                    Code::InsertMismatch,
                    format!("Cannot insert into HEADER columns: {}", names.join(", ")),
                )
                .label(*span, format!("given for the header column {}", headers[0].0))
                .help("header columns are read from the record's Kafka headers; name the other columns: INSERT INTO s (a, b) VALUES (...)"),
            ));
        }
        if slots.len() != i.values.len() {
            let names: Vec<String> = match &i.columns {
                Some(c) => c.iter().map(|c| c.name.clone()).collect(),
                None => target.columns.iter().map(|c| c.name.clone()).collect(),
            };
            let span = i
                .values
                .first()
                .map_or(i.target.span, |f| f.span.to(i.values.last().unwrap().span));
            return Err(one(Diagnostic::new(
                Code::InsertMismatch,
                format!("{} value(s) for {} column(s)", i.values.len(), slots.len()),
            )
            .label(span, format!("{} value(s) here", i.values.len()))
            .help(format!("give one value for each of: {}", names.join(", ")))));
        }
        let mut values: Vec<TypedExpr> = target
            .columns
            .iter()
            .map(|c| TypedExpr {
                kind: super::expr::TExpr::Literal(crate::data::Value::Null),
                ty: c.ty.clone(),
                span: i.target.span,
            })
            .collect();
        let mut rowtime = None;
        for ((slot, _), v) in slots.iter().zip(&i.values) {
            let (want, name) = match slot {
                None => (SqlType::Bigint, "ROWTIME".to_string()),
                Some(idx) => (
                    target.columns[*idx].ty.clone(),
                    target.columns[*idx].name.clone(),
                ),
            };
            let bound = match empty_collection(v, &want).map_or_else(|| binder.bind(v), Ok) {
                Ok(b) => b,
                Err(d) => {
                    errors.push(d);
                    continue;
                }
            };
            // A literal that does not spell the column's type gets the mismatch below.
            let literal_fits = !bound.ty.assignable_to(&want)
                && binder.converts_to(v, &bound.ty, &want).unwrap_or(false);
            if !bound.ty.assignable_to(&want) && !literal_fits {
                errors.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        format!("column {name} is {want}, but the value is {}", bound.ty),
                    )
                    .label(bound.span, format!("this is {}", bound.ty))
                    .help(format!(
                        "give a {want} value, or CAST it: CAST(... AS {want})"
                    )),
                );
                continue;
            }
            let bound = if literal_fits {
                match binder.convert(v, bound, &want) {
                    Ok(b) => b,
                    Err(d) => {
                        errors.push(d);
                        continue;
                    }
                }
            } else {
                bound.cast_to(&want)
            };
            match slot {
                None => rowtime = Some(bound),
                Some(idx) => values[*idx] = bound,
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Planned::InsertValues {
            target,
            rowtime,
            values,
        })
    }

    /// A SELECT without EMIT on a table (not a stream: that is an error of `query`).
    fn is_pull(&self, q: &ast::Query) -> bool {
        q.emit.is_none()
            && self
                .catalog
                .get(&q.from.name.name)
                .is_some_and(|d| d.kind != SourceKind::Stream)
    }

    /// `SELECT ... FROM table [WHERE ...] [LIMIT n];`: the latest row of each key, filtered
    /// and projected. Joins and aggregations are not pull queries.
    fn pull_query(&self, q: &ast::Query) -> Result<QueryPlan> {
        let mut errors = Vec::new();
        if let Some(j) = q.joins.first() {
            errors.push(pull_unsupported(j.span, "a join"));
        }
        if let Some(w) = &q.window {
            errors.push(pull_unsupported(w.span, "a WINDOW"));
        }
        if let Some(g) = q.group_by.first() {
            errors.push(pull_unsupported(g.span, "GROUP BY"));
        }
        if let Some(p) = q.partition_by.first() {
            errors.push(pull_unsupported(p.span, "PARTITION BY"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut with_emit = q.clone();
        with_emit.emit = Some(ast::Emit {
            kind: EmitKind::Changes,
            span: q.span,
        });
        self.query(&with_emit)
    }

    pub fn query(&self, q: &ast::Query) -> Result<QueryPlan> {
        if super::aggregate::is_aggregate(q) {
            return self.aggregate_query(q);
        }
        let from = self.plan_from_clause(q)?;
        let mut errors = Vec::new();
        if let Some(w) = &q.window {
            errors.push(unsupported(w.span, "windows"));
        }
        if let Some(p) = q.partition_by.first() {
            if let Some(s) = from.plan.sources().into_iter().find(|s| s.window.is_some()) {
                errors.push(windowed_repartition(&s.name, p.span));
            }
        }
        if let Some(g) = q.group_by.first() {
            errors.push(unsupported(g.span, "GROUP BY"));
        }
        let emit = match q.emit {
            Some(e) if e.kind == EmitKind::Final => {
                errors.push(
                    Diagnostic::new(
                        Code::EmitFinalWithoutWindow,
                        "EMIT FINAL needs a windowed aggregation",
                    )
                    .label(e.span, "EMIT FINAL without a WINDOW")
                    .help("use EMIT CHANGES, or add WINDOW TUMBLING (SIZE 1 MINUTE) and GROUP BY"),
                );
                EmitKind::Final
            }
            Some(e) => e.kind,
            None => {
                if from.kind == SourceKind::Stream {
                    errors.push(Diagnostic::new(Code::Unsupported, format!("a query on the stream {} must say EMIT CHANGES", q.from.name.name))
                        .label(q.span, "no EMIT clause")
                        .help("add EMIT CHANGES before the end: a query over a stream runs as a push query"));
                } else {
                    errors.push(unsupported(q.span, "pull queries on tables"));
                }
                EmitKind::Changes
            }
        };
        let schema = from.schema;
        let mut plan = from.plan;
        if let Some(f) = &q.filter {
            let binder = Binder {
                schema: &schema,
                context: "WHERE",
            };
            match binder
                .bind(f)
                .and_then(|p| expect_boolean(&p, "WHERE").map(|_| p))
            {
                Ok(predicate) => {
                    plan = LogicalPlan::Filter(Filter {
                        input: Box::new(plan),
                        predicate,
                        text: self.text(f.span),
                    });
                }
                Err(d) => errors.push(d),
            }
        }
        let binder = Binder {
            schema: &schema,
            context: "the SELECT list",
        };
        let mut items: Vec<ProjectItem> = Vec::new();
        let key_count = |name: &str| {
            self.catalog
                .get(name)
                .map_or(0, |d| d.key_columns().count())
        };
        // A windowed table's rows are told apart by their windows; a windowed stream's
        // SELECT * gives only its columns (its window stays on the key).
        let shows_window = |name: &str| {
            self.catalog
                .get(name)
                .is_some_and(|d| d.kind != SourceKind::Stream)
        };
        // Where each output name first appears in `items`, so a repeated name is found
        // without scanning (a SELECT list may be very long).
        let mut item_names: HashMap<String, usize> = HashMap::new();
        let mut named_items = 0;
        let mut namer = ColumnNamer::new(
            schema
                .fields
                .iter()
                .filter(|f| !f.pseudo)
                .map(|f| f.name.as_str()),
        );
        for item in &q.select {
            for (i, it) in items.iter().enumerate().skip(named_items) {
                item_names.entry(it.name.clone()).or_insert(i);
            }
            named_items = items.len();
            match item {
                SelectItem::Star(_) if !q.partition_by.is_empty() && !from.prefixed => items
                    .extend(partitioned_star_items(
                        &schema,
                        &q.partition_by,
                        &key_count,
                        &|s| self.text(s),
                    )),
                SelectItem::Star(_) => {
                    // A synthetic join key is a column of the joined rows too.
                    if let Some((name, value)) = schema.computed.first() {
                        items.push(ProjectItem {
                            name: name.clone(),
                            expr: value.clone(),
                            text: name.clone(),
                        });
                    }
                    let mut star =
                        star_items(&schema, None, from.prefixed, &key_count, &shows_window);
                    // ksqlDB re-keys a join's rows with the sides' system columns in them,
                    // so after PARTITION BY its `*` names them too (L_ROWTIME, ...).
                    if from.prefixed && !q.partition_by.is_empty() {
                        star.extend(system_column_items(&schema));
                    }
                    items.extend(star)
                }
                SelectItem::QualifiedStar(q) => {
                    if !schema.fields.iter().any(|f| f.qualifiers.contains(&q.name)) {
                        errors.push(
                            Diagnostic::new(
                                Code::UnknownSource,
                                format!("{} is not a source of this query", q.name),
                            )
                            .label(q.span, "not in FROM"),
                        );
                    }
                    items.extend(star_items(
                        &schema,
                        Some(&q.name),
                        from.prefixed,
                        &key_count,
                        &shows_window,
                    ));
                }
                SelectItem::StructStar { expr, span } => match binder.bind(expr) {
                    Ok(bound) => match struct_star_items(bound, &self.text(*span)) {
                        Ok(fields) => {
                            for f in fields {
                                if item_names.contains_key(&f.name)
                                    || items[named_items..].iter().any(|i| i.name == f.name)
                                {
                                    errors.push(duplicate_field_column(&f.name, *span));
                                }
                                items.push(f);
                            }
                        }
                        Err(d) => errors.push(d),
                    },
                    Err(d) => errors.push(d),
                },
                SelectItem::Expr { expr, alias } => match binder.bind(expr) {
                    Ok(bound) if bound.ty == SqlType::Null => errors.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            "a bare NULL in the SELECT list has no type for its column",
                        )
                        .label(expr.span, "type unknown")
                        .help("CAST it to the column's type, e.g. CAST(NULL AS VARCHAR)"),
                    ),
                    Ok(bound) => {
                        let name = match (alias, &expr.kind) {
                            (Some(a), _) => a.name.clone(),
                            (None, ast::ExprKind::Column { name, .. }) if from.prefixed => {
                                join_column_name(&schema, &bound, &name.name)
                            }
                            (None, ast::ExprKind::Column { name, .. }) => name.name.clone(),
                            (None, ast::ExprKind::Field { field, .. }) => namer.field(&field.name),
                            _ => namer.generated(),
                        };
                        if let Some(dup) = item_names.get(&name).map(|&i| &items[i]) {
                            errors.push(
                                Diagnostic::new(
                                    Code::DuplicateColumn,
                                    format!("the output has two columns named {name}"),
                                )
                                .label(expr.span, "second column with this name")
                                .help(format!(
                                    "give one of them another name: {} AS {}_2",
                                    self.text(expr.span),
                                    dup.name
                                )),
                            );
                        }
                        items.push(ProjectItem {
                            name,
                            expr: bound,
                            text: self.text(expr.span),
                        });
                    }
                    Err(d) => errors.push(d),
                },
            }
        }
        let partition_by = self.partition_by(q, &schema, &items, &mut errors);
        let table_functions = match super::table_function::extract(&mut items, schema.len()) {
            Ok(calls) => calls,
            Err(d) => {
                errors.push(d);
                Vec::new()
            }
        };
        if let Some(call) = table_functions.first() {
            if from.kind != SourceKind::Stream {
                errors.push(
                    Diagnostic::new(
                        Code::Unsupported,
                        "Table source is not supported with table functions",
                    )
                    .label(call.span, "a table function over a table")
                    .help("table functions run over streams: read the table's topic as a STREAM"),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let join_key = from.key.as_ref().map(|key| {
            let mut exprs: Vec<(String, TypedExpr)> = items
                .iter()
                .map(|i| (i.name.clone(), i.expr.clone()))
                .collect();
            let chosen = key.choose(&mut exprs, q.span);
            for (item, (_, e)) in items.iter_mut().zip(exprs) {
                item.expr = e;
            }
            chosen
        });
        let columns = items
            .iter()
            .map(|i| OutputColumn {
                name: i.name.clone(),
                ty: i.expr.ty.clone(),
            })
            .collect();
        // Rows of a windowed source keep its window on their key (the left source's, in
        // a join: the sides' windows are equal there).
        let window = plan
            .sources()
            .first()
            .and_then(|s| s.window)
            .and_then(|_| schema.window_slots());
        let root = LogicalPlan::Project(Project {
            input: Box::new(plan),
            items,
            table_functions,
            table_base: schema.len(),
            window,
        });
        Ok(QueryPlan {
            root,
            columns,
            emit,
            limit: q.limit,
            partition_by,
            join_key,
        })
    }

    /// `PARTITION BY e, ...`: the output columns that become the rows' key (and so decide
    /// their partition in a sink), in PARTITION BY order, as ksqlDB does. Each expression
    /// must be selected exactly once; that item names the key column and is not in the
    /// value. `PARTITION BY NULL` keys the rows by nothing.
    fn partition_by(
        &self,
        q: &ast::Query,
        schema: &Schema,
        items: &[ProjectItem],
        errors: &mut Vec<Diagnostic>,
    ) -> Vec<usize> {
        let binder = Binder {
            schema,
            context: "PARTITION BY",
        };
        let mut keys = Vec::new();
        let mut missing: Vec<(String, Span)> = Vec::new();
        for e in &q.partition_by {
            if matches!(e.kind, ast::ExprKind::Literal(ast::Literal::Null)) {
                if q.partition_by.len() > 1 {
                    errors.push(
                        Diagnostic::new(
                            Code::InvalidKey,
                            "Cannot PARTITION BY multiple columns including NULL",
                        )
                        .label(e.span, "NULL among the new key's expressions")
                        .help("PARTITION BY NULL alone removes the key; otherwise leave NULL out"),
                    );
                }
                continue;
            }
            let bound = match binder.bind(e) {
                Ok(b) => b,
                Err(d) => {
                    errors.push(d);
                    continue;
                }
            };
            if contains_map(&bound.ty) {
                errors.push(
                    Diagnostic::new(
                        Code::InvalidKey,
                        format!(
                            "Map keys, including types that contain maps, are not supported: {} is {}",
                            self.text(e.span),
                            bound.ty
                        ),
                    )
                    .label(e.span, "a MAP in the key")
                    .help("a map's serialized order is not stable, so equal maps could land on different partitions; partition by its entries instead, e.g. m['k']"),
                );
                continue;
            }
            let selected: Vec<usize> = (0..items.len())
                .filter(|&i| items[i].expr.same_as(&bound))
                .collect();
            match selected.as_slice() {
                [] => missing.push((self.text(e.span), e.span)),
                [i] => keys.push(*i),
                [first, ..] => {
                    let names: Vec<&str> =
                        selected.iter().map(|&i| items[i].name.as_str()).collect();
                    errors.push(
                        Diagnostic::new(
                            Code::InvalidKey,
                            format!(
                                "The projection contains a key column (`{}`) more than once, aliased as: {}.",
                                self.text(e.span),
                                names.join(" and ")
                            ),
                        )
                        .label(e.span, "the new key")
                        .help(format!(
                            "select it once; to keep a copy in the value, write AS_VALUE({}) AS {}",
                            self.text(e.span),
                            names[1]
                        )),
                    );
                    keys.push(*first);
                }
            }
        }
        if let Some((_, span)) = missing.first() {
            let texts: Vec<&str> = missing.iter().map(|(t, _)| t.as_str()).collect();
            let (what, list) = match texts.as_slice() {
                [one] => ("expression", one.to_string()),
                [init @ .., last] => ("expressions", format!("{} and {last}", init.join(", "))),
                [] => unreachable!("missing is not empty"),
            };
            errors.push(
                Diagnostic::new(
                    Code::InvalidKey,
                    format!(
                        "The query must include the partitioning {what} {list} in its projection (eg, SELECT {}...).",
                        texts.join(", ")
                    ),
                )
                .label(*span, "the new key, not selected")
                .help(format!(
                    "select {}, so it becomes the key: SELECT {}, ...",
                    if texts.len() == 1 { "it" } else { "them" },
                    texts.join(", ")
                )),
            );
        }
        keys
    }
}

/// Does a type hold a MAP anywhere?
pub(super) fn contains_map(ty: &SqlType) -> bool {
    match ty {
        SqlType::Map(..) => true,
        SqlType::Array(t) => contains_map(t),
        SqlType::Struct(fields) => fields.iter().any(|f| contains_map(&f.1)),
        _ => false,
    }
}

/// The name of an unaliased column of a join's projection, as ksqlDB names it: the column's
/// own name, or `SOURCE_COLUMN` when several sources have a column of that name (always
/// for pseudo-columns such as ROWTIME).
fn join_column_name(schema: &Schema, bound: &TypedExpr, name: &str) -> String {
    let super::expr::TExpr::Column(i) = bound.kind else {
        return name.to_string();
    };
    let field = &schema.fields[i];
    if field.pseudo || schema.positions_of(&field.name).len() > 1 {
        super::join::prefixed_name(field.qualifiers.last().unwrap(), &field.name)
    } else {
        name.to_string()
    }
}

/// ksqlDB's refusal to re-key rows whose key carries a window.
pub(super) fn windowed_repartition(source: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unsupported,
        "Implicit repartitioning of windowed sources is not supported.",
    )
    .label(
        span,
        format!("this would re-key {source}, whose keys carry windows"),
    )
    .help("keep the windowed source's key: a windowed key cannot be re-keyed, as in ksqlDB")
}

fn i_span(_: usize) -> Span {
    Span::default()
}

/// The columns of `SELECT *` (or `q.*`); in a join they are named `SOURCE_COLUMN`.
/// The columns `SELECT *` (or `q.*`) names: each source's key columns, then its window
/// bounds when it is a windowed table (as ksqlDB shows them, so rows of different windows
/// can be told apart), then its value columns. `key_count` gives a source's key columns,
/// `shows_window` whether its window bounds are among them.
fn star_items(
    schema: &Schema,
    qualifier: Option<&str>,
    prefixed: bool,
    key_count: &dyn Fn(&str) -> usize,
    shows_window: &dyn Fn(&str) -> bool,
) -> Vec<ProjectItem> {
    let item = |i: usize, f: &super::schema::Field| ProjectItem {
        name: if prefixed {
            super::join::prefixed_name(f.qualifiers.last().unwrap(), &f.name)
        } else {
            f.name.clone()
        },
        expr: TypedExpr {
            kind: super::expr::TExpr::Column(i),
            ty: f.ty.clone(),
            span: Span::default(),
        },
        text: f.name.clone(),
    };
    let is_window_bound = |f: &super::schema::Field| {
        f.pseudo && matches!(f.name.as_str(), "WINDOWSTART" | "WINDOWEND")
    };
    let mut items = Vec::new();
    // Each source's fields start at its ROWTIME.
    let starts: Vec<usize> = (0..schema.fields.len())
        .filter(|&i| schema.fields[i].pseudo && schema.fields[i].name == "ROWTIME")
        .chain([schema.fields.len()])
        .collect();
    for w in starts.windows(2) {
        let fields = &schema.fields[w[0]..w[1]];
        let Some(first) = fields.first() else {
            continue;
        };
        if !qualifier.is_none_or(|q| first.qualifiers.iter().any(|x| x == q)) {
            continue;
        }
        let keys = key_count(&first.qualifiers[0]);
        let columns: Vec<usize> = (w[0]..w[1]).filter(|&i| !schema.fields[i].pseudo).collect();
        let window = shows_window(&first.qualifiers[0]);
        let bounds = (w[0]..w[1]).filter(|&i| window && is_window_bound(&schema.fields[i]));
        let (key_cols, value_cols) = columns.split_at(keys.min(columns.len()));
        for i in key_cols
            .iter()
            .copied()
            .chain(bounds)
            .chain(value_cols.iter().copied())
        {
            items.push(item(i, &schema.fields[i]));
        }
    }
    items
}

/// Each source's ROWTIME, ROWPARTITION and ROWOFFSET as prefixed columns (`L_ROWTIME`).
fn system_column_items(schema: &Schema) -> Vec<ProjectItem> {
    schema
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.pseudo && matches!(f.name.as_str(), "ROWTIME" | "ROWPARTITION" | "ROWOFFSET")
        })
        .map(|(i, f)| ProjectItem {
            name: super::join::prefixed_name(f.qualifiers.last().unwrap(), &f.name),
            expr: TypedExpr {
                kind: super::expr::TExpr::Column(i),
                ty: f.ty.clone(),
                span: Span::default(),
            },
            text: f.name.clone(),
        })
        .collect()
}

/// `SELECT *` of a query with PARTITION BY, as ksqlDB expands it after the repartition:
/// the new key columns first (a column keeps its name, `s->f` is F, anything else
/// KSQL_COL_n), then the value columns that are not part of the new key, then the old
/// key columns that are not.
fn partitioned_star_items(
    schema: &Schema,
    partition_by: &[ast::Expr],
    key_count: &dyn Fn(&str) -> usize,
    text: &dyn Fn(Span) -> String,
) -> Vec<ProjectItem> {
    let binder = Binder {
        schema,
        context: "PARTITION BY",
    };
    let columns: Vec<usize> = (0..schema.fields.len())
        .filter(|&i| !schema.fields[i].pseudo)
        .collect();
    let mut namer = ColumnNamer::new(columns.iter().map(|&i| schema.fields[i].name.as_str()));
    let mut items = Vec::new();
    let mut keyed = Vec::new();
    for e in partition_by {
        let Ok(bound) = binder.bind(e) else { continue };
        if bound.ty == SqlType::Null {
            continue;
        }
        let name = match (&e.kind, &bound.kind) {
            (_, super::expr::TExpr::Column(i)) => {
                keyed.push(*i);
                schema.fields[*i].name.clone()
            }
            (ast::ExprKind::Field { field, .. }, _) => namer.field(&field.name),
            _ => namer.generated(),
        };
        items.push(ProjectItem {
            name,
            text: text(e.span),
            expr: bound,
        });
    }
    let keys = schema
        .fields
        .iter()
        .find(|f| !f.pseudo)
        .map_or(0, |f| key_count(&f.qualifiers[0]))
        .min(columns.len());
    let (old_keys, values) = columns.split_at(keys);
    for &i in values.iter().chain(old_keys) {
        if keyed.contains(&i) {
            continue;
        }
        let f = &schema.fields[i];
        items.push(ProjectItem {
            name: f.name.clone(),
            expr: TypedExpr {
                kind: super::expr::TExpr::Column(i),
                ty: f.ty.clone(),
                span: Span::default(),
            },
            text: f.name.clone(),
        });
    }
    items
}

fn pull_unsupported(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(Code::Unsupported, format!("a pull query (a query on a table without EMIT) cannot have {what}"))
        .label(span, "not in a pull query")
        .help("add EMIT CHANGES to run it as a push query, or CREATE TABLE ... AS SELECT it and query that table")
}

pub(super) fn kind_keyword(k: SourceKind) -> &'static str {
    match k {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
        SourceKind::GlobalTable => "GLOBAL TABLE",
    }
}

fn unsupported(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Unsupported,
        format!("{what}: not supported by this version of kql yet"),
    )
    .label(span, "not supported yet")
    .help("see docs/language.md for what kql runs today")
}

/// `s->*`: one column per field of the struct `s`, named after the field.
fn struct_star_items(
    base: TypedExpr,
    text: &str,
) -> std::result::Result<Vec<ProjectItem>, Diagnostic> {
    let SqlType::Struct(fields) = &base.ty else {
        return Err(Diagnostic::new(
            Code::TypeMismatch,
            format!(
                "->* selects the fields of a STRUCT, but this is {}",
                base.ty
            ),
        )
        .label(base.span, format!("this is {}", base.ty))
        .help("select a struct column's fields: SELECT s->* FROM ..."));
    };
    Ok(fields
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| ProjectItem {
            name: name.clone(),
            expr: TypedExpr {
                kind: TExpr::Field(Box::new(base.clone()), i),
                ty: ty.clone(),
                span: base.span,
            },
            text: format!("{}->{name}", text.trim_end_matches("->*")),
        })
        .collect())
}

fn duplicate_field_column(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateColumn,
        format!("the output has two columns named {name}"),
    )
    .label(span, format!("this gives a second column {name}"))
    .help("give the other column another name with AS, or select the fields one by one")
}

/// `ARRAY[]` or `MAP()` stored in a column: the column gives the type an empty
/// constructor cannot have elsewhere.
fn empty_collection(v: &ast::Expr, want: &SqlType) -> Option<TypedExpr> {
    let kind = match (&v.kind, want) {
        (ast::ExprKind::Array(items), SqlType::Array(_)) if items.is_empty() => {
            TExpr::MakeArray(Vec::new())
        }
        (ast::ExprKind::Map(entries), SqlType::Map(..)) if entries.is_empty() => {
            TExpr::MakeMap(Vec::new())
        }
        _ => return None,
    };
    Some(TypedExpr {
        kind,
        ty: want.clone(),
        span: v.span,
    })
}

/// A write to a source declared read-only (`CREATE SOURCE STREAM|TABLE`).
pub(super) fn read_only(target: &SourceDef, at: Span, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ReadOnlySource,
        format!(
            "{what} read-only {}: {}",
            target.kind.describe(),
            target.name
        ),
    )
    .label(at, "declared with CREATE SOURCE: nothing writes to it")
    .label(target.declared_at, "declared here")
    .help("write to its topic from outside, or declare it without SOURCE")
}
