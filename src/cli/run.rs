//! `kql run FILE`: every statement in order, to the end of the input.

use std::path::Path;

use super::print::Printer;
use super::{read_file, Cli, Failure};
use crate::diagnostic::{Code, Diagnostic};
use crate::exec::Session;

pub fn run(cli: &Cli, file: &Path, data_dir: Option<&Path>, follow: bool) -> Result<(), Failure> {
    let text = read_file(file)?;
    if follow {
        return Err(Failure::plain(Diagnostic::new(
            Code::Unsupported,
            "--follow is not supported by this version of kql yet",
        )));
    }
    let mut session = Session::new(super::open_cluster(cli, data_dir)?);
    let stdout = std::io::stdout().lock();
    let printer = Printer::new(cli.format, std::io::BufWriter::new(stdout));
    // A progress bar on stderr while a long input is read, when stderr is a terminal.
    let mut printer = super::progress::WithProgress::new(printer);
    session.restore(&mut printer).map_err(|d| Failure {
        diagnostics: vec![d],
        sources: session.sources.clone(),
    })?;
    let result = session
        .run_text(&file.display().to_string(), &text, &mut printer)
        .and_then(|()| session.finish(&mut printer).map_err(|d| vec![d]))
        .map_err(|diagnostics| Failure {
            diagnostics,
            sources: session.sources.clone(),
        });
    session.registry.leak_state_at_exit();
    result
}
