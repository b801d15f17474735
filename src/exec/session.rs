//! A session: the catalog, the session properties and the embedded cluster, and the
//! execution of statements in order. `kql run`, `kql check`, the REPL and the tests all go
//! through it.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kql_runtime::{Acks, Cluster, ProducerRecord, TopicConfig};

use super::eval::eval;
use super::format::{encode_value, key::encode_key};
use super::output::{listing, Output, Progress, ResultColumn};
use super::physical::{self, StartAt};
use super::query::run_bounded;
use crate::data::{SqlType, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::catalog::ColumnRole;
use crate::plan::{Catalog, Compiler, Planned, QueryPlan, SourceDef};
use crate::sources::Sources;
use crate::syntax::ast::{Describe, ShowWhat, Statement, StatementKind};
use crate::syntax::span::SourceId;

/// Session properties and their defaults. kql's `auto.offset.reset` default is earliest:
/// a script wants all of its data (ksqlDB's CLI defaults to latest).
pub const PROPERTIES: &[(&str, &str)] = &[("auto.offset.reset", "earliest")];

pub struct Session {
    pub cluster: Cluster,
    pub catalog: Catalog,
    pub sources: Sources,
    pub properties: BTreeMap<String, String>,
    runtime: tokio::runtime::Runtime,
}

impl Session {
    pub fn new(cluster: Cluster) -> Session {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("kql-task")
            .build()
            .expect("the tokio runtime starts");
        Session {
            cluster,
            catalog: Catalog::default(),
            sources: Sources::default(),
            properties: PROPERTIES
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            runtime,
        }
    }

    /// Parses and checks a whole text without running it: every error of every statement.
    /// The catalog is updated on a copy, so later statements see earlier declarations.
    pub fn check(&mut self, name: &str, text: &str) -> (SourceId, Vec<Statement>, Vec<Diagnostic>) {
        let id = self.sources.add(name, text);
        let (statements, mut errors) = crate::syntax::parse(id, text);
        let mut scratch = self.catalog.clone();
        let mut declared_topics: BTreeMap<String, u32> = BTreeMap::new();
        for stmt in &statements {
            let cluster = &self.cluster;
            let lookup = |t: &str| {
                cluster
                    .partition_count(t)
                    .or_else(|| declared_topics.get(t).copied())
            };
            let compiler = Compiler {
                catalog: &scratch,
                sources: &self.sources,
                topic_partitions: &lookup,
            };
            match compiler.compile(stmt) {
                Ok(Planned::CreateSource {
                    def, skip: false, ..
                }) => {
                    declared_topics
                        .entry(def.topic.clone())
                        .or_insert(def.partitions);
                    scratch.insert(def);
                }
                Ok(_) => {}
                Err(mut e) => errors.append(&mut e),
            }
        }
        errors.sort_by_key(|d| d.labels.first().map(|l| (l.span.source, l.span.start)));
        (id, statements, errors)
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
            self.execute(stmt, out)?;
        }
        Ok(())
    }

    pub fn compile(&self, stmt: &Statement) -> Result<Planned, Vec<Diagnostic>> {
        let cluster = &self.cluster;
        let lookup = |t: &str| cluster.partition_count(t);
        Compiler {
            catalog: &self.catalog,
            sources: &self.sources,
            topic_partitions: &lookup,
        }
        .compile(stmt)
    }

    /// Compiles one statement against the live catalog and carries it out.
    pub fn execute(
        &mut self,
        stmt: &Statement,
        out: &mut dyn Output,
    ) -> Result<(), Vec<Diagnostic>> {
        let planned = self.compile(stmt)?;
        let span = stmt.span;
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
            Planned::Set { name, value } => {
                out.status(&format!(
                    "Successfully changed local property '{name}' to '{value}'."
                ));
                self.properties.insert(name, value);
                Ok(())
            }
            Planned::Unset { name } => {
                match PROPERTIES.iter().find(|(k, _)| *k == name) {
                    Some((_, default)) => self.properties.insert(name.clone(), default.to_string()),
                    None => self.properties.remove(&name),
                };
                out.status(&format!("Successfully unset local property '{name}'."));
                Ok(())
            }
            Planned::Query(plan) => self.run_query(&plan, out),
            Planned::Explain(plan) => {
                explain(&plan, out);
                Ok(())
            }
            Planned::Inspect(kind) => self.inspect(&kind, out),
        };
        result.map_err(|d| {
            // Runtime errors without a location point at the statement.
            vec![if d.labels.is_empty() {
                d.label(span, "while running this statement")
            } else {
                d
            }]
        })
    }

    fn create_source(
        &mut self,
        mut def: SourceDef,
        or_replace: bool,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        match self.cluster.partition_count(&def.topic) {
            Some(real) => def.partitions = real,
            None => {
                let config = topic_config(&def);
                self.cluster.create_topic(&def.topic, config).map_err(|e| {
                    let mut d = Diagnostic::new(
                        Code::TopicError,
                        format!("cannot create topic '{}': {e}", def.topic),
                    );
                    if let Some(s) = def.partitions_at {
                        d = d.label(s, "declared here");
                    }
                    d.help(format!(
                        "this cluster has {} broker(s); start kql with --brokers N for more",
                        self.cluster.broker_count()
                    ))
                })?;
            }
        }
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
        let key = encode_key(target.key_format, &cols(ColumnRole::Key)).map(Bytes::from);
        let mut value = Vec::new();
        encode_value(target.value_format, &cols(ColumnRole::Value), &mut value);
        let timestamp_ms = match rowtime.map(|e| eval(e, &[])) {
            Some(Value::Bigint(ms)) => Some(ms),
            Some(Value::Int(ms)) => Some(ms as i64),
            _ => None,
        };
        let record = ProducerRecord {
            key,
            value: Some(Bytes::from(value)),
            timestamp_ms,
            partition: None,
            headers: Vec::new(),
        };
        self.cluster
            .produce(&target.topic, record, Acks::All)
            .map_err(|e| {
                Diagnostic::new(
                    Code::TopicError,
                    format!("cannot write to topic '{}': {e}", target.topic),
                )
            })?;
        Ok(())
    }

    fn run_query(&mut self, plan: &QueryPlan, out: &mut dyn Output) -> Result<(), Diagnostic> {
        let start =
            StartAt::from_property(self.properties.get("auto.offset.reset").map(String::as_str));
        let (tasks, internal_topics) =
            physical::tasks_and_topics(&self.runtime, &self.cluster, plan, start)?;
        let columns: Vec<ResultColumn> = plan
            .columns
            .iter()
            .map(|c| ResultColumn {
                name: c.name.clone(),
                ty: c.ty.clone(),
            })
            .collect();
        out.begin(&columns);
        let limit = plan.limit.unwrap_or(u64::MAX);
        let mut emitted = 0u64;
        // What the query will read, for a progress display.
        let total_records = plan
            .root
            .sources()
            .iter()
            .filter_map(|s| physical::ranges(&self.cluster, &s.topic, start).ok())
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
            out.row(&row.values);
            emitted += 1;
            progress
                .rows
                .store(emitted, std::sync::atomic::Ordering::Relaxed);
            emitted < limit
        })
        .map_err(|e| Diagnostic::new(Code::TopicError, format!("the query failed: {e}")));
        // A transient query's internal topics go with it.
        for t in internal_topics {
            let _ = self.cluster.delete_topic(&t);
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
            let mut msg = format!(
                "skipped {} bad record(s) of {} that could not be read:",
                stats.bad_records,
                names.join(", ")
            );
            for b in &stats.bad_samples {
                msg.push_str(&format!(
                    "\n  topic '{}' partition {} offset {}: {}",
                    b.topic, b.partition, b.offset, b.reason
                ));
            }
            if stats.bad_records > stats.bad_samples.len() as u64 {
                msg.push_str(&format!(
                    "\n  ... and {} more",
                    stats.bad_records - stats.bad_samples.len() as u64
                ));
            }
            out.warning(&msg);
        }
        Ok(())
    }

    fn inspect(&mut self, kind: &StatementKind, out: &mut dyn Output) -> Result<(), Diagnostic> {
        match kind {
            StatementKind::Show(s) => self.show(s.what, out),
            StatementKind::Describe(Describe::Source { name, .. }) => {
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
                            ColumnRole::Key => format!("{} (primary key)", c.ty),
                            ColumnRole::Value => c.ty.to_string(),
                        };
                        vec![Value::string(&c.name), Value::string(&ty)]
                    })
                    .collect();
                out.status(&format!(
                    "Name: {}  Type: {}  Topic: {} ({} partitions)  Key format: {}  Value format: {}",
                    def.name,
                    def.kind.describe().to_uppercase(),
                    def.topic,
                    def.partitions,
                    def.key_format.name(),
                    def.value_format.name()
                ));
                listing(out, &["Field", "Type"], rows);
                Ok(())
            }
            StatementKind::Describe(Describe::Topic { name, .. }) => {
                super::inspect::describe_topic(&self.cluster, name, out)
            }
            StatementKind::Describe(Describe::ConsumerGroup { name, .. }) => {
                super::inspect::describe_group(&self.cluster, name, out)
            }
            StatementKind::Broker(b) => {
                super::inspect::broker_control(&self.cluster, b.broker, b.start, out)
            }
            _ => Err(Diagnostic::new(
                Code::Unsupported,
                "this statement is not supported by this version of kql yet",
            )),
        }
    }

    fn show(&mut self, what: ShowWhat, out: &mut dyn Output) -> Result<(), Diagnostic> {
        match what {
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
            ShowWhat::Brokers => super::inspect::show_brokers(&self.cluster, out),
            ShowWhat::ConsumerGroups => super::inspect::show_groups(&self.cluster, out),
            ShowWhat::Topics => super::inspect::show_topics(&self.cluster, out),
            ShowWhat::Properties => {
                let rows = self
                    .properties
                    .iter()
                    .map(|(k, v)| vec![Value::string(k), Value::string(v)])
                    .collect();
                listing(out, &["Property", "Value"], rows);
            }
            _ => {
                return Err(Diagnostic::new(
                    Code::Unsupported,
                    "this SHOW is not supported by this version of kql yet",
                ))
            }
        }
        Ok(())
    }
}

fn explain(plan: &QueryPlan, out: &mut dyn Output) {
    let mut text = String::from("Logical plan:\n");
    for line in plan.explain_logical().lines() {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str("Physical plan:\n");
    text.push_str(&physical::explain(&plan.root));
    out.text(&text);
}

/// The log's settings for the topic of a declaration.
pub fn topic_config(def: &SourceDef) -> TopicConfig {
    let t = &def.topic_settings;
    TopicConfig {
        partitions: def.partitions,
        replicas: def.replicas,
        retention_ms: t.retention_ms,
        retention_bytes: t.retention_bytes.map(|b| b as u64),
        cleanup_policy: if t.compact {
            kql_runtime::CleanupPolicy::Compact
        } else {
            kql_runtime::CleanupPolicy::Delete
        },
        ..TopicConfig::default()
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
