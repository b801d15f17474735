//! Limits on the shape of a statement, so that no input can exhaust the stack of the
//! recursive stages (pest's descent, the Pratt parser, building, binding, evaluating,
//! dropping trees). A statement nests at most `NESTING_MAX` levels, and one expression has
//! at most `OPERATORS_MAX` binary operators (a chain `a + b + ...` becomes a tree as deep
//! as it is long). Both checks are linear in the length of the text.
//!
//! Nesting is checked twice. On the text, before pest recurses: brackets, type brackets
//! (`ARRAY<`, `MAP<`, `STRUCT<`) and `CASE ... END`, the only ways the grammar recurses.
//! On the parsed pairs, before the Pratt parser recurses: each nested expression or type is
//! a level, and so is each prefix (`NOT`, `-`) and postfix (`->`, `[ ]`, `IS NULL`, `LIKE`,
//! `IN`, `BETWEEN`) operator, since each becomes one node of the tree above its operand.

use pest::iterators::{Pair, Pairs};

use super::build::Ctx;
use super::span::Span;
use super::Rule;
use crate::diagnostic::{Code, Diagnostic};

pub const NESTING_MAX: usize = 100;
pub const OPERATORS_MAX: usize = 1000;

/// Does the word just before byte `i` (spaces skipped) open a type bracket?
fn after_type_keyword(text: &str, i: usize) -> bool {
    let before = text[..i].trim_end();
    ["ARRAY", "MAP", "STRUCT"]
        .iter()
        .any(|k| is_word_at_end(before, k))
}

fn is_word_at_end(text: &str, word: &str) -> bool {
    text.len() >= word.len()
        && text.is_char_boundary(text.len() - word.len())
        && text[text.len() - word.len()..].eq_ignore_ascii_case(word)
}

fn too_deep(ctx: &Ctx, start: usize, end: usize, level: usize) -> Diagnostic {
    Diagnostic::new(
        Code::SyntaxError,
        format!("the statement is nested more than {NESTING_MAX} levels deep"),
    )
    .label(
        Span::new(ctx.source, ctx.offset + start, ctx.offset + end),
        format!("level {level}"),
    )
    .help("split the expression, e.g. compute a part in a CREATE STREAM AS SELECT first")
}

/// The deepest bracket or `CASE`, outside strings, quoted names and comments. `<` is a
/// bracket only after ARRAY, MAP or STRUCT; elsewhere it compares.
pub(crate) fn check_nesting(ctx: &Ctx, text: &str) -> Result<(), Diagnostic> {
    let bytes = text.as_bytes();
    let (mut depth, mut types, mut cases, mut i) = (0usize, 0usize, 0usize, 0usize);
    while i < bytes.len() {
        let token_start = i;
        let mut token_end = i + 1;
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
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while token_end < bytes.len()
                    && (bytes[token_end].is_ascii_alphanumeric()
                        || b"_@".contains(&bytes[token_end]))
                {
                    token_end += 1;
                }
                let word = &text[i..token_end];
                if word.eq_ignore_ascii_case("CASE") {
                    cases += 1;
                } else if word.eq_ignore_ascii_case("END") {
                    cases = cases.saturating_sub(1);
                }
                i = token_end - 1;
            }
            _ => {}
        }
        if depth + types + cases > NESTING_MAX {
            return Err(too_deep(ctx, token_start, token_end, depth + types + cases));
        }
        i += 1;
    }
    Ok(())
}

pub(super) fn is_operator(rule: Rule) -> bool {
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
            | Rule::distinct_from
            | Rule::concat
            | Rule::add
            | Rule::sub
            | Rule::mul
            | Rule::div
            | Rule::rem
    )
}

fn is_unary(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::not_op
            | Rule::neg
            | Rule::is_null
            | Rule::like_tail
            | Rule::in_tail
            | Rule::between_tail
            | Rule::field_access
            | Rule::subscript
    )
}

/// Every expression of the statement nests at most `NESTING_MAX` levels, counting its
/// prefix and postfix operators, and has at most `OPERATORS_MAX` binary operators.
pub(crate) fn check_tree(ctx: &Ctx, pairs: Pairs<Rule>) -> Result<(), Diagnostic> {
    // `flatten` walks the tree in pre-order without recursion; `open` holds the ends of
    // the expressions and types that enclose the current pair.
    let mut open: Vec<usize> = Vec::new();
    for pair in pairs.flatten() {
        let span = pair.as_span();
        while open.last().is_some_and(|&end| end <= span.start()) {
            open.pop();
        }
        match pair.as_rule() {
            Rule::expr | Rule::arith => {
                open.push(span.end());
                check_expression(ctx, &pair, open.len())?;
            }
            Rule::data_type => {
                open.push(span.end());
                if open.len() > NESTING_MAX {
                    let (start, end) = (span.start(), span.start() + 1);
                    return Err(too_deep(ctx, start, end, open.len()));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// One expression at nesting level `level`: its own operators (its direct children).
fn check_expression(ctx: &Ctx, pair: &Pair<Rule>, level: usize) -> Result<(), Diagnostic> {
    let (mut unary, mut binary) = (0usize, 0usize);
    for op in pair.clone().into_inner() {
        if is_unary(op.as_rule()) {
            // Each prefix or postfix operator is a node above its operand; with the
            // precedence of NOT over comparisons they can all stack up.
            unary += 1;
            if level + unary > NESTING_MAX {
                let start = op.as_span().start();
                let end = start + op.as_str().trim_end().len();
                return Err(too_deep(ctx, start, end, level + unary));
            }
        } else if is_operator(op.as_rule()) {
            binary += 1;
        }
    }
    if binary > OPERATORS_MAX {
        return Err(Diagnostic::new(
            Code::SyntaxError,
            format!("an expression with {binary} operators (the limit is {OPERATORS_MAX})"),
        )
        .label(ctx.span(pair), "this expression")
        .help("split it into smaller expressions, or use IN (...) instead of a chain of OR"));
    }
    Ok(())
}
