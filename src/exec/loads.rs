//! Source connectors that load while the statements after them run (`kql run FILE`).
//!
//! In a bounded run, a `FileStreamSource` connector reads its file on a thread of its
//! own, and the statements that follow it go on: declarations, other connectors, and
//! persistent queries start at once. Every other statement (a SELECT, PRINT, INSERT
//! VALUES, SHOW ...) and the end of the run first *settle* the loads: the persistent
//! queries run while the loads go on, reading through a `LoadingLog`, then the session
//! waits for the loads and reports them in the order the connectors were created. So
//! loading and querying keep both cores busy instead of running one after the other.
//!
//! Results are the same as if each load had ended before the next statement: a task
//! that reaches the end of a loading topic waits for more records, or for the end of
//! the load, and stops only at the final end; the merges of partitions and of a join's
//! sides wait for a side that is behind, as they wait for a slower task.
//!
//! Two things are loaded whole before they are used, as they would be without the
//! thread: a global table's topic, before a query that looks rows up in it starts (the
//! table is read when the query starts), and a topic a connector loads into, before the
//! next connector into it starts (one topic's records keep the order of its connectors).
//! A query that starts at the end of its input (`auto.offset.reset` latest) starts once
//! every load has ended. Loads that stamp records with the time they are loaded at, into
//! topics read by that stamp, run one after the other (`Session::stamps_matter`).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use super::connector::{self, LineFields, Loaded, SourceError};
use super::log::{LoadProgress, LoadingLog, LogHandle};
use super::output::Output;
use super::session::Session;
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::logical::LogicalPlan;
use crate::plan::persistent::ConnectorPlan;
use crate::syntax::span::Span;

/// A connector's load under way on its own thread.
struct Load {
    name: String,
    topic: String,
    file: PathBuf,
    file_span: Span,
    timestamp_field: Option<String>,
    /// Whether its records' times are the time they are loaded at and some stream or table
    /// reads its records by them (`stamps_matter`).
    stamps: bool,
    /// How far the load and its readers are; ended once its last record is appended, or
    /// it failed.
    progress: Arc<LoadProgress>,
    thread: std::thread::JoinHandle<Result<Loaded, SourceError>>,
}

/// The loads of a session, oldest first.
#[derive(Default)]
pub struct Loads {
    /// Whether source connectors load on their own threads (`kql run`); otherwise a
    /// connector's statement ends when its file is loaded.
    pub enabled: bool,
    pending: VecDeque<Load>,
}

impl Loads {
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Is a connector loading into `topic`?
    pub fn loading(&self, topic: &str) -> bool {
        self.pending.iter().any(|l| l.topic == topic)
    }
}

/// Marks a load ended however its thread ends (a reader waiting for it looks again within
/// a millisecond: `task::LOAD_POLL`).
struct EndOfLoad {
    progress: Arc<LoadProgress>,
}

impl Drop for EndOfLoad {
    fn drop(&mut self) {
        self.progress.finish();
    }
}

/// The topics of the global tables a persistent query of `plan` looks rows up in: read
/// whole when it starts, so loaded whole before.
pub fn global_lookups(plan: &LogicalPlan) -> Vec<String> {
    match plan {
        LogicalPlan::GlobalTableJoin(j) => {
            let mut topics = global_lookups(&j.left);
            topics.extend(j.right.sources().iter().map(|s| s.topic.clone()));
            topics
        }
        other => other
            .inputs()
            .into_iter()
            .flat_map(global_lookups)
            .collect(),
    }
}

impl Session {
    /// Starts the load of a source connector on its own thread, when this session loads
    /// alongside its statements; Ok(false): the caller loads it now.
    pub(crate) fn start_load(
        &mut self,
        c: &ConnectorPlan,
        out: &mut dyn Output,
    ) -> Result<bool, Diagnostic> {
        let looked_up = self
            .registry
            .queries
            .iter()
            .any(|q| global_lookups(&q.plan.root).contains(&c.topic));
        if !self.loads.enabled
            || self.log.embedded().is_none()
            || self.guest
            || self.share_queries
            || self.restoring
            || looked_up
        {
            return Ok(false);
        }
        // What can be known before loading is reported by the statement itself. (The
        // file is not opened here: opening a named pipe waits for its writer.)
        std::fs::metadata(&c.file)
            .map_err(|e| SourceError::file(format!("cannot read {}: {e}", c.file.display())))?;
        connector::ensure_topic(&self.log, &c.topic)?;
        // Loads stamped with the time they are loaded at stamp later than the loads
        // before them, as one after the other would.
        let stamps = self.stamps_matter(c);
        if stamps {
            self.end_loads(|l| l.stamps, out)?;
        }
        let progress = LoadProgress::new();
        let end = EndOfLoad {
            progress: progress.clone(),
        };
        let (log, plan) = (self.log.clone(), c.clone());
        let thread = std::thread::Builder::new()
            .name("kql-connector".into())
            .spawn(move || {
                let fields = LineFields::of(&plan);
                connector::load_file_paced(&log, &plan.file, &plan.topic, &fields, &end.progress)
            })
            .map_err(|e| {
                Diagnostic::new(Code::Internal, format!("cannot start the connector: {e}"))
            })?;
        self.loads.pending.push_back(Load {
            name: c.name.clone(),
            topic: c.topic.clone(),
            file: c.file.clone(),
            file_span: c.file_span,
            timestamp_field: c.timestamp_field.clone(),
            stamps,
            progress,
            thread,
        });
        Ok(true)
    }

    /// Whether the connector stamps its records with the time it loads them at (no
    /// `'timestamp.field'`) and a stream or table over its topic takes their time from
    /// that stamp (no `timestamp` column), or none is declared yet. Two such loads at
    /// once would interleave their stamps: a table's rows could come after the stream
    /// records loaded after them, and a join miss them.
    fn stamps_matter(&self, c: &ConnectorPlan) -> bool {
        if c.timestamp_field.is_some() {
            return false;
        }
        let mut declared = self
            .catalog
            .sources()
            .filter(|d| d.topic == c.topic)
            .peekable();
        declared.peek().is_none() || declared.any(|d| d.timestamp_column.is_none())
    }

    /// The persistent queries run while every load goes on, to the end of the loads;
    /// then the loads are reported.
    pub fn settle_loads(&mut self, out: &mut dyn Output) -> Result<(), Diagnostic> {
        if self.loads.is_empty() {
            return Ok(());
        }
        let loads = self
            .loads
            .pending
            .iter()
            .map(|l| (l.topic.clone(), l.progress.clone()))
            .collect::<HashMap<_, _>>();
        let loading: LogHandle = Arc::new(LoadingLog::new(self.log.clone(), loads));
        self.registry
            .advance(&self.runtime, &loading, false)
            .map_err(Diagnostic::from)?;
        self.end_loads(|_| true, out)
    }

    /// Waits for the loads into any of `topics` (no query runs meanwhile).
    pub(crate) fn settle_loads_into(
        &mut self,
        topics: &[String],
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        self.end_loads(|l| topics.contains(&l.topic), out)
    }

    /// Waits for the loads `which` picks, oldest first, and reports them.
    fn end_loads(
        &mut self,
        which: impl Fn(&Load) -> bool,
        out: &mut dyn Output,
    ) -> Result<(), Diagnostic> {
        while let Some(at) = self.loads.pending.iter().position(&which) {
            let load = self
                .loads
                .pending
                .remove(at)
                .expect("a load at its position");
            let loaded = load.thread.join().unwrap_or_else(|_| {
                Err(SourceError {
                    message: "its thread stopped".to_string(),
                    help: "this is a bug of kql: please report it",
                })
            });
            match loaded {
                Ok(loaded) => report_loaded(
                    &load.name,
                    loaded,
                    &load.file,
                    &load.topic,
                    load.timestamp_field.as_deref(),
                    out,
                ),
                Err(e) => {
                    return Err(Diagnostic::new(
                        Code::FileError,
                        format!("connector {}: {}", load.name, e.message),
                    )
                    .label(load.file_span, "while loading this file")
                    .help(e.help))
                }
            }
        }
        Ok(())
    }
}

/// What a source connector's statement says once its file is loaded.
pub(crate) fn report_loaded(
    name: &str,
    loaded: Loaded,
    file: &std::path::Path,
    topic: &str,
    timestamp_field: Option<&str>,
    out: &mut dyn Output,
) {
    out.status(&format!(
        "Created connector {name} ({} records from {} into '{topic}')",
        loaded.records,
        file.display(),
    ));
    if loaded.untimed > 0 {
        out.warning(&format!(
            "connector {name}: {} record(s) had no time in their '{}' field (epoch milliseconds or ISO-8601 text) and were stamped with the current time",
            loaded.untimed,
            timestamp_field.unwrap_or_default()
        ));
    }
}
