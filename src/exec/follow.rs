//! Live runs (`kql run --follow`, the shell): persistent queries keep consuming as records
//! arrive and transient push queries keep printing, until a stop request (Ctrl-C) or LIMIT.
//!
//! A live loop sleeps on the log's append signal (raised once per append batch, never per
//! record) and, when woken, runs every query over what arrived: the same catch-up a
//! bounded run does, from where the last one stopped, so state and positions carry on.
//! The wait is bounded (`WAKE_FALLBACK`), so a stop request or a missed signal costs at
//! most that long. Commits (state, then offsets) happen every `COMMIT_INTERVAL` while
//! records flow, and once more when the loop stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::exec::log::LogHandle;

use super::error::ExecError;
use super::output::{Output, Progress};
use super::persistent::{collectable, remove_internal_topics, run_collect, transient_stages};
use super::session::Session;
use crate::diagnostic::Diagnostic;
use crate::plan::QueryPlan;

/// The longest a live loop sleeps without a signal before looking again.
pub const WAKE_FALLBACK: Duration = Duration::from_millis(100);
/// How often a live run commits while records flow (ksqlDB's `commit.interval.ms`
/// default is 2 s; a shorter interval replays less after a crash).
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// A live loop's pace: the append count it has seen, and what it has read since its
/// last commit.
#[derive(Debug)]
pub struct Pulse {
    seen: u64,
    last_commit: Instant,
    uncommitted: u64,
}

impl Pulse {
    pub fn new(log: &LogHandle) -> Pulse {
        Pulse {
            seen: log.append_count(),
            last_commit: Instant::now(),
            uncommitted: 0,
        }
    }

    /// Sleeps until the next append batch (or `WAKE_FALLBACK`).
    pub fn wait(&mut self, log: &LogHandle) {
        self.seen = log.wait_for_appends(self.seen, WAKE_FALLBACK);
    }

    fn commit_due(&self) -> bool {
        self.uncommitted > 0 && self.last_commit.elapsed() >= COMMIT_INTERVAL
    }

    fn committed(&mut self) {
        self.uncommitted = 0;
        self.last_commit = Instant::now();
    }
}

/// A failure of the executor, as the user reads it (its code says whose fault it is).
fn failed(e: impl Into<ExecError>) -> Diagnostic {
    Diagnostic::from(e.into())
}

impl Session {
    /// Makes this session live: push queries wait for new rows instead of ending with
    /// their input, until `stop` is set (or their own Ctrl-C, or LIMIT).
    pub fn go_live(&mut self, stop: Arc<AtomicBool>) {
        self.pulse = Some(Pulse::new(&self.log));
        self.live_stop = Some(stop);
    }

    pub fn is_live(&self) -> bool {
        self.live_stop.is_some()
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.live_stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Persistent queries read what has arrived; they commit if the interval has passed.
    /// Returns the records read.
    pub fn advance(&mut self) -> Result<u64, Diagnostic> {
        let read = self
            .registry
            .advance(&self.runtime, &self.log, false)
            .map_err(failed)?;
        let due = match &mut self.pulse {
            Some(p) => {
                p.uncommitted += read;
                p.commit_due()
            }
            None => read > 0,
        };
        if due {
            self.commit()?;
        }
        Ok(read)
    }

    /// Every persistent query saves its state and offsets now.
    pub fn commit(&mut self) -> Result<(), Diagnostic> {
        self.registry
            .commit(&self.runtime, &self.log, false)
            .map_err(failed)?;
        if let Some(p) = &mut self.pulse {
            p.committed();
        }
        Ok(())
    }

    /// Sleeps until records are appended (or `WAKE_FALLBACK`).
    pub fn wait_for_records(&mut self) {
        let log = self.log.clone();
        if let Some(p) = &mut self.pulse {
            p.wait(&log);
        } else {
            std::thread::sleep(WAKE_FALLBACK);
        }
    }

    /// `kql run --follow` once the file has run: persistent queries keep running until
    /// the stop request; then they catch up and commit (windows stay open: the input is
    /// not over).
    pub fn follow(&mut self) -> Result<(), Diagnostic> {
        while !self.stop_requested() {
            // A round that read records may have stopped short of the end (a shared
            // query's rounds are bounded): look again at once.
            if self.advance()? == 0 {
                self.wait_for_records();
            }
        }
        self.registry
            .catch_up(&self.runtime, &self.log, false)
            .map_err(failed)
    }

    /// A push query of a live session: prints what its input holds, then waits for new
    /// records and prints their rows as they come, until LIMIT, Ctrl-C (`out.cancelled`)
    /// or the session's stop request. Persistent queries run between its rounds, so a
    /// push query over their output sees it grow. Returns false when the query cannot
    /// run live (a join: it runs to the end of its input instead).
    pub(crate) fn run_live_query(
        &mut self,
        plan: &QueryPlan,
        prefix: &str,
        start_at_end: bool,
        out: &mut dyn Output,
    ) -> Result<bool, Diagnostic> {
        let progress = Arc::new(Progress::default());
        let mut stages = transient_stages(
            &self.log,
            plan,
            prefix,
            start_at_end,
            Some(progress.clone()),
        )
        .map_err(failed)?;
        if !collectable(&stages) {
            return Ok(false);
        }
        out.progress(&progress);
        out.begin(&super::output::result_columns(plan));
        let limit = plan.limit.unwrap_or(u64::MAX);
        let mut emitted = 0u64;
        let mut stats = crate::exec::task::TaskStats::default();
        let result = loop {
            let rows = match run_collect(&self.runtime, &self.log, &mut stages, false, &mut stats) {
                Ok(rows) => rows,
                Err(e) => break Err(failed(e.context("the query failed"))),
            };
            for r in rows.iter().filter(|r| !r.tombstone) {
                // Ctrl-C stops the printing too: a round over a long input holds many rows.
                if emitted >= limit || out.cancelled() {
                    break;
                }
                out.row(&r.values);
                emitted += 1;
            }
            progress.rows.store(emitted, Ordering::Relaxed);
            out.flush_rows();
            if emitted >= limit || out.cancelled() || self.stop_requested() {
                break Ok(());
            }
            self.wait_for_records();
            if let Err(d) = self.advance() {
                break Err(d);
            }
            if out.cancelled() || self.stop_requested() {
                break Ok(());
            }
        };
        remove_internal_topics(&self.log, &stages);
        result?;
        out.end();
        if plan.limit.is_some_and(|l| emitted >= l) {
            out.status(&format!("Limit Reached ({emitted} rows)"));
        }
        if stats.late_records > 0 {
            out.warning(&format!(
                "dropped {} late record(s): they arrived after their window closed",
                stats.late_records
            ));
        }
        if let Some(msg) = stats.bad_report("the query") {
            out.warning(&msg);
        }
        Ok(true)
    }
}
