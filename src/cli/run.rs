//! `kql run FILE`: every statement in order, to the end of the input; with `--follow`,
//! persistent queries and push queries keep running as records arrive, until Ctrl-C.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::exec::log::LogHandle;

use super::print::Printer;
use super::{read_file, Cli, Failure};
use crate::exec::{Output, Session};

pub fn run(
    cli: &Cli,
    file: &Path,
    data_dir: Option<&Path>,
    follow: bool,
    sandbox: bool,
) -> Result<(), Failure> {
    let text = read_file(file)?;
    let opened = super::open_log(cli, data_dir)?;
    let mut session = opened.session();
    // Processes of one application on Kafka share each query's partitions (docs/kafka.md).
    session.share_queries = follow && matches!(opened, super::OpenedLog::Kafka(_));
    if sandbox {
        session.sandbox = Some(super::sandbox_of(file)?);
    }
    if follow {
        session.go_live(stop_on_ctrl_c(session.log())?);
    }
    // Source connectors load while the statements after them run (docs/execution.md).
    session.loads.enabled = true;
    let result = run_statements(cli, session, file, &text, follow);
    opened.close();
    result
}

/// Runs the file's statements in `session`, then finishes (or, with `follow`, follows).
fn run_statements(
    cli: &Cli,
    mut session: Session,
    file: &Path,
    text: &str,
    follow: bool,
) -> Result<(), Failure> {
    let stdout = std::io::stdout().lock();
    let printer = Printer::new(cli.format, std::io::BufWriter::new(stdout));
    // A progress bar on stderr while a long input is read, when stderr is a terminal.
    let mut printer = super::progress::WithProgress::new(printer);
    session.restore(&mut printer).map_err(|d| Failure {
        diagnostics: vec![d],
        sources: session.sources.clone(),
    })?;
    let result = session
        .run_text(&file.display().to_string(), text, &mut printer)
        .and_then(|()| {
            if follow {
                follow_until_stopped(&mut session, &mut printer)
            } else {
                session.finish(&mut printer)
            }
            .map_err(|d| vec![d])
        })
        .map_err(|diagnostics| Failure {
            diagnostics,
            sources: session.sources.clone(),
        });
    session.registry.leak_state_at_exit();
    // A log that nothing outlives (in memory, spilling to files unlinked when made) is left
    // to the process's exit: dropping it freed its batches and the queries' state on one
    // thread at the end of the run, for memory and files the exit frees anyway (3% of
    // W2's wall time).
    if session.log().embedded().is_some() && !session.log().is_durable() {
        std::mem::forget(session);
    }
    result
}

/// The stop request of a live run: the first Ctrl-C stops it cleanly (queries commit
/// their state and offsets); a second one exits at once (nothing acknowledged is lost:
/// the queries go on from their last commit next time).
pub(super) fn stop_on_ctrl_c(log: &LogHandle) -> Result<Arc<AtomicBool>, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, log) = (stop.clone(), log.clone());
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        log.wake_waiters();
    })
    .map_err(|e| {
        Failure::plain(crate::diagnostic::Diagnostic::new(
            crate::diagnostic::Code::Internal,
            format!("cannot catch Ctrl-C: {e}"),
        ))
    })?;
    Ok(stop)
}

/// After the file: persistent queries keep running until Ctrl-C, then commit. A file
/// without persistent queries has nothing left to follow once its statements are done.
fn follow_until_stopped(
    session: &mut Session,
    out: &mut dyn Output,
) -> Result<(), crate::diagnostic::Diagnostic> {
    session.settle_loads(out)?;
    if session.registry.queries.is_empty() {
        return Ok(());
    }
    if !session.stop_requested() {
        out.status(&format!(
            "Following {} persistent quer{} (Ctrl-C stops)",
            session.registry.queries.len(),
            if session.registry.queries.len() == 1 {
                "y"
            } else {
                "ies"
            }
        ));
    }
    session.follow()?;
    session.report_skipped(out);
    out.status("Stopped: state and offsets committed");
    Ok(())
}
