//! Limits on the shape of a statement, so that no input can exhaust the stack of the
//! recursive stages after the parser (building, binding, evaluating, dropping trees):
//! brackets nest at most `NESTING_MAX` deep (checked on the text, before pest recurses into
//! them) and one expression has at most `OPERATORS_MAX` operators (a chain `a + b + ...`
//! becomes a tree as deep as it is long).

use pest::iterators::Pairs;

use super::build::Ctx;
use super::span::Span;
use super::Rule;
use crate::diagnostic::{Code, Diagnostic};

pub const NESTING_MAX: usize = 100;
pub const OPERATORS_MAX: usize = 1000;

/// Does the word just before byte `i` (spaces skipped) open a type bracket?
fn after_type_keyword(text: &str, i: usize) -> bool {
    let before = text[..i].trim_end();
    ["ARRAY", "MAP", "STRUCT"].iter().any(|k| {
        before.len() >= k.len()
            && before.is_char_boundary(before.len() - k.len())
            && before[before.len() - k.len()..].eq_ignore_ascii_case(k)
    })
}

/// The deepest bracket, outside strings, quoted names and comments. `<` is a bracket only
/// after ARRAY, MAP or STRUCT; elsewhere it compares.
pub(crate) fn check_nesting(ctx: &Ctx, text: &str) -> Result<(), Diagnostic> {
    let bytes = text.as_bytes();
    let (mut depth, mut types, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
            }
            b'<' if after_type_keyword(text, i) => types += 1,
            b'>' if types > 0 => types -= 1,
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth + types > NESTING_MAX {
            return Err(Diagnostic::new(
                Code::SyntaxError,
                format!("brackets nest more than {NESTING_MAX} deep"),
            )
            .label(
                Span::new(ctx.source, ctx.offset + i, ctx.offset + i + 1),
                format!("level {}", depth + types),
            )
            .help("split the expression, e.g. compute a part in a CREATE STREAM AS SELECT first"));
        }
        i += 1;
    }
    Ok(())
}

fn is_operator(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::or_op
            | Rule::and_op
            | Rule::eq
            | Rule::neq
            | Rule::lt
            | Rule::le
            | Rule::gt
            | Rule::ge
            | Rule::concat
            | Rule::add
            | Rule::sub
            | Rule::mul
            | Rule::div
            | Rule::rem
    )
}

/// Every expression of the statement has at most `OPERATORS_MAX` operators.
pub(crate) fn check_operators(ctx: &Ctx, pairs: Pairs<Rule>) -> Result<(), Diagnostic> {
    // `flatten` walks the tree without recursion.
    for pair in pairs
        .flatten()
        .filter(|p| matches!(p.as_rule(), Rule::expr | Rule::arith))
    {
        let operators = pair
            .clone()
            .into_inner()
            .filter(|p| is_operator(p.as_rule()))
            .count();
        if operators > OPERATORS_MAX {
            return Err(Diagnostic::new(
                Code::SyntaxError,
                format!("an expression with {operators} operators (the limit is {OPERATORS_MAX})"),
            )
            .label(ctx.span(&pair), "this expression")
            .help("split it into smaller expressions, or use IN (...) instead of a chain of OR"));
        }
    }
    Ok(())
}
