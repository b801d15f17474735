//! The interactive shell: statements typed line by line, run when a `;` ends them.

use std::io::{BufRead, Write};

use kql_runtime::Cluster;

use super::print::Printer;
use super::{color_stderr, Cli, Failure};
use crate::diagnostic::render;
use crate::exec::Session;
use crate::syntax::split::split_statements;

pub fn run(cli: &Cli) -> Result<(), Failure> {
    let mut session = Session::new(Cluster::in_memory(cli.brokers));
    let stdin = std::io::stdin();
    let mut pending = String::new();
    let mut entry = 0;
    prompt(&pending);
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        pending.push_str(&line);
        pending.push('\n');
        let complete = split_statements(&pending)
            .last()
            .is_some_and(|&(_, end)| pending[..end].trim_end().ends_with(';'));
        if complete {
            entry += 1;
            let mut printer = Printer::new(cli.format, std::io::stdout().lock());
            if let Err(d) = session.run_text(&format!("<input {entry}>"), &pending, &mut printer) {
                eprint!("{}", render(&d, &session.sources, color_stderr()));
            }
            pending.clear();
        }
        prompt(&pending);
    }
    Ok(())
}

fn prompt(pending: &str) {
    let p = if pending.trim().is_empty() {
        "kql> "
    } else {
        "  -> "
    };
    print!("{p}");
    let _ = std::io::stdout().flush();
}
