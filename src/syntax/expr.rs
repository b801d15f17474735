//! Expressions: the grammar lists operands and operators in sequence; a Pratt parser gives
//! them SQL's precedence (lowest first): OR, AND, NOT, comparisons and IS/LIKE/IN/BETWEEN,
//! `||`, `+ -`, `* / %`, unary minus, `->` and `[ ]`.

use std::sync::OnceLock;

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::*;
use super::build::{children, data_type, expr_list, has_keyword, ident, Ctx, Result};
use super::Rule;
use crate::diagnostic::{Code, Diagnostic};

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::or_op, Assoc::Left))
            .op(Op::infix(Rule::and_op, Assoc::Left))
            .op(Op::prefix(Rule::not_op))
            .op(Op::infix(Rule::eq, Assoc::Left)
                | Op::infix(Rule::neq, Assoc::Left)
                | Op::infix(Rule::lt, Assoc::Left)
                | Op::infix(Rule::le, Assoc::Left)
                | Op::infix(Rule::gt, Assoc::Left)
                | Op::infix(Rule::ge, Assoc::Left)
                | Op::infix(Rule::distinct_from, Assoc::Left)
                | Op::postfix(Rule::is_null)
                | Op::postfix(Rule::like_tail)
                | Op::postfix(Rule::in_tail)
                | Op::postfix(Rule::between_tail))
            .op(Op::infix(Rule::concat, Assoc::Left))
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left)
                | Op::infix(Rule::div, Assoc::Left)
                | Op::infix(Rule::rem, Assoc::Left))
            .op(Op::prefix(Rule::neg))
            .op(Op::postfix(Rule::field_access) | Op::postfix(Rule::subscript))
    })
}

/// Parses an `expr` or `arith` pair.
pub(crate) fn expr(ctx: &Ctx, pair: Pair<Rule>) -> Result<Expr> {
    pratt()
        .map_primary(|p| primary(ctx, p))
        .map_prefix(|op, rhs| {
            let rhs = rhs?;
            let span = ctx.span(&op).to(rhs.span);
            let op = if op.as_rule() == Rule::not_op {
                UnaryOp::Not
            } else {
                UnaryOp::Neg
            };
            Ok(Expr {
                kind: ExprKind::Unary {
                    op,
                    expr: Box::new(rhs),
                },
                span,
            })
        })
        .map_postfix(|lhs, op| postfix(ctx, lhs?, op))
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (lhs?, rhs?);
            let op = match op.as_rule() {
                Rule::or_op => BinaryOp::Or,
                Rule::and_op => BinaryOp::And,
                Rule::eq => BinaryOp::Eq,
                Rule::neq => BinaryOp::NotEq,
                Rule::lt => BinaryOp::Lt,
                Rule::le => BinaryOp::LtEq,
                Rule::gt => BinaryOp::Gt,
                Rule::ge => BinaryOp::GtEq,
                Rule::distinct_from if has_keyword(&op, Rule::NOT) => BinaryOp::NotDistinct,
                Rule::distinct_from => BinaryOp::Distinct,
                Rule::concat => BinaryOp::Concat,
                Rule::add => BinaryOp::Add,
                Rule::sub => BinaryOp::Sub,
                Rule::mul => BinaryOp::Mul,
                Rule::div => BinaryOp::Div,
                _ => BinaryOp::Rem,
            };
            let span = lhs.span.to(rhs.span);
            Ok(Expr {
                kind: ExprKind::Binary {
                    op,
                    left: Box::new(lhs),
                    right: Box::new(rhs),
                },
                span,
            })
        })
        .parse(pair.into_inner())
}

fn postfix(ctx: &Ctx, lhs: Expr, op: Pair<Rule>) -> Result<Expr> {
    let span = lhs.span.to(ctx.span(&op));
    let negated = has_keyword(&op, Rule::NOT);
    let rule = op.as_rule();
    let mut args = children(op);
    let boxed = Box::new(lhs);
    let kind = match rule {
        Rule::is_null => ExprKind::IsNull {
            expr: boxed,
            negated,
        },
        Rule::like_tail => ExprKind::Like {
            expr: boxed,
            pattern: Box::new(expr(ctx, args.next().unwrap())?),
            negated,
            escape: args
                .find(|p| p.as_rule() == Rule::string)
                .map(|p| literal_string(p.as_str())),
        },
        Rule::in_tail => ExprKind::InList {
            expr: boxed,
            list: expr_list(ctx, args.next().unwrap())?,
            negated,
        },
        Rule::between_tail => ExprKind::Between {
            expr: boxed,
            low: Box::new(expr(ctx, args.next().unwrap())?),
            high: Box::new(expr(ctx, args.next().unwrap())?),
            negated,
        },
        Rule::field_access => ExprKind::Field {
            expr: boxed,
            field: ident(ctx, args.next().unwrap()),
        },
        _ => ExprKind::Subscript {
            expr: boxed,
            index: Box::new(expr(ctx, args.next().unwrap())?),
        },
    };
    Ok(Expr { kind, span })
}

/// A function's arguments, lambdas among them.
fn arg_list(ctx: &Ctx, pair: Pair<Rule>) -> Result<Vec<Expr>> {
    children(pair)
        .map(|p| {
            if p.as_rule() != Rule::lambda {
                return expr(ctx, p);
            }
            let span = ctx.span(&p);
            let mut it = children(p);
            let params = children(it.next().unwrap())
                .map(|i| ident(ctx, i))
                .collect();
            let body = Box::new(expr(ctx, it.next().unwrap())?);
            Ok(Expr {
                kind: ExprKind::Lambda { params, body },
                span,
            })
        })
        .collect()
}

fn primary(ctx: &Ctx, pair: Pair<Rule>) -> Result<Expr> {
    let span = ctx.span(&pair);
    let kind = match pair.as_rule() {
        Rule::expr | Rule::arith => return expr(ctx, pair),
        Rule::null_lit | Rule::boolean | Rule::decimal | Rule::integer | Rule::string => {
            return literal(ctx, pair)
        }
        Rule::column_ref => {
            let mut parts: Vec<Ident> = children(pair).map(|p| ident(ctx, p)).collect();
            let name = parts.pop().unwrap();
            ExprKind::Column {
                qualifier: parts.pop(),
                name,
            }
        }
        Rule::function_call => {
            let mut it = children(pair);
            let name = ident(ctx, it.next().unwrap());
            let (mut args, mut distinct, mut star) = (Vec::new(), false, false);
            for p in it {
                match p.as_rule() {
                    Rule::star => star = true,
                    Rule::distinct => distinct = true,
                    _ => args = arg_list(ctx, p)?,
                }
            }
            ExprKind::Function {
                name,
                args,
                distinct,
                star,
            }
        }
        Rule::case_expr => {
            let (mut operand, mut whens, mut otherwise) = (None, Vec::new(), None);
            for p in children(pair) {
                match p.as_rule() {
                    Rule::case_operand => {
                        operand = Some(Box::new(expr(ctx, children(p).next().unwrap())?))
                    }
                    Rule::when_clause => {
                        let mut it = children(p);
                        let w = expr(ctx, it.next().unwrap())?;
                        whens.push((w, expr(ctx, it.next().unwrap())?));
                    }
                    _ => otherwise = Some(Box::new(expr(ctx, children(p).next().unwrap())?)),
                }
            }
            ExprKind::Case {
                operand,
                whens,
                otherwise,
            }
        }
        Rule::cast_expr => {
            let mut it = children(pair);
            let e = expr(ctx, it.next().unwrap())?;
            ExprKind::Cast {
                expr: Box::new(e),
                ty: data_type(ctx, it.next().unwrap())?,
            }
        }
        Rule::array_ctor => ExprKind::Array(match children(pair).next() {
            Some(list) => expr_list(ctx, list)?,
            None => Vec::new(),
        }),
        Rule::map_ctor => {
            let mut entries = Vec::new();
            for e in children(pair) {
                let mut it = children(e);
                let k = expr(ctx, it.next().unwrap())?;
                entries.push((k, expr(ctx, it.next().unwrap())?));
            }
            ExprKind::Map(entries)
        }
        Rule::struct_ctor => {
            let mut fields = Vec::new();
            for e in children(pair) {
                let mut it = children(e);
                let n = ident(ctx, it.next().unwrap());
                fields.push((n, expr(ctx, it.next().unwrap())?));
            }
            ExprKind::Struct(fields)
        }
        r => {
            return Err(
                Diagnostic::internal(format!("unexpected expression rule {r:?}"))
                    .label(span, "here"),
            )
        }
    };
    Ok(Expr { kind, span })
}

/// A literal pair (also used for property values).
pub(crate) fn literal(ctx: &Ctx, pair: Pair<Rule>) -> Result<Expr> {
    let span = ctx.span(&pair);
    let text = pair.as_str();
    let lit = match pair.as_rule() {
        Rule::null_lit => Literal::Null,
        Rule::boolean => Literal::Boolean(text.eq_ignore_ascii_case("true")),
        Rule::decimal => Literal::Decimal(text.to_string()),
        Rule::integer => Literal::Integer(text.parse::<i64>().map_err(|_| {
            Diagnostic::new(Code::InvalidLiteral, format!("the number {text} is too large"))
                .label(span, "does not fit in a BIGINT")
                .help("BIGINT holds numbers up to 9223372036854775807; write a DOUBLE such as 1.5e20 for larger values")
        })?),
        Rule::string => Literal::String(literal_string(text)),
        r => return Err(Diagnostic::internal(format!("unexpected literal rule {r:?}")).label(span, "here")),
    };
    Ok(Expr {
        kind: ExprKind::Literal(lit),
        span,
    })
}

/// The content of a quoted string literal, with `''` unescaped.
pub(crate) fn literal_string(quoted: &str) -> String {
    quoted[1..quoted.len() - 1].replace("''", "'")
}
