//! A session: the catalog, the session properties and the log it runs on, and the
//! execution of statements in order. `kql run`, `kql check`, the REPL and the tests all go
//! through it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::exec::log::{Acks, IntoLogHandle, LogHandle, Offsets, ProducerRecord, TopicConfig};
use bytes::Bytes;

use super::drivers::query::run_bounded;
use super::eval::eval;
use super::format::{encode_value, key::encode_key};
use super::output::{listing, Output, Progress};
use super::physical::{self, StartAt};
use super::task::read_partition;
use crate::data::{SqlType, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::catalog::ColumnRole;
use crate::plan::{Catalog, Compiler, Planned, QueryPlan, SourceDef};
use crate::sources::Sources;
use crate::syntax::ast::{Describe, ShowWhat, Statement, StatementKind};
use crate::syntax::span::SourceId;

/// Session properties and their defaults (`plan::session_properties`). kql's
/// `auto.offset.reset` default is earliest: a script wants all of its data (ksqlDB's CLI
/// defaults to latest).
fn default_properties() -> impl Iterator<Item = (&'static str, &'static str)> {
    crate::plan::session_properties::SESSION_PROPERTIES
        .iter()
        .map(|p| (p.0, p.1))
}

/// What a check has declared so far: the catalog as it will be, topics to be created, and
/// the properties as the statements before set them.
struct Scratch {
    properties: BTreeMap<String, String>,
    catalog: Catalog,
    topics: BTreeMap<String, u32>,
}

pub struct Session {
    pub(super) log: LogHandle,
    pub catalog: Catalog,
    pub sources: Sources,
    pub properties: BTreeMap<String, String>,
    pub(crate) runtime: tokio::runtime::Runtime,
    script_depth: usize,
    /// Errors of a nested script beyond the first, reported with it.
    deferred: Vec<Diagnostic>,
    /// Set while replaying the command topic, so replayed statements are not recorded again.
    pub(crate) restoring: bool,
    /// Warnings about replayed statements, shown once the replay is over (its output is
    /// otherwise discarded).
    pub(crate) restore_warnings: Vec<String>,
    /// Persistent queries and connectors (see `running.rs`).
    pub registry: super::persistent::Registry,
    /// Set when the session is live (`follow.rs`): the stop request of its push queries
    /// and of `follow`, and the pace of its live loops.
    pub(crate) live_stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    pub(crate) pulse: Option<super::follow::Pulse>,
    /// With `--sandbox`: the folder connector files and scripts must be in.
    pub sandbox: Option<super::sandbox::Sandbox>,
    /// A session on a data directory another process holds (`log::RemoteLog`): the
    /// persistent queries it restores are that process's, which runs them, so here they
    /// only declare their sinks. Queries started in this session run here.
    pub guest: bool,
    /// Persistent queries share their partitions with the other processes of the
    /// application (`share.rs`): `kql run --follow` on a log with consumer groups.
    pub share_queries: bool,
    /// Source connectors loading while the statements after them run (`loads.rs`).
    pub loads: super::loads::Loads,
}

impl Session {
    /// A session on `log`: the embedded cluster, a Kafka cluster, the in-memory log, or a
    /// handle on one.
    pub fn new(log: impl IntoLogHandle) -> Session {
        let log = log.into_log_handle();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("kql-task")
            .thread_stack_size(crate::exec::limits::TASK_STACK_BYTES)
            .build()
            .expect("the tokio runtime starts");
        Session {
            log,
            catalog: Catalog::default(),
            sources: Sources::default(),
            properties: default_properties()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            runtime,
            script_depth: 0,
            sandbox: None,
            share_queries: false,
            deferred: Vec::new(),
            restoring: false,
            restore_warnings: Vec::new(),
            registry: Default::default(),
            live_stop: None,
            pulse: None,
            guest: false,
            loads: Default::default(),
        }
    }

    /// The log the session runs on.
    pub fn log(&self) -> &LogHandle {
        &self.log
    }

    /// Is the session replaying the command topic?
    pub(crate) fn restoring(&self) -> bool {
        self.restoring
    }

    /// Replays the command topic of a durable log: the streams and tables declared by
    /// earlier sessions come back. Statements that no longer compile are reported. A
    /// command topic that lost records (damage found on open) or cannot be read is an
    /// error: replaying part of it would forget streams and tables without a word.
    pub fn restore(&mut self, out: &mut dyn Output) -> Result<(), Diagnostic> {
        let command_topic = self.command_topic();
        if !self.log.is_durable() || self.log.partition_count(&command_topic).is_none() {
            return Ok(());
        }
        let damaged = |what: String| {
            Diagnostic::new(
                Code::TopicError,
                format!(
                    "the catalog log '{command_topic}' of the data directory is damaged ({what}); \
                     kql will not open it with part of its streams and tables forgotten"
                ),
            )
            .help(format!(
                "restore the data directory from a backup; or, to keep the topics' data and \
                 declare the streams and tables again, move the broker-*/{command_topic}-0 \
                 directories out of it"
            ))
        };
        let reports = self
            .log
            .embedded()
            .map(|e| e.storage_reports())
            .unwrap_or_default();
        if let Some(r) = reports
            .into_iter()
            // A torn tail is the statement a crash interrupted (warned about on open).
            .find(|r| r.topic == command_topic && r.lost && !r.torn_tail)
        {
            return Err(damaged(r.to_string()));
        }
        let Offsets {
            log_start,
            high_watermark,
            ..
        } = self.log.offsets(&command_topic, 0).map_err(|e| match e {
            // Not damage: the partition is on stopped brokers only.
            crate::exec::log::LogError::LeaderNotAvailable { .. } => Diagnostic::new(
                Code::TopicError,
                format!("cannot read the catalog log: {e}"),
            )
            .help(
                "START BROKER the stopped brokers in the process that holds the data \
                 directory, or stop that process (the brokers of a directory opened anew \
                 are all running)",
            ),
            e => damaged(e.to_string()),
        })?;
        let mut records = Vec::new();
        read_partition(
            &self.log,
            &command_topic,
            0,
            log_start,
            high_watermark,
            |r| {
                records.push(r.to_record());
                Ok(())
            },
        )
        .map_err(damaged)?;
        self.restoring = true;
        let mut restored = 0;
        for r in records {
            let Some(text) = r
                .value
                .as_ref()
                .and_then(|v| std::str::from_utf8(v).ok().map(str::to_string))
            else {
                continue;
            };
            let id = self.sources.add(
                format!("<{command_topic} offset {}>", r.offset),
                text.clone(),
            );
            let (statements, errors) = crate::syntax::parse(id, &text);
            let mut failed = !errors.is_empty();
            // the statement runs with the session properties it was first run with
            let session_properties = self.properties.clone();
            self.properties
                .extend(super::saved_properties::from_headers(&r.headers));
            for stmt in &statements {
                failed |= self.execute(stmt, &mut super::output::Discard).is_err();
            }
            self.properties = session_properties;
            if failed {
                out.warning(&format!("could not restore: {}", text.trim()));
            } else {
                restored += 1;
            }
        }
        self.restoring = false;
        for w in std::mem::take(&mut self.restore_warnings) {
            out.warning(&w);
        }
        if restored > 0 {
            let from = match self.log.embedded() {
                Some(_) if self.guest => "the data directory (its persistent queries run in \
                                          the process that holds it)"
                    .to_string(),
                Some(_) => "the data directory".to_string(),
                None => format!("the command topic '{command_topic}'"),
            };
            out.status(&format!("Restored {restored} statement(s) from {from}"));
        }
        Ok(())
    }

    /// The internal topic that records the statements that changed the catalog, replayed
    /// when a later session opens the same durable log (ksqlDB's command topic).
    pub fn command_topic(&self) -> String {
        super::naming::command_topic(self.log.application_id())
    }

    /// Appends a statement that changed the catalog to the command topic (durable logs only).
    fn record(&mut self, stmt: &Statement) -> Result<(), Diagnostic> {
        if self.restoring || !self.log.is_durable() {
            return Ok(());
        }
        let command_topic = self.command_topic();
        if self.log.partition_count(&command_topic).is_none() {
            // On up to three brokers, as Kafka keeps its internal topics: the catalog stays
            // readable while a broker is stopped.
            let replicas = self
                .log
                .embedded()
                .map_or(1, |e| e.broker_count().clamp(1, 3));
            self.log
                .create_topic(
                    &command_topic,
                    TopicConfig {
                        replicas,
                        ..TopicConfig::default()
                    },
                )
                .map_err(|e| {
                    Diagnostic::new(
                        Code::TopicError,
                        format!("cannot create the command topic: {e}"),
                    )
                })?;
        }
        let text = self
            .sources
            .text(stmt.span.source)
            .get(stmt.span.start..stmt.span.end)
            .unwrap_or("")
            .to_string();
        let record = ProducerRecord {
            key: None,
            value: Some(Bytes::from(text.into_bytes())),
            timestamp_ms: None,
            partition: Some(0),
            headers: super::saved_properties::headers(&self.properties),
        };
        self.log
            .produce(&command_topic, record, Acks::All)
            .map_err(|e| {
                Diagnostic::new(
                    Code::TopicError,
                    format!("cannot record the statement in the command topic: {e}"),
                )
            })?;
        Ok(())
    }

    /// Parses and checks a whole text without running it: every error of every statement.
    /// The catalog is updated on a copy, so later statements see earlier declarations.
    pub fn check(&mut self, name: &str, text: &str) -> (SourceId, Vec<Statement>, Vec<Diagnostic>) {
        let id = self.sources.add(name, text);
        let (statements, mut errors) = crate::syntax::parse(id, text);
        let mut scratch = Scratch {
            properties: self.properties.clone(),
            catalog: self.catalog.clone(),
            topics: BTreeMap::new(),
        };
        self.check_statements(&statements, &mut scratch, &mut errors, 0);
        errors.sort_by_key(|d| d.labels.first().map(|l| (l.span.source, l.span.start)));
        (id, statements, errors)
    }

    /// Compiles statements against a scratch catalog that follows what they declare, drop
    /// and run (RUN SCRIPT), collecting every error.
    fn check_statements(
        &mut self,
        statements: &[Statement],
        scratch: &mut Scratch,
        errors: &mut Vec<Diagnostic>,
        depth: usize,
    ) {
        for stmt in statements {
            let planned = {
                let log = &self.log;
                let topics = &scratch.topics;
                let lookup = |t: &str| log.partition_count(t).or_else(|| topics.get(t).copied());
                lowered(
                    Compiler {
                        catalog: &scratch.catalog,
                        sources: &self.sources,
                        topic_partitions: &lookup,
                        client_properties: log.client_properties(),
                        properties: &scratch.properties,
                    }
                    .compile(stmt),
                )
            };
            match planned {
                Ok(Planned::CreateSource {
                    def, skip: false, ..
                }) => {
                    scratch
                        .topics
                        .entry(def.topic.clone())
                        .or_insert(def.partitions);
                    scratch.catalog.insert(def);
                }
                Ok(Planned::Persistent(p)) => {
                    scratch
                        .topics
                        .entry(p.sink.topic.clone())
                        .or_insert(p.sink.partitions);
                    scratch.catalog.insert(p.sink.clone());
                }
                Ok(Planned::Drop { name, .. }) => {
                    scratch.catalog.remove(&name);
                }
                Ok(Planned::CreateType {
                    name,
                    ty,
                    skip: false,
                }) => scratch.catalog.insert_type(name, ty),
                Ok(Planned::DropType { name, .. }) => {
                    scratch.catalog.remove_type(&name);
                }
                Ok(Planned::Set { name, value }) => {
                    scratch.properties.insert(name, value);
                }
                Ok(Planned::Unset { name }) => {
                    match default_properties().find(|(k, _)| *k == name) {
                        Some((_, default)) => scratch.properties.insert(name, default.to_string()),
                        None => scratch.properties.remove(&name),
                    };
                }
                Ok(Planned::Connector(c)) => {
                    scratch.topics.entry(c.topic.clone()).or_insert(1);
                }
                // A topic no statement before it creates: an error before anything runs.
                // Internal topics (named `_...`) are created by the queries that use them.
                Ok(Planned::Inspect(StatementKind::Print(p)))
                    if !p.topic.starts_with('_')
                        && self.log.partition_count(&p.topic).is_none()
                        && !scratch.topics.contains_key(&p.topic) =>
                {
                    let known = self.log.topic_names();
                    let topics = known.iter().chain(scratch.topics.keys());
                    errors.push(super::running::unknown_topic(
                        &p,
                        topics.map(String::as_str),
                    ));
                }
                Ok(Planned::RunScript { path, span }) => match self
                    .confine(&path, span)
                    .map_err(|d| {
                        errors.push(d);
                        None // reported: the script is not read
                    })
                    .and_then(|()| std::fs::read_to_string(&path).map_err(Some))
                {
                    // Too deep is reported when the script runs.
                    Ok(text) if depth < 16 => {
                        let id = self.sources.add(path.display().to_string(), text.clone());
                        let (inner, mut parse_errors) = crate::syntax::parse(id, &text);
                        errors.append(&mut parse_errors);
                        self.check_statements(&inner, scratch, errors, depth + 1);
                    }
                    Ok(_) | Err(None) => {}
                    Err(Some(e)) => errors.push(
                        Diagnostic::new(
                            Code::FileError,
                            format!("cannot read {}: {e}", path.display()),
                        )
                        .label(span, "this script")
                        .help("the path is relative to the directory of the file that runs it"),
                    ),
                },
                Ok(_) => {}
                Err(mut e) => errors.append(&mut e),
            }
        }
    }

    /// Checks a whole text, then runs its statements in order; nothing runs if any
    /// statement has an error.
    pub fn run_text(
        &mut self,
        name: &str,
        text: &str,
        out: &mut dyn Output,
    ) -> Result<(), Vec<Diagnostic>> {
        let (_, statements, errors) = self.check(name, text);
        if !errors.is_empty() {
            return Err(errors);
        }
        for stmt in &statements {
            // Ctrl-C in the shell stops the rest of a script, not only a query; a live
            // run's stop request stops the rest of its file.
            if out.cancelled() || self.stop_requested() {
                break;
            }
            self.execute(stmt, out)?;
        }
        Ok(())
    }

    pub fn compile(&self, stmt: &Statement) -> Result<Planned, Vec<Diagnostic>> {
        lowered(self.with_compiler(|c| c.compile(stmt)))
    }

    /// Runs `f` with a compiler over the live catalog and the log's partition counts.
    fn with_compiler<R>(&self, f: impl FnOnce(&Compiler) -> R) -> R {
        let log = &self.log;
        let lookup = |t: &str| log.partition_count(t);
        f(&Compiler {
            catalog: &self.catalog,
            sources: &self.sources,
            topic_partitions: &lookup,
            client_properties: log.client_properties(),
            properties: &self.properties,
        })
    }

    /// Compiles one statement against the live catalog and carries it out.
    pub fn execute(
        &mut self,
        stmt: &Statement,
        out: &mut dyn Output,
    ) -> Result<(), Vec<Diagnostic>> {
        let planned = self.compile(stmt)?;
        // The log cleaner (retention and compaction of closed segments) runs between
        // statements, as Kafka's runs in the background.
        if let Some(embedded) = self.log.embedded() {
            let _ = embedded.enforce_retention(now_ms());
        }
        let span = stmt.span;
        // Statements that change the catalog are recorded for later sessions.
        // Persistent queries and their termination too, so a durable log restarts them.
        let changes_catalog = matches!(
            &planned,
            Planned::CreateSource { skip: false, .. }
                | Planned::Drop { skip: false, .. }
                | Planned::CreateType { skip: false, .. }
                | Planned::DropType { skip: false, .. }
                | Planned::Persistent(_)
                | Planned::Terminate(_)
        );
        if !self.loads.is_empty() && !self.runs_alongside_loads(&planned) {
            self.settle_loads(out).map_err(|d| vec![d])?;
        }
        let result = match planned {
            Planned::CreateSource {
                def,
                skip,
                or_replace,
            } => {
                if skip {
                    out.status(&format!(
                        "{} {} already exists",
                        capitalise(def.kind.describe()),
                        def.name
                    ));
                    Ok(())
                } else {
                    self.create_source(def, or_replace, out)
                }
            }
            Planned::InsertValues {
                target,
                rowtime,
                values,
            } => self.insert_values(&target, rowtime.as_ref(), &values),
            Planned::Set { name, value } => match self.log.set_client_property(&name, &value) {
                Err(e) => Err(Diagnostic::new(Code::InvalidPropertyValue, e.to_string())
                    .label(span, "this property")),
                Ok(client) => {
                    out.status(&format!(
                        "Successfully changed local property '{name}' to '{value}'{}.",
                        if client {
                            " (passed to the Kafka client)"
                        } else {
                            ""
                        }
                    ));
                    self.properties.insert(name, value);
                    Ok(())
                }
            },
            Planned::Unset { name } => {
                match default_properties().find(|(k, _)| *k == name) {
                    Some((_, default)) => {
                        // The log goes back to the default too (processing.guarantee).
                        let _ = self.log.set_client_property(&name, default);
                        self.properties.insert(name.clone(), default.to_string())
                    }
                    None => self.properties.remove(&name),
                };
                out.status(&format!("Successfully unset local property '{name}'."));
                Ok(())
            }
            Planned::Query(plan) => {
                self.warn_join_times(&plan.root, out);
                self.run_any_query(&plan, out)
            }
            Planned::Pull(plan) => (|| {
                self.catch_up()?;
                super::pull::run(&self.log, &plan, out)
            })(),
            Planned::Persistent(p) => {
                self.warn_join_times(&p.query.root, out);
                self.start_persistent(*p, out)
            }
            Planned::Connector(c) => self.create_connector(c, out),
            Planned::Terminate(id) => self.terminate(id.as_ref(), out),
            Planned::Explain(plan) => explain(&plan, None, out),
            Planned::Inspect(kind) => self.inspect(&kind, out),
            Planned::Drop {
                name,
                skip,
                delete_topic,
            } => match self.registry.users_of(&name) {
                ids if !ids.is_empty() && !skip => Err(Diagnostic::new(
                    Code::SourceInUse,
                    format!("cannot drop {name}: running queries use it"),
                )
                .label(span, "drop of a source in use")
                .help(format!(
                    "terminate them first: {}",
                    ids.iter()
                        .map(|i| format!("TERMINATE {i};"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ))),
                _ => self.drop(&name, skip, delete_topic, out),
            },
            Planned::RunScript {
                path,
                span: path_span,
            } => self.run_script(&path, path_span, out),
            Planned::CreateType { name, ty, skip } => {
                if skip {
                    out.status(&format!("Type {name} already exists"));
                } else {
                    self.catalog.insert_type(name, ty);
                    out.status("Type created");
                }
                Ok(())
            }
            Planned::DropType { name, skip } => {
                if skip {
                    out.status(&format!("Type {name} does not exist"));
                } else {
                    self.catalog.remove_type(&name);
                    out.status("Type dropped");
                }
                Ok(())
            }
        };
        let result = result.and_then(|()| {
            if changes_catalog {
                self.record(stmt)
            } else {
                Ok(())
            }
        });
        result.map_err(|d| {
            // Runtime errors without a location point at the statement.
            let mut all = vec![if d.labels.is_empty() {
                d.label(span, "while running this statement")
            } else {
                d
            }];
            all.append(&mut self.deferred);
            all
        })
    }

    /// Whether a statement runs while source connectors load (the others wait for the
    /// loads): declarations of streams and tables whose topic is not loading, source
    /// connectors, and persistent queries (which wait for what they need themselves).
    fn runs_alongside_loads(&self, planned: &Planned) -> bool {
        match planned {
            Planned::CreateSource { def, .. } => !self.loads.loading(&def.topic),
            Planned::Persistent(_) => true,
            Planned::Connector(c) => c.kind == crate::syntax::ast::ConnectorKind::Source,
            _ => false,
        }
    }

    fn drop(
        &mut self,
        name: &str,
        skip: bool,
        delete_topic: bool,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        if skip {
            out.status(&format!("{name} does not exist"));
            return Ok(());
        }
        let def = self
            .catalog
            .remove(name)
            .ok_or_else(|| Diagnostic::internal("dropped source vanished"))?;
        if delete_topic {
            self.log.delete_topic(&def.topic).map_err(|e| {
                Diagnostic::new(
                    Code::TopicError,
                    format!("cannot delete topic '{}': {e}", def.topic),
                )
            })?;
        }
        out.status(&format!(
            "Source {name} (topic: {}) was dropped{}",
            def.topic,
            if delete_topic {
                " and its topic deleted"
            } else {
                ""
            }
        ));
        Ok(())
    }

    /// Whether the shell may read `path` as a script: a `.ksql` or `.sql` file, inside the
    /// sandbox if there is one (the shell reads its scripts itself, statement by statement).
    pub fn may_run_script(&self, path: &std::path::Path) -> Result<(), Diagnostic> {
        if let Some(d) = crate::plan::compile::not_a_script(path) {
            return Err(d);
        }
        match &self.sandbox {
            Some(sandbox) => sandbox.check(path).map_err(|why| {
                Diagnostic::new(Code::FileError, why).help(
                    "the shell was started with --sandbox DIR: scripts must be in that folder",
                )
            }),
            None => Ok(()),
        }
    }

    /// With `--sandbox`, `path` must be inside its folder.
    pub(crate) fn confine(
        &self,
        path: &std::path::Path,
        span: crate::syntax::span::Span,
    ) -> Result<(), Diagnostic> {
        match &self.sandbox {
            Some(sandbox) => sandbox.check(path).map_err(|why| {
                Diagnostic::new(Code::FileError, why)
                    .label(span, "outside the sandbox")
                    .help("with --sandbox (the default of kql serve), files must be in the sandbox folder: the .ksql file's, or the one the shell's --sandbox DIR names; kql serve --no-sandbox lifts it")
            }),
            None => Ok(()),
        }
    }

    fn run_script(
        &mut self,
        path: &std::path::Path,
        span: crate::syntax::span::Span,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        const SCRIPT_DEPTH_MAX: usize = 16;
        if self.script_depth >= SCRIPT_DEPTH_MAX {
            return Err(Diagnostic::new(
                Code::FileError,
                format!("scripts nest deeper than {SCRIPT_DEPTH_MAX} levels"),
            )
            .label(span, "one script too many")
            .help("a script probably runs itself, directly or through another"));
        }
        self.confine(path, span)?;
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::new(
                Code::FileError,
                format!("cannot read {}: {e}", path.display()),
            )
            .label(span, "this script")
            .help("the path is relative to the directory of the file that runs it")
        })?;
        self.script_depth += 1;
        let result = self.run_text(&path.display().to_string(), &text, out);
        self.script_depth -= 1;
        result.map_err(|mut errors| {
            // The first error is returned; the others are reported with it.
            let first = errors.remove(0);
            self.deferred.extend(errors);
            first
        })
    }

    fn create_source(
        &mut self,
        mut def: SourceDef,
        or_replace: bool,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        match self.log.partition_count(&def.topic) {
            Some(real) => def.partitions = real,
            None => {
                let config = topic_config(&def);
                self.log.create_topic(&def.topic, config).map_err(|e| {
                    let mut d = Diagnostic::new(
                        Code::TopicError,
                        format!("cannot create topic '{}': {e}", def.topic),
                    );
                    if let Some(s) = def.partitions_at {
                        d = d.label(s, "declared here");
                    }
                    match self.log.embedded() {
                        Some(e) => d.help(format!(
                            "this cluster has {} broker(s); start kql with --brokers N for more",
                            e.broker_count()
                        )),
                        None => d,
                    }
                })?;
            }
        }
        self.registry.command_seq += 1;
        let verb = if or_replace && self.catalog.get(&def.name).is_some() {
            "replaced"
        } else {
            "created"
        };
        out.status(&format!("{} {verb}", capitalise(def.kind.describe())));
        self.catalog.insert(def);
        Ok(())
    }

    fn insert_values(
        &mut self,
        target: &SourceDef,
        rowtime: Option<&crate::plan::expr::TypedExpr>,
        values: &[crate::plan::expr::TypedExpr],
    ) -> Result<(), Diagnostic> {
        let row: Vec<Value> = values.iter().map(|e| eval(e, &[])).collect();
        let cols = |role: ColumnRole| -> Vec<(&str, &SqlType, &Value)> {
            target
                .columns
                .iter()
                .zip(&row)
                .filter(|(c, _)| c.role == role)
                .map(|(c, v)| (c.name.as_str(), &c.ty, v))
                .collect()
        };
        let key_format = crate::exec::format::key::KeyFormat {
            format: target.key_format,
            delimiter: target.key_delimiter,
        };
        let key = encode_key(key_format, &cols(ColumnRole::Key)).map(Bytes::from);
        let mut value = Vec::new();
        encode_value(
            target.value_format,
            target.wrap_single_value,
            target.value_delimiter,
            &cols(ColumnRole::Value),
            &mut value,
        );
        // Without ROWTIME, a stream with a timestamp column stamps the record with it, as
        // ksqlDB does; otherwise the record gets the current time.
        let from_column = target.timestamp_column.map(|i| &row[i]);
        let timestamp_ms = match (rowtime.map(|e| eval(e, &[])), from_column) {
            (Some(Value::Bigint(ms)), _) => Some(ms),
            (Some(Value::Int(ms)), _) => Some(ms as i64),
            (_, Some(Value::Bigint(ms) | Value::Timestamp(ms))) => Some(*ms),
            _ => None,
        };
        let record = ProducerRecord {
            key,
            value: Some(Bytes::from(value)),
            timestamp_ms,
            partition: None,
            headers: Vec::new(),
        };
        let acks = self.acks();
        match self.log.produce(&target.topic, record, acks) {
            // A producer with acks=0 waits for no answer, so it never hears of an error:
            // the record is simply not there (a Kafka producer behaves the same).
            Err(_) if acks == Acks::None => Ok(()),
            Err(e) => Err(Diagnostic::new(
                Code::TopicError,
                format!("cannot write to topic '{}': {e}", target.topic),
            )
            .help(write_help(&e))),
            Ok(_) => Ok(()),
        }
    }

    pub(crate) fn run_query(
        &mut self,
        plan: &QueryPlan,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        let start =
            StartAt::from_property(self.properties.get("auto.offset.reset").map(String::as_str));
        let (tasks, internal_topics) =
            physical::tasks_and_topics(&self.runtime, &self.log, plan, start)?;
        let columns = super::output::result_columns(plan);
        out.begin(&columns);
        let limit = plan.limit.unwrap_or(u64::MAX);
        let mut emitted = 0u64;
        // What the query will read, for a progress display.
        let total_records = plan
            .root
            .sources()
            .iter()
            .filter_map(|s| physical::ranges(&self.log, &s.topic, start).ok())
            .flatten()
            .map(|r| r.end - r.start)
            .sum();
        let progress = Arc::new(Progress {
            total_records,
            ..Progress::default()
        });
        out.progress(&progress);
        let stats = run_bounded(&self.runtime, tasks, &progress, |row| {
            if emitted >= limit || out.cancelled() {
                return false;
            }
            // A record with no value goes on to a sink as one; a push query has no row
            // to print for it.
            if row.tombstone {
                return true;
            }
            out.row(&row.values);
            emitted += 1;
            progress
                .rows
                .store(emitted, std::sync::atomic::Ordering::Relaxed);
            emitted < limit
        })
        .map_err(|e| Diagnostic::from(e.context("the query failed")));
        // A transient query's internal topics go with it.
        for t in internal_topics {
            let _ = self.log.delete_topic(&t);
        }
        let stats = stats?;
        out.end();
        if plan.limit.is_some_and(|l| emitted >= l) {
            out.status(&format!("Limit Reached ({emitted} rows)"));
        }
        if stats.bad_records > 0 {
            let names: Vec<&str> = plan
                .root
                .sources()
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            let msg = super::task::bad_records_message(
                format!(
                    "skipped {} bad record(s) of {} that could not be read:",
                    stats.bad_records,
                    names.join(", ")
                ),
                stats.bad_records,
                &stats.bad_samples,
            );
            out.warning(&msg);
        }
        Ok(())
    }

    fn inspect(&mut self, kind: &StatementKind, out: &mut dyn Output) -> Result<(), Diagnostic> {
        match kind {
            StatementKind::Explain(crate::syntax::ast::Explain::QueryId(id)) => {
                self.explain_query_id(id, out)
            }
            StatementKind::Print(p) => self.print(p, out),
            StatementKind::Show(s) if s.extended => {
                // SHOW STREAMS|TABLES EXTENDED: DESCRIBE ... EXTENDED of each
                let stream = s.what == ShowWhat::Streams;
                let names: Vec<crate::syntax::ast::Ident> = self
                    .catalog
                    .sources()
                    .filter(|d| (d.kind == crate::syntax::ast::SourceKind::Stream) == stream)
                    .map(|d| crate::syntax::ast::Ident {
                        name: d.name.clone(),
                        quoted: true,
                        span: d.declared_at,
                    })
                    .collect();
                for name in names {
                    let describe = StatementKind::Describe(Describe::Source {
                        name,
                        extended: true,
                    });
                    self.inspect(&describe, out)?;
                }
                Ok(())
            }
            StatementKind::Show(s) => self.show(s.what, out),
            StatementKind::Describe(Describe::Function { name }) => {
                super::inspect::describe_function(&name.name, out);
                Ok(())
            }
            StatementKind::Describe(Describe::Source { name, extended }) => {
                if *extended {
                    // the statistics are those of queries caught up with their inputs
                    self.catch_up()?;
                }
                let def = self
                    .catalog
                    .get(&name.name)
                    .ok_or_else(|| Diagnostic::internal("described source vanished"))?;
                let rows = def
                    .columns
                    .iter()
                    .map(|c| {
                        let ty = match c.role {
                            ColumnRole::Key
                                if def.kind == crate::syntax::ast::SourceKind::Stream =>
                            {
                                format!("{} (key)", c.ty)
                            }
                            ColumnRole::Key => match &def.window {
                                Some(w) => {
                                    format!("{} (primary key) (window type: {})", c.ty, w.name())
                                }
                                None => format!("{} (primary key)", c.ty),
                            },
                            ColumnRole::Value => c.ty.to_string(),
                            ColumnRole::Header => match &c.header_key {
                                Some(k) => format!("{} (header('{k}'))", c.ty),
                                None => format!("{} (headers)", c.ty),
                            },
                        };
                        vec![Value::string(&c.name), Value::string(&ty)]
                    })
                    .collect();
                let window = def.window.as_ref().map_or_else(String::new, |w| {
                    format!(
                        "  Window: {} (every key is per window; rows show WINDOWSTART, WINDOWEND)",
                        if def.window_declared {
                            w.describe_key()
                        } else {
                            w.describe()
                        }
                    )
                });
                out.status(&format!(
                    "Name: {}  Type: {}  Topic: {} ({})  Key format: {}  Value format: {}{window}",
                    def.name,
                    def.kind.describe().to_uppercase(),
                    def.topic,
                    crate::diagnostic::count(def.partitions, "partition"),
                    def.key_format.name(),
                    def.value_format.name()
                ));
                listing(out, &["Field", "Type"], rows);
                if *extended {
                    self.describe_queries(&name.name, out);
                }
                Ok(())
            }
            StatementKind::Describe(Describe::Topic { name, extended, .. }) => {
                super::inspect::describe_topic(&self.log, name, out)?;
                if *extended {
                    super::inspect::storage_reports(&self.log, name, out);
                }
                Ok(())
            }
            StatementKind::Describe(Describe::ConsumerGroup { name, .. }) => {
                self.catch_up()?;
                super::inspect::describe_group(&self.log, name, out)
            }
            StatementKind::Broker(b) => {
                super::inspect::broker_control(&self.log, b.broker, b.start, out)
            }
            _ => Err(Diagnostic::new(
                Code::Unsupported,
                "this statement is not supported by this version of kql yet",
            )),
        }
    }

    fn show(&mut self, what: ShowWhat, out: &mut dyn Output) -> Result<(), Diagnostic> {
        match what {
            ShowWhat::Functions => super::inspect::show_functions(out),
            ShowWhat::Types => super::inspect::show_types(&self.catalog, out),
            ShowWhat::Streams | ShowWhat::Tables => {
                let want_stream = what == ShowWhat::Streams;
                let rows = self
                    .catalog
                    .sources()
                    .filter(|d| (d.kind == crate::syntax::ast::SourceKind::Stream) == want_stream)
                    .map(|d| {
                        vec![
                            Value::string(&d.name),
                            Value::string(&d.topic),
                            Value::string(d.key_format.name()),
                            Value::string(d.value_format.name()),
                        ]
                    })
                    .collect();
                let first = if want_stream {
                    "Stream Name"
                } else {
                    "Table Name"
                };
                listing(
                    out,
                    &[first, "Kafka Topic", "Key Format", "Value Format"],
                    rows,
                );
            }
            ShowWhat::Queries => self.show_queries(out)?,
            ShowWhat::Connectors => self.show_connectors(out),
            ShowWhat::Brokers => super::inspect::show_brokers(&self.log, out),
            ShowWhat::ConsumerGroups => {
                // the groups' positions are those of queries caught up with their inputs
                self.catch_up()?;
                super::inspect::show_groups(&self.log, out)
            }
            ShowWhat::Topics => super::inspect::show_topics(&self.log, out),
            ShowWhat::Properties => {
                let rows = self
                    .properties
                    .iter()
                    .map(|(k, v)| vec![Value::string(k), Value::string(v)])
                    .collect();
                listing(out, &["Property", "Value"], rows);
            }
        }
        Ok(())
    }
}

impl Session {
    /// `EXPLAIN <query id>`: the plans of a running persistent query, compiled again from
    /// its statement against the current catalog.
    fn explain_query_id(
        &mut self,
        id: &crate::syntax::ast::Ident,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        let Some((query_id, text, sink)) = self
            .registry
            .queries
            .iter()
            .find(|q| q.id.eq_ignore_ascii_case(&id.name))
            .map(|q| (q.id.clone(), q.text.clone(), q.sink_topic.clone()))
        else {
            let ids: Vec<String> = self.registry.queries.iter().map(|q| q.id.clone()).collect();
            let mut d = Diagnostic::new(
                Code::UnknownSource,
                format!("there is no running query {}", id.name),
            )
            .label(id.span, "unknown query id");
            d = match crate::diagnostic::did_you_mean(&id.name, ids.iter().map(|s| s.as_str())) {
                Some(s) => d.help(format!("did you mean {s}?")),
                None if ids.is_empty() => {
                    d.help("no persistent query is running; SHOW QUERIES lists them")
                }
                None => d.help(format!("the running queries are: {}", ids.join(", "))),
            };
            return Err(d);
        };
        let source = self
            .sources
            .add(format!("<query {}>", id.name), text.clone());
        let stmt = crate::syntax::parse_statement(source, &text, 0)?;
        let prefix = super::naming::query_prefix(self.log.application_id(), &query_id);
        let StatementKind::CreateAsSelect(c) = &stmt.kind else {
            let StatementKind::InsertSelect(i) = &stmt.kind else {
                return Err(Diagnostic::internal(format!(
                    "query {} has no SELECT",
                    id.name
                )));
            };
            let plan = self.compile_query(&i.query)?;
            out.text(&format!("Query {}: {}\n", id.name, text.trim()));
            return explain(&plan, Some((&sink, &prefix)), out);
        };
        let plan = self.compile_query(&c.query)?;
        out.text(&format!("Query {}: {}\n", id.name, text.trim()));
        explain(&plan, Some((&sink, &prefix)), out)
    }

    pub(crate) fn compile_query(
        &self,
        q: &crate::syntax::ast::Query,
    ) -> Result<QueryPlan, Diagnostic> {
        let mut q = q.clone();
        if q.emit.is_none() {
            q.emit = Some(crate::syntax::ast::Emit {
                kind: crate::syntax::ast::EmitKind::Changes,
                span: q.span,
            });
        }
        self.with_compiler(|c| c.query(&q))
            .map_err(|mut e| e.remove(0))
    }
}

/// A compiled statement whose query has been lowered to its physical plan: what only the
/// physical pass finds (a join whose sides cannot be co-partitioned, KQL0401) is an error of
/// the statement, reported with the others before anything runs.
fn lowered(planned: Result<Planned, Vec<Diagnostic>>) -> Result<Planned, Vec<Diagnostic>> {
    let plan = match &planned {
        Ok(Planned::Query(p) | Planned::Pull(p) | Planned::Explain(p)) => p,
        Ok(Planned::Persistent(p)) => &p.query,
        _ => return planned,
    };
    if let Err(d) = physical::lower(plan, physical::Output::Rows) {
        return Err(vec![d]);
    }
    planned
}

/// Prints a query's plans; `running`: the sink topic and internal topic prefix of the
/// persistent query it is.
fn explain(
    plan: &QueryPlan,
    running: Option<(&str, &str)>,
    out: &mut dyn Output,
) -> Result<(), Diagnostic> {
    let mut text = String::from("Logical plan:\n");
    for line in plan.explain_logical().lines() {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str("Physical plan:\n");
    let (output, prefix) = match running {
        Some((sink, prefix)) => (physical::Output::Sink(sink.to_string()), Some(prefix)),
        None => (physical::Output::Rows, None),
    };
    text.push_str(&physical::explain(plan, output, prefix)?);
    out.text(&text);
    Ok(())
}

/// The log's settings for the topic of a declaration.
pub fn topic_config(def: &SourceDef) -> TopicConfig {
    let t = &def.topic_settings;
    TopicConfig {
        partitions: def.partitions,
        replicas: def.replicas,
        retention_ms: t.retention_ms,
        retention_bytes: t.retention_bytes.map(|b| b as u64),
        segment_bytes: t.segment_bytes.map(|b| b as u64),
        min_insync_replicas: t.min_insync_replicas.unwrap_or(1),
        cleanup_policy: if t.compact {
            crate::exec::log::CleanupPolicy::Compact
        } else {
            crate::exec::log::CleanupPolicy::Delete
        },
        ..TopicConfig::default()
    }
}

/// What a user can do about a refused write.
fn write_help(e: &crate::exec::log::LogError) -> String {
    match e {
        crate::exec::log::LogError::NotEnoughReplicas { .. } => "START BROKER the stopped brokers holding the partition (DESCRIBE TOPIC shows its ISR), or SET 'acks'='1' to accept a write only the leader has".into(),
        crate::exec::log::LogError::LeaderNotAvailable { .. } => "START BROKER one of the partition's in-sync replicas (DESCRIBE TOPIC shows them)".into(),
        _ => "DESCRIBE TOPIC shows the partitions, their leaders and in-sync replicas".into(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
