//! Source text to AST. The pest grammar (`grammar/kql.pest`) gives pairs with spans; this
//! module turns them into the typed AST of [`ast`]. Pest's types never leave this module.

pub mod ast;
mod build;
mod errors;
pub mod expected;
mod expr;
mod limits;
pub mod span;
pub mod split;

use pest::Parser as _;

use crate::diagnostic::Diagnostic;
use ast::Statement;
use span::SourceId;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/kql.pest"]
pub(crate) struct KqlParser;

/// Parses every statement of a text. Statements that parse are returned even when others
/// fail, so a caller can report every error of a file at once.
pub fn parse(source: SourceId, text: &str) -> (Vec<Statement>, Vec<Diagnostic>) {
    let mut statements = Vec::new();
    let mut diagnostics = Vec::new();
    for (start, end) in split::split_statements(text) {
        match parse_statement(source, &text[start..end], start) {
            Ok(s) => statements.push(s),
            Err(d) => diagnostics.push(d),
        }
    }
    (statements, diagnostics)
}

/// Parses one statement whose text starts at byte `offset` of its source.
pub fn parse_statement(
    source: SourceId,
    text: &str,
    offset: usize,
) -> Result<Statement, Diagnostic> {
    let ctx = build::Ctx { source, offset };
    limits::check_nesting(&ctx, text)?;
    match KqlParser::parse(Rule::statement_only, text) {
        Ok(mut pairs) => {
            limits::check_tree(&ctx, pairs.clone())?;
            let top = pairs.next().expect("statement_only always yields one pair");
            build::statement(&ctx, top)
        }
        Err(e) => Err(errors::syntax_error(&ctx, text, e)),
    }
}
