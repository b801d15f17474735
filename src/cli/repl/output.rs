//! Where the shell's results go. Tables are streamed: the header and the first rows are
//! printed once a few rows have come (or a moment has passed), with column widths taken
//! from them, and every later row is printed as it arrives, so a long push query shows
//! its rows while it runs and Ctrl-C can stop it. JSON lines go through the CLI printer.

use std::cell::Cell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli::print::Printer;
use crate::cli::OutputFormat;
use crate::data::{SqlType, Value};
use crate::exec::{Output, Progress, ResultColumn};

/// The running query's counters, where the Ctrl-C handler can reach them.
pub type Running = Arc<Mutex<Option<Arc<Progress>>>>;

/// Rows gathered before a table is drawn, and how long the first rows may wait.
const FIRST_ROWS: usize = 50;
const FIRST_ROWS_WAIT: Duration = Duration::from_millis(200);

pub struct ReplOutput {
    format: OutputFormat,
    cancel: Arc<AtomicBool>,
    /// Set when `cancelled` said yes: the query stopped because of Ctrl-C.
    stopped: Cell<bool>,
    running: Running,
    json: Printer<std::io::Stdout>,
    table: Option<StreamTable>,
    /// Rows of the current result.
    pub rows: u64,
}

struct StreamTable {
    columns: Vec<ResultColumn>,
    widths: Option<Vec<usize>>,
    pending: Vec<Vec<String>>,
    started: Instant,
}

impl ReplOutput {
    pub fn new(format: OutputFormat, cancel: Arc<AtomicBool>, running: Running) -> ReplOutput {
        ReplOutput {
            format,
            cancel,
            running,
            stopped: Cell::new(false),
            json: Printer::new(OutputFormat::Json, std::io::stdout()),
            table: None,
            rows: 0,
        }
    }

    /// Whether a query was stopped by Ctrl-C since the last call.
    pub fn take_stopped(&self) -> bool {
        self.stopped.replace(false)
    }
}

impl Output for ReplOutput {
    fn begin(&mut self, columns: &[ResultColumn]) {
        self.rows = 0;
        match self.format {
            OutputFormat::Json => self.json.begin(columns),
            OutputFormat::Table => {
                self.table = Some(StreamTable {
                    columns: columns.to_vec(),
                    widths: None,
                    pending: Vec::new(),
                    started: Instant::now(),
                })
            }
        }
    }

    fn row(&mut self, values: &[Value]) {
        self.rows += 1;
        match self.format {
            OutputFormat::Json => self.json.row(values),
            OutputFormat::Table => {
                let Some(t) = &mut self.table else { return };
                let cells: Vec<String> = values.iter().map(cell_text).collect();
                let mut out = std::io::stdout().lock();
                match t.widths.take() {
                    Some(mut widths) => {
                        // A wider value than the first rows had widens its column from here on.
                        for (w, c) in widths.iter_mut().zip(&cells) {
                            *w = (*w).max(width(c));
                        }
                        let _ = out.write_all(t.line(&widths, &cells).as_bytes());
                        t.widths = Some(widths);
                    }
                    None => {
                        t.pending.push(cells);
                        if t.pending.len() >= FIRST_ROWS || t.started.elapsed() >= FIRST_ROWS_WAIT {
                            let _ = out.write_all(t.head(true).as_bytes());
                        }
                    }
                }
                let _ = out.flush();
            }
        }
    }

    fn end(&mut self) {
        match self.format {
            OutputFormat::Json => self.json.end(),
            OutputFormat::Table => {
                let Some(mut t) = self.table.take() else {
                    return;
                };
                let mut text = String::new();
                if t.widths.is_none() {
                    if t.pending.is_empty() {
                        text.push_str("(no rows)\n");
                    } else {
                        text.push_str(&t.head(false));
                    }
                }
                if let Some(w) = &t.widths {
                    text.push_str(&rule(w, '-'));
                }
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
        }
    }

    fn flush_rows(&mut self) {
        match self.format {
            OutputFormat::Json => self.json.flush_rows(),
            OutputFormat::Table => {
                let Some(t) = &mut self.table else { return };
                if t.widths.is_none() && !t.pending.is_empty() {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(t.head(true).as_bytes());
                    let _ = out.flush();
                }
            }
        }
    }

    fn record(&mut self, json: &str, text: &str) {
        match self.format {
            OutputFormat::Json => self.json.record(json, text),
            OutputFormat::Table => self.text(text),
        }
    }

    fn text(&mut self, text: &str) {
        match self.format {
            OutputFormat::Json => self.json.text(text),
            OutputFormat::Table => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                if !text.ends_with('\n') {
                    let _ = out.write_all(b"\n");
                }
                let _ = out.flush();
            }
        }
    }

    fn status(&mut self, message: &str) {
        let _ = std::io::stdout().flush();
        eprintln!("{message}");
    }

    fn warning(&mut self, message: &str) {
        let _ = std::io::stdout().flush();
        eprintln!("warning: {message}");
    }

    fn progress(&mut self, progress: &Arc<Progress>) {
        if let Ok(mut slot) = self.running.lock() {
            *slot = Some(progress.clone());
        }
    }

    fn cancelled(&self) -> bool {
        let yes = self.cancel.load(Ordering::Relaxed);
        if yes {
            self.stopped.set(true);
        }
        yes
    }
}

fn cell_text(v: &Value) -> String {
    v.to_string().replace(['\n', '\r'], " ")
}

/// How wide values of a type usually print.
fn typical_width(ty: &SqlType) -> usize {
    match ty {
        SqlType::Boolean => 5,
        SqlType::Int => 11,
        SqlType::Bigint => 13,
        SqlType::Double => 10,
        SqlType::Decimal { precision, .. } => *precision as usize + 2,
        SqlType::Timestamp => 23,
        SqlType::Date => 10,
        SqlType::Time => 8,
        _ => 0,
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn rule(widths: &[usize], c: char) -> String {
    let mut s = String::from("+");
    for w in widths {
        s.push_str(&c.to_string().repeat(w + 2));
        s.push('+');
    }
    s.push('\n');
    s
}

impl StreamTable {
    /// Fixes the widths from the header and the rows so far, and draws them. While rows are
    /// still to come (`streaming`), each column is at least as wide as its type usually
    /// needs, so later rows stay aligned.
    fn head(&mut self, streaming: bool) -> String {
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|c| {
                let typical = if streaming { typical_width(&c.ty) } else { 0 };
                width(&c.name).max(typical)
            })
            .collect();
        for r in &self.pending {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(width(c));
            }
        }
        let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        let mut s = rule(&widths, '-');
        s.push_str(&self.cells(&widths, &names, false));
        s.push_str(&rule(&widths, '='));
        for r in std::mem::take(&mut self.pending) {
            s.push_str(&self.line(&widths, &r));
        }
        self.widths = Some(widths);
        s
    }

    fn line(&self, widths: &[usize], cells: &[String]) -> String {
        self.cells(widths, cells, true)
    }

    fn cells(&self, widths: &[usize], cells: &[String], align_numbers: bool) -> String {
        let mut s = String::from("|");
        for ((w, c), col) in widths.iter().zip(cells).zip(&self.columns) {
            let pad = w.saturating_sub(width(c));
            s.push(' ');
            if align_numbers && col.ty.is_numeric() {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            }
            s.push_str(" |");
        }
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> StreamTable {
        StreamTable {
            columns: vec![
                ResultColumn {
                    name: "ID".into(),
                    ty: SqlType::Int,
                },
                ResultColumn {
                    name: "NAME".into(),
                    ty: SqlType::String,
                },
            ],
            widths: None,
            pending: vec![vec!["7".into(), "a".into()]],
            started: Instant::now(),
        }
    }

    #[test]
    fn a_finished_result_fits_its_rows() {
        let mut t = table();
        assert_eq!(
            t.head(false),
            "+----+------+\n| ID | NAME |\n+====+======+\n|  7 | a    |\n"
        );
    }

    #[test]
    fn a_streamed_result_leaves_room_for_its_types() {
        let mut t = table();
        let head = t.head(true);
        assert!(
            head.starts_with("+-------------+------+\n| ID          | NAME |\n"),
            "{head}"
        );
        assert_eq!(t.widths, Some(vec![11, 4]));
        assert_eq!(
            t.line(&[11, 4], &["12345".into(), "bob".into()]),
            "|       12345 | bob  |\n"
        );
    }
}
