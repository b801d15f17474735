//! Where a session's results go. The CLI prints them (as tables or JSON lines); tests and
//! the REPL capture them. Results (rows, listings) and status lines are kept apart so that
//! `--format json` can put only results on stdout.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use crate::data::{SqlType, Value};

/// A column of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: SqlType,
}

pub trait Output {
    /// A query's result begins; rows follow.
    fn begin(&mut self, columns: &[ResultColumn]);
    fn row(&mut self, values: &[Value]);
    /// The result is complete.
    fn end(&mut self);
    /// A live query has shown every row there is for now and waits for more: rows held
    /// back (to align a table) are shown now.
    fn flush_rows(&mut self) {}
    /// A block of preformatted text that is a result (EXPLAIN).
    fn text(&mut self, text: &str);
    /// A status line ("Stream created").
    fn status(&mut self, message: &str);
    /// Something the user should notice (skipped records, a fallback).
    fn warning(&mut self, message: &str);
    /// A record PRINT shows: as a JSON object (`--format json`) or as a line of text.
    fn record(&mut self, json: &str, text: &str) {
        let _ = json;
        self.text(&format!("{text}\n"));
    }
    /// Polled while a query runs: true stops it (Ctrl-C in the REPL).
    fn cancelled(&self) -> bool {
        false
    }
    /// A query starts: its counters, which its tasks update as they go (a terminal shows
    /// them as a progress bar).
    fn progress(&mut self, _progress: &Arc<Progress>) {}
}

/// How far a running query has got. Its tasks add to the counters after every batch.
#[derive(Debug, Default)]
pub struct Progress {
    /// Records the query reads in all: from its start offsets to the end offsets fixed
    /// when it started (0 when unbounded).
    pub total_records: u64,
    pub records_read: AtomicU64,
    /// Rows the query has emitted.
    pub rows: AtomicU64,
    /// Records skipped because they could not be read.
    pub bad_records: AtomicU64,
    /// Records dropped because their window had closed.
    pub late_records: AtomicU64,
    /// Set by the caller (Ctrl-C) to stop the query's tasks at their next batch, even when
    /// no rows come for `Output::cancelled` to be asked.
    pub cancel: AtomicBool,
}

/// Collects everything, for tests.
#[derive(Debug, Default)]
pub struct Captured {
    pub results: Vec<(Vec<ResultColumn>, Vec<Vec<Value>>)>,
    pub texts: Vec<String>,
    pub statuses: Vec<String>,
    pub warnings: Vec<String>,
}

impl Output for Captured {
    fn begin(&mut self, columns: &[ResultColumn]) {
        self.results.push((columns.to_vec(), Vec::new()));
    }
    fn row(&mut self, values: &[Value]) {
        if let Some((_, rows)) = self.results.last_mut() {
            rows.push(values.to_vec());
        }
    }
    fn end(&mut self) {}
    fn text(&mut self, text: &str) {
        self.texts.push(text.to_string());
    }
    fn status(&mut self, message: &str) {
        self.statuses.push(message.to_string());
    }
    fn warning(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }
}

/// The columns of a query's result.
pub fn result_columns(plan: &crate::plan::QueryPlan) -> Vec<ResultColumn> {
    plan.columns
        .iter()
        .map(|c| ResultColumn {
            name: c.name.clone(),
            ty: c.ty.clone(),
        })
        .collect()
}

/// Throws everything away (replays, plans of declarations).
pub struct Discard;

impl Output for Discard {
    fn begin(&mut self, _: &[ResultColumn]) {}
    fn row(&mut self, _: &[Value]) {}
    fn end(&mut self) {}
    fn text(&mut self, _: &str) {}
    fn status(&mut self, _: &str) {}
    fn warning(&mut self, _: &str) {}
}

/// A result made of text cells (SHOW, DESCRIBE), sent through the same channel as rows.
pub fn listing(out: &mut dyn Output, headers: &[&str], rows: Vec<Vec<Value>>) {
    let columns: Vec<ResultColumn> = headers
        .iter()
        .zip(
            rows.first()
                .map(|r| r.iter().map(type_of).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .chain(std::iter::repeat(SqlType::String)),
        )
        .map(|(h, ty)| ResultColumn {
            name: h.to_string(),
            ty,
        })
        .collect();
    out.begin(&columns);
    for r in rows {
        out.row(&r);
    }
    out.end();
}

fn type_of(v: &Value) -> SqlType {
    match v {
        Value::Int(_) => SqlType::Int,
        Value::Bigint(_) => SqlType::Bigint,
        Value::Double(_) => SqlType::Double,
        Value::Boolean(_) => SqlType::Boolean,
        _ => SqlType::String,
    }
}
