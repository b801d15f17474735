//! `kql explain FILE`: the plans of the file's queries. Declarations run (in memory) so the
//! queries compile against them; nothing else runs.

use std::path::Path;

use crate::exec::log::in_memory;

use super::print::Printer;
use super::{read_file, Cli, Failure};
use crate::exec::Session;
use crate::syntax::ast::{Explain, Statement, StatementKind};

pub fn run(cli: &Cli, file: &Path) -> Result<(), Failure> {
    let text = read_file(file)?;
    let mut session = Session::new(in_memory(cli.brokers));
    let (_, statements, errors) = session.check(&file.display().to_string(), &text);
    let fail = |session: &Session, diagnostics| Failure {
        diagnostics,
        sources: session.sources.clone(),
    };
    if !errors.is_empty() {
        return Err(fail(&session, errors));
    }
    let mut printer = Printer::new(
        cli.format,
        std::io::BufWriter::new(std::io::stdout().lock()),
    );
    for stmt in statements {
        let explained = match &stmt.kind {
            StatementKind::CreateSource(_) => {
                session
                    .execute(&stmt, &mut crate::exec::output::Discard)
                    .map_err(|d| fail(&session, d))?;
                continue;
            }
            StatementKind::Select(_) => Statement {
                kind: StatementKind::Explain(Explain::Statement(Box::new(stmt.clone()))),
                span: stmt.span,
            },
            // A persistent query is explained, then declared (its sink may be read later);
            // nothing runs: no statement here reads data.
            StatementKind::CreateAsSelect(_) | StatementKind::InsertSelect(_) => {
                let explain = Statement {
                    kind: StatementKind::Explain(Explain::Statement(Box::new(stmt.clone()))),
                    span: stmt.span,
                };
                let snippet = &text[stmt.span.start..stmt.span.end];
                eprintln!(
                    "-- {}",
                    snippet.split_whitespace().collect::<Vec<_>>().join(" ")
                );
                session
                    .execute(&explain, &mut printer)
                    .map_err(|d| fail(&session, d))?;
                session
                    .execute(&stmt, &mut crate::exec::output::Discard)
                    .map_err(|d| fail(&session, d))?;
                continue;
            }
            _ => continue,
        };
        let snippet = &text[stmt.span.start..stmt.span.end];
        eprintln!(
            "-- {}",
            snippet.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        session
            .execute(&explained, &mut printer)
            .map_err(|d| fail(&session, d))?;
    }
    Ok(())
}
