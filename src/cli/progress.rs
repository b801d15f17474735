//! `kql run` on a terminal: a progress bar on stderr while a query reads a long input
//! (records read of the total, records/s, rows, late and bad records). It appears only when
//! a query has run for a moment, and never when stderr is not a terminal, so piped output
//! and logs carry nothing extra.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::data::Value;
use crate::exec::{Output, Progress, ResultColumn};

/// A query shows a bar once it has run this long (`KQL_PROGRESS_AFTER_MS` changes it, for
/// tests).
const SHOW_AFTER: Duration = Duration::from_millis(500);

fn show_after() -> Duration {
    std::env::var("KQL_PROGRESS_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(SHOW_AFTER, Duration::from_millis)
}
const TICK: Duration = Duration::from_millis(100);

pub struct WithProgress<O: Output> {
    inner: O,
    enabled: bool,
    stdout_is_terminal: bool,
    /// Take the bar away for good once rows come (the shell: rows show the progress).
    until_first_row: bool,
    ticker: Option<Ticker>,
}

struct Ticker {
    bar: ProgressBar,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<O: Output> WithProgress<O> {
    /// Shows progress only when stderr is a terminal (and NO_PROGRESS is not set).
    pub fn new(inner: O) -> WithProgress<O> {
        WithProgress {
            inner,
            enabled: std::io::stderr().is_terminal() && std::env::var_os("NO_PROGRESS").is_none(),
            stdout_is_terminal: std::io::stdout().is_terminal(),
            until_first_row: false,
            ticker: None,
        }
    }

    /// Shows the bar only while a query has printed no row.
    pub fn until_first_row(mut self) -> WithProgress<O> {
        self.until_first_row = true;
        self
    }

    pub fn inner(&self) -> &O {
        &self.inner
    }

    fn stop(&mut self) {
        if let Some(mut t) = self.ticker.take() {
            t.stop.store(true, Ordering::SeqCst);
            if let Some(h) = t.thread.take() {
                let _ = h.join();
            }
            t.bar.finish_and_clear();
        }
    }

    /// Runs `f` with the bar hidden, when it could mix with what `f` prints.
    fn quiet<R>(&mut self, to_terminal: bool, f: impl FnOnce(&mut O) -> R) -> R {
        match &self.ticker {
            Some(t) if to_terminal && !t.bar.is_hidden() => {
                let bar = t.bar.clone();
                let inner = &mut self.inner;
                bar.suspend(|| f(inner))
            }
            _ => f(&mut self.inner),
        }
    }
}

fn describe(p: &Progress, elapsed: Duration) -> String {
    let read = p.records_read.load(Ordering::Relaxed);
    let rate = (read as f64 / elapsed.as_secs_f64().max(0.001)) as u64;
    let rows = p.rows.load(Ordering::Relaxed);
    let late = p.late_records.load(Ordering::Relaxed);
    let bad = p.bad_records.load(Ordering::Relaxed);
    format!("{rate} records/s, {rows} rows, {late} late, {bad} bad")
}

impl<O: Output> Output for WithProgress<O> {
    fn begin(&mut self, columns: &[ResultColumn]) {
        self.inner.begin(columns)
    }

    fn row(&mut self, values: &[Value]) {
        if self.until_first_row && self.ticker.is_some() {
            self.stop();
        }
        let tty = self.stdout_is_terminal;
        self.quiet(tty, |o| o.row(values))
    }

    fn end(&mut self) {
        self.stop();
        self.inner.end()
    }

    fn flush_rows(&mut self) {
        let tty = self.stdout_is_terminal;
        self.quiet(tty, |o| o.flush_rows())
    }

    fn text(&mut self, text: &str) {
        let tty = self.stdout_is_terminal;
        self.quiet(tty, |o| o.text(text))
    }

    fn record(&mut self, json: &str, text: &str) {
        let tty = self.stdout_is_terminal;
        self.quiet(tty, |o| o.record(json, text))
    }

    fn status(&mut self, message: &str) {
        self.quiet(true, |o| o.status(message))
    }

    fn warning(&mut self, message: &str) {
        self.quiet(true, |o| o.warning(message))
    }

    fn cancelled(&self) -> bool {
        self.inner.cancelled()
    }

    fn progress(&mut self, progress: &Arc<Progress>) {
        self.inner.progress(progress);
        self.stop();
        if !self.enabled {
            return;
        }
        let total = progress.total_records;
        let bar = ProgressBar::with_draw_target(
            (total > 0).then_some(total),
            ProgressDrawTarget::hidden(),
        );
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:24} {human_pos}/{human_len} records read, {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (bar, stop, progress) = (bar.clone(), stop.clone(), progress.clone());
            std::thread::Builder::new()
                .name("kql-progress".into())
                .spawn(move || {
                    let started = Instant::now();
                    let show_after = show_after();
                    let mut shown = false;
                    while !stop.load(Ordering::SeqCst) {
                        std::thread::sleep(TICK);
                        bar.set_position(progress.records_read.load(Ordering::Relaxed));
                        bar.set_message(describe(&progress, started.elapsed()));
                        if !shown && started.elapsed() >= show_after {
                            bar.set_draw_target(ProgressDrawTarget::stderr());
                            shown = true;
                        }
                        bar.tick();
                    }
                })
                .ok()
        };
        self.ticker = Some(Ticker { bar, stop, thread });
    }
}

impl<O: Output> Drop for WithProgress<O> {
    fn drop(&mut self) {
        self.stop();
    }
}
