//! `kql check FILE...`: compile only; every diagnostic of every file.

use std::path::PathBuf;

use crate::exec::log::in_memory;

use super::{read_file, Failure};
use crate::exec::Session;

pub fn run(files: &[PathBuf], sandbox: bool) -> Result<(), Failure> {
    let mut all = Vec::new();
    let mut sources = crate::sources::Sources::default();
    for file in files {
        let text = read_file(file)?;
        // Each file is checked on its own, as `kql run` would run it.
        let mut session = Session::new(in_memory(3));
        if sandbox {
            session.sandbox = Some(super::sandbox_of(file)?);
        }
        session.sources = std::mem::take(&mut sources);
        let (_, statements, errors) = session.check(&file.display().to_string(), &text);
        if errors.is_empty() {
            eprintln!(
                "{}: ok ({} statement{})",
                file.display(),
                statements.len(),
                if statements.len() == 1 { "" } else { "s" }
            );
        }
        all.extend(errors);
        sources = session.sources;
    }
    if all.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            diagnostics: all,
            sources,
        })
    }
}
