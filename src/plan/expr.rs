//! Typed expressions: the AST's expressions with names resolved to row positions, types
//! checked, and numeric operands widened to a common type (so evaluation needs no checks).

use crate::data::Decimal;
use std::borrow::Cow;

use super::schema::Schema;
use crate::data::{SqlType, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::functions::rules::unify;
use crate::functions::{self, FunctionDef};
use crate::syntax::ast::{self, BinaryOp, ExprKind, Literal, UnaryOp};
use crate::syntax::span::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct TypedExpr {
    pub kind: TExpr,
    pub ty: SqlType,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    /// `IS DISTINCT FROM`: never NULL; two NULLs are not distinct.
    Distinct,
    /// `IS NOT DISTINCT FROM`.
    NotDistinct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TExpr {
    Literal(Value),
    Column(usize),
    Not(Box<TypedExpr>),
    Neg(Box<TypedExpr>),
    And(Box<TypedExpr>, Box<TypedExpr>),
    Or(Box<TypedExpr>, Box<TypedExpr>),
    /// Both operands have the same type.
    Compare(CmpOp, Box<TypedExpr>, Box<TypedExpr>),
    /// Both operands have the result type.
    Arith(ArithOp, Box<TypedExpr>, Box<TypedExpr>),
    Concat(Box<TypedExpr>, Box<TypedExpr>),
    /// A scalar function of the registry, with its arguments and their types.
    Call {
        func: &'static FunctionDef,
        args: Vec<TypedExpr>,
        types: Vec<SqlType>,
    },
    Case {
        whens: Vec<(TypedExpr, TypedExpr)>,
        otherwise: Option<Box<TypedExpr>>,
    },
    /// Converts to `ty`.
    Cast(Box<TypedExpr>),
    IsNull(Box<TypedExpr>, bool),
    /// The value, the pattern, NOT, the escape character.
    Like(Box<TypedExpr>, Box<TypedExpr>, bool, Option<char>),
    InList(Box<TypedExpr>, Vec<TypedExpr>, bool),
    Between(Box<TypedExpr>, Box<TypedExpr>, Box<TypedExpr>, bool),
    Field(Box<TypedExpr>, usize),
    Subscript(Box<TypedExpr>, Box<TypedExpr>),
    MakeArray(Vec<TypedExpr>),
    MakeMap(Vec<(TypedExpr, TypedExpr)>),
    MakeStruct(Vec<TypedExpr>),
    /// A lambda argument: its parameters are the row positions from `base` on (after the
    /// columns of the row it is evaluated in); its type is its body's.
    Lambda {
        base: usize,
        body: Box<TypedExpr>,
    },
}

/// Calls `go` on each child of an expression node (`iter` or `iter_mut` for lists), so
/// `visit` and `rewrite` share one list of the node kinds.
macro_rules! for_each_child {
    ($kind:expr, $go:ident, $iter:ident) => {
        match $kind {
            TExpr::Literal(_) | TExpr::Column(_) => {}
            TExpr::Not(a)
            | TExpr::Neg(a)
            | TExpr::Cast(a)
            | TExpr::IsNull(a, _)
            | TExpr::Field(a, _)
            | TExpr::Lambda { body: a, .. } => $go(a),
            TExpr::And(a, b)
            | TExpr::Or(a, b)
            | TExpr::Compare(_, a, b)
            | TExpr::Arith(_, a, b)
            | TExpr::Concat(a, b)
            | TExpr::Like(a, b, ..)
            | TExpr::Subscript(a, b) => {
                $go(a);
                $go(b)
            }
            TExpr::Between(a, b, c, _) => {
                $go(a);
                $go(b);
                $go(c)
            }
            TExpr::Call { args, .. } | TExpr::MakeArray(args) | TExpr::MakeStruct(args) => {
                args.$iter().for_each($go)
            }
            TExpr::InList(a, list, _) => {
                $go(a);
                list.$iter().for_each($go)
            }
            TExpr::Case { whens, otherwise } => {
                for (w, t) in whens {
                    $go(w);
                    $go(t);
                }
                if let Some(o) = otherwise {
                    $go(o)
                }
            }
            TExpr::MakeMap(entries) => {
                for (k, v) in entries {
                    $go(k);
                    $go(v)
                }
            }
        }
    };
}

impl TypedExpr {
    fn new(kind: TExpr, ty: SqlType, span: Span) -> TypedExpr {
        TypedExpr { kind, ty, span }
    }

    /// Wraps in a cast unless already of type `ty`.
    pub fn cast_to(self, ty: &SqlType) -> TypedExpr {
        if &self.ty == ty {
            return self;
        }
        let span = self.span;
        // Widening a numeric literal is done once here, not for every row
        // (`temp > 30` compares with 30.0).
        let folded = match (&self.kind, ty) {
            (TExpr::Literal(Value::Int(i)), SqlType::Bigint) => Some(Value::Bigint(*i as i64)),
            (TExpr::Literal(Value::Int(i)), SqlType::Double) => Some(Value::Double(*i as f64)),
            (TExpr::Literal(Value::Bigint(i)), SqlType::Double) => Some(Value::Double(*i as f64)),
            _ => None,
        };
        if let Some(v) = folded {
            return TypedExpr::new(TExpr::Literal(v), ty.clone(), span);
        }
        TypedExpr::new(TExpr::Cast(Box::new(self)), ty.clone(), span)
    }

    /// Row positions this expression reads (a lambda's parameters are not row columns).
    pub fn columns(&self, out: &mut Vec<usize>) {
        let mut params_from = usize::MAX;
        self.visit(&mut |e| {
            if let TExpr::Lambda { base, .. } = e.kind {
                params_from = params_from.min(base);
            }
        });
        self.visit(&mut |e| {
            if let TExpr::Column(i) = e.kind {
                if i < params_from && !out.contains(&i) {
                    out.push(i)
                }
            }
        });
    }

    /// Rewrites the tree top-down: `f` returns true when it replaced a node (whose
    /// children are then not visited).
    pub fn rewrite(&mut self, f: &mut impl FnMut(&mut TypedExpr) -> bool) {
        if f(self) {
            return;
        }
        let mut go = |e: &mut TypedExpr| e.rewrite(f);
        for_each_child!(&mut self.kind, go, iter_mut);
    }

    /// The same computation, wherever each was written (spans are not compared).
    pub fn same_as(&self, other: &TypedExpr) -> bool {
        self.ty == other.ty && self.without_spans() == other.without_spans()
    }

    /// The expression with every span cleared: two expressions written alike at different
    /// places compare equal.
    pub fn without_spans(&self) -> TypedExpr {
        let mut e = self.clone();
        e.rewrite(&mut |n| {
            n.span = Span::default();
            false
        });
        e
    }

    pub fn visit(&self, f: &mut impl FnMut(&TypedExpr)) {
        f(self);
        let mut go = |e: &TypedExpr| e.visit(f);
        for_each_child!(&self.kind, go, iter);
    }
}

/// Binds AST expressions against a schema.
pub struct Binder<'a> {
    pub schema: &'a Schema,
    /// What the expression is for, used in messages ("WHERE", "the SELECT list").
    pub context: &'static str,
}

type Result<T> = std::result::Result<T, Diagnostic>;

/// How deeply expressions may nest: binding (and evaluating) recurses once per level,
/// and a generated or mangled statement must get a diagnostic, not a stack overflow.
/// A level of `bind` takes about 30 KB of stack in a debug build (2 MB test threads).
/// FIXME: split `bind_inner`'s large match into functions to shrink its frame, then raise.
pub const EXPR_DEPTH_MAX: usize = 48;

thread_local! {
    static BIND_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl<'a> Binder<'a> {
    pub fn bind(&self, e: &ast::Expr) -> Result<TypedExpr> {
        let depth = BIND_DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let result = if depth > EXPR_DEPTH_MAX {
            Err(Diagnostic::new(
                Code::Unsupported,
                format!("the expression is nested more than {EXPR_DEPTH_MAX} levels deep"),
            )
            .label(e.span, "too deeply nested")
            .help(
                "split it into simpler expressions, e.g. with a CREATE STREAM ... AS SELECT step",
            ))
        } else {
            self.bind_inner(e)
        };
        BIND_DEPTH.with(|d| d.set(d.get() - 1));
        result
    }

    /// A chain of binary operators (`a OR b OR c ...`, `a + b + c ...`) parses into a tree
    /// as deep as the chain is long, leaning left. Its left spine is walked in a loop, so
    /// that a long flat chain (60 ORs of a generated filter) counts as one level of
    /// nesting, not one per operator; each right operand is bound as its own expression.
    /// The syntax stage bounds a chain's length (`syntax::limits::OPERATORS_MAX`).
    fn bind_chain(&self, e: &ast::Expr) -> Result<TypedExpr> {
        let mut rights = Vec::new();
        let mut leaf = e;
        while let ExprKind::Binary { op, left, right } = &leaf.kind {
            if op.is_comparison() {
                break;
            }
            rights.push((*op, &**right, leaf.span));
            leaf = left;
        }
        let mut acc = self.bind(leaf)?;
        for (op, right, span) in rights.into_iter().rev() {
            let r = self.bind(right)?;
            acc = binary(op, acc, r, span)?;
        }
        Ok(acc)
    }

    fn bind_inner(&self, e: &ast::Expr) -> Result<TypedExpr> {
        let span = e.span;
        match &e.kind {
            ExprKind::Literal(l) => literal(l, span),
            ExprKind::Column { qualifier, name } => {
                self.column(qualifier.as_ref(), name).map(|mut c| {
                    c.span = span; // the whole `q.name`
                    c
                })
            }
            ExprKind::Unary { op, expr } => {
                let inner = self.bind(expr)?;
                match op {
                    UnaryOp::Not => {
                        expect_boolean(&inner, "NOT")?;
                        Ok(TypedExpr::new(
                            TExpr::Not(Box::new(inner)),
                            SqlType::Boolean,
                            span,
                        ))
                    }
                    UnaryOp::Neg => {
                        if !inner.ty.is_numeric() && inner.ty != SqlType::Null {
                            return Err(Diagnostic::new(
                                Code::TypeMismatch,
                                format!("cannot negate a {}", inner.ty),
                            )
                            .label(inner.span, format!("this is {}", inner.ty)));
                        }
                        let ty = inner.ty.clone();
                        Ok(TypedExpr::new(TExpr::Neg(Box::new(inner)), ty, span))
                    }
                }
            }
            ExprKind::Binary { op, .. } if !op.is_comparison() => self.bind_chain(e),
            // A comparison: a string literal compared with a time column is read as a time.
            ExprKind::Binary { op, left, right } => {
                let left_text = time_text(left, std::slice::from_ref(&**right))?;
                let right_text = time_text(right, std::slice::from_ref(&**left))?;
                let (l, r) = (self.bind(&left_text)?, self.bind(&right_text)?);
                binary(*op, l, r, span)
            }
            ExprKind::Function {
                name,
                args,
                distinct,
                star,
            } => self.function(name, args, *distinct, *star, span),
            ExprKind::Case {
                operand,
                whens,
                otherwise,
            } => self.case(operand.as_deref(), whens, otherwise.as_deref(), span),
            ExprKind::Cast { expr, ty } => {
                let inner = self.bind(expr)?;
                let target = resolve_type(ty)?;
                check_cast(&inner, &target, ty.span)?;
                Ok(TypedExpr::new(TExpr::Cast(Box::new(inner)), target, span))
            }
            ExprKind::IsNull { expr, negated } => {
                let inner = self.bind(expr)?;
                Ok(TypedExpr::new(
                    TExpr::IsNull(Box::new(inner), *negated),
                    SqlType::Boolean,
                    span,
                ))
            }
            ExprKind::Like {
                expr,
                pattern,
                negated,
                escape,
            } => {
                let escape = match escape.as_deref().map(|e| {
                    let mut chars = e.chars();
                    (chars.next(), chars.next())
                }) {
                    None => None,
                    Some((Some(c), None)) => Some(c),
                    Some(_) => {
                        return Err(Diagnostic::new(
                            Code::InvalidLiteral,
                            "ESCAPE takes one character",
                        )
                        .label(span, "LIKE with this ESCAPE")
                        .help("for example: x LIKE '100!%' ESCAPE '!'"))
                    }
                };
                let (v, p) = (self.bind(expr)?, self.bind(pattern)?);
                for x in [&v, &p] {
                    if !matches!(x.ty, SqlType::String | SqlType::Null) {
                        return Err(Diagnostic::new(
                            Code::TypeMismatch,
                            format!("LIKE works on strings, not {}", x.ty),
                        )
                        .label(x.span, format!("this is {}", x.ty))
                        .help("CAST it to a string first: CAST(x AS STRING) LIKE '1%'"));
                    }
                }
                Ok(TypedExpr::new(
                    TExpr::Like(Box::new(v), Box::new(p), *negated, escape),
                    SqlType::Boolean,
                    span,
                ))
            }
            ExprKind::InList {
                expr,
                list,
                negated,
            } => {
                let v = self.bind(expr)?;
                let asts: Vec<&ast::Expr> = std::iter::once(&**expr).chain(list).collect();
                let mut bound = vec![v];
                for item in list {
                    bound.push(self.bind(item)?);
                }
                let ty = match self.common_type(&asts, &bound)? {
                    Ok(ty) => ty,
                    Err((i, _)) => return Err(mismatch_compare(&bound[0], &bound[i])),
                };
                let mut items = bound
                    .into_iter()
                    .zip(&asts)
                    .map(|(b, a)| self.convert(a, b, &ty))
                    .collect::<Result<Vec<_>>>()?;
                let v = items.remove(0);
                Ok(TypedExpr::new(
                    TExpr::InList(Box::new(v), items, *negated),
                    SqlType::Boolean,
                    span,
                ))
            }
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let bounds = [(**low).clone(), (**high).clone()];
                let (low, high) = (
                    time_text(low, std::slice::from_ref(&**expr))?,
                    time_text(high, std::slice::from_ref(&**expr))?,
                );
                let expr = time_text(expr, &bounds)?;
                let (v, lo, hi) = (self.bind(&expr)?, self.bind(&low)?, self.bind(&high)?);
                let ty = unify(&v.ty, &lo.ty).ok_or_else(|| mismatch_compare(&v, &lo))?;
                let ty = unify(&ty, &hi.ty).ok_or_else(|| mismatch_compare(&v, &hi))?;
                Ok(TypedExpr::new(
                    TExpr::Between(
                        Box::new(v.cast_to(&ty)),
                        Box::new(lo.cast_to(&ty)),
                        Box::new(hi.cast_to(&ty)),
                        *negated,
                    ),
                    SqlType::Boolean,
                    span,
                ))
            }
            ExprKind::Field { expr, field } => {
                let base = self.bind(expr)?;
                let SqlType::Struct(fields) = &base.ty else {
                    return Err(Diagnostic::new(
                        Code::TypeMismatch,
                        format!("-> reads a field of a STRUCT, but this is {}", base.ty),
                    )
                    .label(base.span, format!("this is {}", base.ty)));
                };
                let Some(i) = fields
                    .iter()
                    .position(|(n, _)| n.eq_ignore_ascii_case(&field.name))
                else {
                    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
                    let mut d = Diagnostic::new(
                        Code::UnknownColumn,
                        format!("the struct has no field {}", field.name),
                    )
                    .label(field.span, "no such field");
                    d = match super::catalog::did_you_mean(&field.name, names.iter().copied()) {
                        Some(s) => d.help(format!("did you mean {s}?")),
                        None => d.help(format!("its fields are: {}", names.join(", "))),
                    };
                    return Err(d);
                };
                let ty = fields[i].1.clone();
                Ok(TypedExpr::new(TExpr::Field(Box::new(base), i), ty, span))
            }
            ExprKind::Subscript { expr, index } => {
                let (base, idx) = (self.bind(expr)?, self.bind(index)?);
                let ty = match (&base.ty, &idx.ty) {
                    (SqlType::Array(t), SqlType::Int | SqlType::Bigint) => (**t).clone(),
                    (SqlType::Map(k, v), it) if it.assignable_to(k) => (**v).clone(),
                    _ => {
                        return Err(Diagnostic::new(
                            Code::TypeMismatch,
                            format!("cannot index a {} with a {}", base.ty, idx.ty),
                        )
                        .label(idx.span, format!("this is {}", idx.ty))
                        .label(base.span, format!("this is {}", base.ty))
                        .help("arrays take an integer position (starting at 1), maps take a key"))
                    }
                };
                Ok(TypedExpr::new(
                    TExpr::Subscript(Box::new(base), Box::new(idx)),
                    ty,
                    span,
                ))
            }
            ExprKind::Array(items) => self.array(items, span),
            ExprKind::Map(entries) => self.map(entries, span),
            ExprKind::Lambda { .. } => Err(Diagnostic::new(
                Code::Unsupported,
                "a lambda can only be the argument of a function that takes one",
            )
            .label(span, "lambda here")
            .help("for example: TRANSFORM(tags, x => UCASE(x))")),
            ExprKind::Struct(fields) => {
                let mut types = Vec::new();
                let mut values = Vec::new();
                for (i, (n, v)) in fields.iter().enumerate() {
                    if let Some((first, _)) = fields[..i].iter().find(|(m, _)| m.name == n.name) {
                        return Err(Diagnostic::new(
                            Code::DuplicateColumn,
                            format!("the struct has two fields named {}", n.name),
                        )
                        .label(n.span, "named again")
                        .label(first.span, "first named here")
                        .help("give each field of a STRUCT(...) its own name"));
                    }
                    let b = self.bind(v)?;
                    types.push((n.name.clone(), b.ty.clone()));
                    values.push(b);
                }
                Ok(TypedExpr::new(
                    TExpr::MakeStruct(values),
                    SqlType::Struct(types),
                    span,
                ))
            }
        }
    }

    fn column(&self, qualifier: Option<&ast::Ident>, name: &ast::Ident) -> Result<TypedExpr> {
        let fields = &self.schema.fields;
        let mut matches = self.schema.positions_of(&name.name);
        if let Some(q) = qualifier {
            matches.retain(|&i| fields[i].qualifiers.contains(&q.name));
        }
        if let (Some(q), []) = (qualifier, matches.as_slice()) {
            if !fields.iter().any(|f| f.qualifiers.contains(&q.name)) {
                let mut quals: Vec<&str> = fields
                    .iter()
                    .flat_map(|f| f.qualifiers.iter().map(|s| s.as_str()))
                    .collect();
                quals.dedup();
                let mut d = Diagnostic::new(
                    Code::UnknownSource,
                    format!("{} is not a source of this query", q.name),
                )
                .label(q.span, "not in FROM or JOIN");
                if let Some(s) = super::catalog::did_you_mean(&q.name, quals.iter().copied()) {
                    d = d.help(format!("did you mean {s}?"));
                }
                return Err(d);
            }
        }
        match matches.as_slice() {
            [i] => Ok(TypedExpr::new(
                TExpr::Column(*i),
                fields[*i].ty.clone(),
                name.span,
            )),
            [] => match self.schema.computed.iter().find(|(n, _)| *n == name.name) {
                Some((_, e)) if qualifier.is_none() => Ok(e.clone()),
                _ => Err(self.unknown_column(qualifier, name)),
            },
            several => {
                let sources: Vec<String> = several
                    .iter()
                    .map(|i| fields[*i].qualifiers[0].clone())
                    .collect();
                Err(Diagnostic::new(
                    Code::AmbiguousColumn,
                    format!("column {} is in more than one source", name.name),
                )
                .label(name.span, format!("could be {}", sources.join(" or ")))
                .help(format!("qualify it: {}.{}", sources[0], name.name)))
            }
        }
    }

    fn unknown_column(&self, qualifier: Option<&ast::Ident>, name: &ast::Ident) -> Diagnostic {
        let candidates: Vec<&str> = self
            .schema
            .fields
            .iter()
            .filter(|f| qualifier.is_none_or(|q| f.qualifiers.contains(&q.name)))
            .map(|f| f.name.as_str())
            .collect();
        let sources: Vec<&str> = {
            let mut s: Vec<&str> = self
                .schema
                .fields
                .iter()
                .map(|f| f.qualifiers[0].as_str())
                .collect();
            s.dedup();
            s
        };
        let mut d = Diagnostic::new(
            Code::UnknownColumn,
            format!("column {} is not in {}", name.name, sources.join(" or ")),
        )
        .label(name.span, "unknown column");
        let shown: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|c| !c.starts_with("ROW"))
            .collect();
        d = match super::catalog::did_you_mean(&name.name, candidates.iter().copied()) {
            Some(s) => d.help(format!("did you mean {s}?")),
            None => d.help(format!("the columns are: {}", shown.join(", "))),
        };
        if !name.quoted
            && name.name != name.name.to_ascii_lowercase()
            && candidates
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&name.name))
        {
            d = d.note("unquoted names are upper-cased; quote a lower-case column with back-quotes: `name`");
        }
        d
    }

    fn function(
        &self,
        name: &ast::Ident,
        args: &[ast::Expr],
        _distinct: bool,
        star: bool,
        span: Span,
    ) -> Result<TypedExpr> {
        if functions::is_aggregate(&name.name) {
            return Err(Diagnostic::new(Code::Unsupported, format!("{} is an aggregate function, which needs GROUP BY", name.name))
                .label(name.span, format!("aggregate used in {}", self.context))
                .help("aggregate over a GROUP BY, e.g. SELECT sensor, COUNT(*) FROM readings GROUP BY sensor EMIT CHANGES;"));
        }
        if functions::is_table_function(&name.name) && self.context != "the SELECT list" {
            return Err(Diagnostic::new(
                Code::Unsupported,
                format!(
                    "{} is a table function: only a SELECT list may call it",
                    name.name
                ),
            )
            .label(
                name.span,
                format!("table function used in {}", self.context),
            )
            .help("select it, e.g. SELECT id, EXPLODE(items) AS item FROM orders EMIT CHANGES;"));
        }
        let Some(def) = functions::lookup(&name.name) else {
            let mut d = Diagnostic::new(
                Code::UnknownFunction,
                format!("there is no function named {}", name.name),
            )
            .label(name.span, "unknown function");
            let alias = functions::ALIASES
                .iter()
                .find(|(a, _)| *a == name.name)
                .map(|(_, f)| *f);
            let names = functions::all().map(|f| f.name);
            if let Some(s) = alias.or_else(|| super::catalog::did_you_mean(&name.name, names)) {
                d = d.help(format!("did you mean {s}?"));
            }
            return Err(d);
        };
        if star || args.len() < def.min_args || args.len() > def.max_args {
            return Err(Diagnostic::new(
                Code::WrongArgumentCount,
                format!(
                    "{} takes {} argument(s), but {} were given",
                    def.name,
                    def.arity_text(),
                    if star { 0 } else { args.len() }
                ),
            )
            .label(span, "wrong number of arguments")
            .help(def.usage()));
        }
        let bound = args
            .iter()
            .enumerate()
            .map(|(i, a)| match (time_unit_word(def, i, a), &a.kind) {
                (Some(unit), _) => Ok(Some(TypedExpr::new(
                    TExpr::Literal(Value::string(unit)),
                    SqlType::String,
                    a.span,
                ))),
                (None, ExprKind::Lambda { .. }) => Ok(None),
                (None, _) => self.bind(a).map(Some),
            })
            .collect::<Result<Vec<_>>>()?;
        let bound = self.bind_lambdas(def, args, bound, span)?;
        let types: Vec<SqlType> = bound.iter().map(|b| b.ty.clone()).collect();
        match (def.returns)(&types) {
            Ok(ty) => {
                // Functions over one type get their arguments widened to it.
                let (bound, types) = if def.widen_args {
                    let bound: Vec<TypedExpr> = bound.into_iter().map(|b| b.cast_to(&ty)).collect();
                    let types = bound.iter().map(|b| b.ty.clone()).collect();
                    (bound, types)
                } else {
                    (bound, types)
                };
                Ok(TypedExpr::new(
                    TExpr::Call {
                        func: def,
                        args: bound,
                        types,
                    },
                    ty,
                    span,
                ))
            }
            Err((i, wanted)) => {
                let i = i.min(bound.len().saturating_sub(1));
                let shown = types
                    .get(i)
                    .map_or("nothing".to_string(), |t| t.to_string());
                let mut d = Diagnostic::new(
                    Code::WrongArgumentType,
                    format!(
                        "argument {} of {} must be {wanted}, not {shown}",
                        i + 1,
                        def.name
                    ),
                );
                d = match bound.get(i) {
                    Some(b) => d.label(b.span, format!("this is {shown}")),
                    None => d.label(span, "here"),
                };
                Err(d.help(def.usage()))
            }
        }
    }

    /// Binds the lambda arguments of a call (`None` in `bound`), once the other arguments
    /// give their parameters' types.
    fn bind_lambdas(
        &self,
        def: &FunctionDef,
        args: &[ast::Expr],
        bound: Vec<Option<TypedExpr>>,
        span: Span,
    ) -> Result<Vec<TypedExpr>> {
        let has_lambda = bound.iter().any(Option::is_none);
        let Some(lambda) = def.lambda.as_ref() else {
            if let Some(a) = args
                .iter()
                .find(|a| matches!(a.kind, ExprKind::Lambda { .. }))
            {
                return Err(Diagnostic::new(
                    Code::WrongArgumentType,
                    format!("{} does not take a lambda", def.name),
                )
                .label(a.span, "lambda here")
                .help(def.usage()));
            }
            return Ok(bound.into_iter().flatten().collect());
        };
        if !has_lambda {
            return Err(Diagnostic::new(
                Code::WrongArgumentType,
                format!("{} needs a lambda", def.name),
            )
            .label(span, "no lambda in this call")
            .help(def.usage()));
        }
        let types: Vec<SqlType> = bound
            .iter()
            .map(|b| b.as_ref().map_or(SqlType::Null, |b| b.ty.clone()))
            .collect();
        let params = (lambda.params)(&types).map_err(|(i, wanted)| {
            Diagnostic::new(
                Code::WrongArgumentType,
                format!(
                    "argument {} of {} must be {wanted}, not {}",
                    i + 1,
                    def.name,
                    types[i]
                ),
            )
            .label(args[i].span, format!("this is {}", types[i]))
            .help(def.usage())
        })?;
        bound
            .into_iter()
            .zip(args)
            .map(|(b, a)| match (b, &a.kind) {
                (Some(b), _) => Ok(b),
                (
                    None,
                    ExprKind::Lambda {
                        params: names,
                        body,
                    },
                ) => self.lambda(def, names, body, &params, a.span),
                (None, _) => Err(Diagnostic::internal("a lambda slot without a lambda")),
            })
            .collect()
    }

    /// A lambda's body, bound with its parameters as columns after the row's.
    fn lambda(
        &self,
        def: &FunctionDef,
        names: &[ast::Ident],
        body: &ast::Expr,
        types: &[SqlType],
        span: Span,
    ) -> Result<TypedExpr> {
        if names.len() != types.len() {
            return Err(Diagnostic::new(
                Code::WrongArgumentCount,
                format!(
                    "this lambda of {} must take {} parameter(s), not {}",
                    def.name,
                    types.len(),
                    names.len()
                ),
            )
            .label(span, "wrong number of parameters")
            .help(def.usage()));
        }
        let mut fields = self.schema.fields.clone();
        // A parameter hides a column of the same name.
        for f in &mut fields {
            if names.iter().any(|n| n.name == f.name) {
                f.name.insert(0, '\u{0}');
            }
        }
        let base = fields.len();
        let qualifiers = fields
            .first()
            .map_or_else(|| vec![def.name.to_string()], |f| f.qualifiers.clone());
        for (n, t) in names.iter().zip(types) {
            fields.push(super::schema::Field {
                qualifiers: qualifiers.clone(),
                name: n.name.clone(),
                ty: t.clone(),
                pseudo: true,
            });
        }
        let schema = Schema::new(fields);
        let inner = Binder {
            schema: &schema,
            context: self.context,
        };
        let body = inner.bind(body)?;
        let ty = body.ty.clone();
        Ok(TypedExpr::new(
            TExpr::Lambda {
                base,
                body: Box::new(body),
            },
            ty,
            span,
        ))
    }

    /// `ARRAY[...]`: its elements take one type (see `coerce`).
    fn array(&self, items: &[ast::Expr], span: Span) -> Result<TypedExpr> {
        if items.is_empty() {
            return Err(Diagnostic::new(Code::TypeMismatch, "an array needs at least one element")
                .label(span, "empty array")
                .help("its elements give the array its type; where no value is known, a typed NULL may do: CAST(NULL AS ARRAY<INT>)"));
        }
        let (ty, elems) = self.uniform(items.iter().collect(), "an array", "elements", span)?;
        Ok(TypedExpr::new(
            TExpr::MakeArray(elems),
            SqlType::Array(Box::new(ty)),
            span,
        ))
    }

    /// `MAP(k := v, ...)`: its keys take one type, and its values another (see `coerce`).
    fn map(&self, entries: &[(ast::Expr, ast::Expr)], span: Span) -> Result<TypedExpr> {
        if entries.is_empty() {
            return Err(Diagnostic::new(Code::TypeMismatch, "a map needs at least one entry")
                .label(span, "empty map")
                .help("its entries give the map its type; where no value is known, a typed NULL may do: CAST(NULL AS MAP<STRING, INT>)"));
        }
        let (kt, keys) = self.uniform(
            entries.iter().map(|(k, _)| k).collect(),
            "a map",
            "keys",
            span,
        )?;
        let (vt, values) = self.uniform(
            entries.iter().map(|(_, v)| v).collect(),
            "a map",
            "values",
            span,
        )?;
        Ok(TypedExpr::new(
            TExpr::MakeMap(keys.into_iter().zip(values).collect()),
            SqlType::Map(Box::new(kt), Box::new(vt)),
            span,
        ))
    }

    /// The items of a constructor bound and converted to their common type.
    fn uniform(
        &self,
        asts: Vec<&ast::Expr>,
        what: &str,
        items: &str,
        span: Span,
    ) -> Result<(SqlType, Vec<TypedExpr>)> {
        let bound = asts
            .iter()
            .map(|a| self.bind(a))
            .collect::<Result<Vec<_>>>()?;
        let ty = match self.common_type(&asts, &bound)? {
            Ok(SqlType::Null) => return Err(all_null(what, items, span)),
            Ok(ty) => ty,
            Err((i, ty)) => {
                return Err(Diagnostic::new(
                    Code::TypeMismatch,
                    format!("the {items} of {what} must have one type"),
                )
                .label(
                    bound[i].span,
                    format!("this is {}, the {items} before it are {ty}", bound[i].ty),
                ))
            }
        };
        let converted = bound
            .into_iter()
            .zip(asts)
            .map(|(b, a)| self.convert(a, b, &ty))
            .collect::<Result<Vec<_>>>()?;
        Ok((ty, converted))
    }

    fn case(
        &self,
        operand: Option<&ast::Expr>,
        whens: &[(ast::Expr, ast::Expr)],
        otherwise: Option<&ast::Expr>,
        span: Span,
    ) -> Result<TypedExpr> {
        let operand = operand.map(|o| self.bind(o)).transpose()?;
        let mut out = Vec::new();
        let mut ty = SqlType::Null;
        for (w, t) in whens {
            let cond = match &operand {
                Some(o) => binary(BinaryOp::Eq, o.clone(), self.bind(w)?, w.span)?,
                None => {
                    let c = self.bind(w)?;
                    expect_boolean(&c, "WHEN")?;
                    c
                }
            };
            let then = self.bind(t)?;
            ty = unify(&ty, &then.ty).ok_or_else(|| {
                Diagnostic::new(
                    Code::TypeMismatch,
                    "the branches of CASE must have one type",
                )
                .label(
                    then.span,
                    format!("this is {}, the branches before it are {ty}", then.ty),
                )
            })?;
            out.push((cond, then));
        }
        let otherwise = match otherwise {
            Some(o) => {
                let b = self.bind(o)?;
                ty = unify(&ty, &b.ty).ok_or_else(|| {
                    Diagnostic::new(
                        Code::TypeMismatch,
                        "the branches of CASE must have one type",
                    )
                    .label(
                        b.span,
                        format!("ELSE is {}, the other branches are {ty}", b.ty),
                    )
                })?;
                Some(Box::new(b.cast_to(&ty)))
            }
            None => None,
        };
        if ty == SqlType::Null {
            return Err(Diagnostic::new(
                Code::TypeMismatch,
                "every branch of this CASE is NULL, so it has no type",
            )
            .label(span, "all branches NULL")
            .help("CAST one branch to the type wanted: THEN CAST(NULL AS VARCHAR)"));
        }
        let whens = out.into_iter().map(|(c, t)| (c, t.cast_to(&ty))).collect();
        Ok(TypedExpr::new(TExpr::Case { whens, otherwise }, ty, span))
    }
}

/// DATEADD(DAYS, ...) and its siblings name the unit with a bare word, which would
/// otherwise read as a column.
fn time_unit_word<'e>(def: &FunctionDef, i: usize, a: &'e ast::Expr) -> Option<&'e str> {
    let ExprKind::Column {
        qualifier: None,
        name,
    } = &a.kind
    else {
        return None;
    };
    let word = name.name.as_str();
    (def.time_unit_first
        && i == 0
        && functions::time::TIME_UNITS
            .iter()
            .any(|(u, _)| *u == word || u.trim_end_matches('S') == word))
    .then_some(word)
}

/// `e` as bound: a string literal compared with ROWTIME, WINDOWSTART or WINDOWEND (one of
/// `others`) is the time it spells, in milliseconds, as ksqlDB reads it.
fn time_text<'e>(e: &'e ast::Expr, others: &[ast::Expr]) -> Result<Cow<'e, ast::Expr>> {
    use super::magic_timestamp::{is_time_column, string_literal, to_millis_literal};
    if string_literal(e).is_some() && others.iter().any(is_time_column) {
        return Ok(Cow::Owned(to_millis_literal(e)?));
    }
    Ok(Cow::Borrowed(e))
}

pub fn expect_boolean(e: &TypedExpr, context: &str) -> Result<()> {
    if matches!(e.ty, SqlType::Boolean | SqlType::Null) {
        return Ok(());
    }
    Err(Diagnostic::new(
        Code::TypeMismatch,
        format!("{context} needs a BOOLEAN condition, but this is {}", e.ty),
    )
    .label(e.span, format!("this is {}", e.ty))
    .help("write a comparison, e.g. temp > 30"))
}

fn literal(l: &Literal, span: Span) -> Result<TypedExpr> {
    let (v, ty) = match l {
        Literal::Null => (Value::Null, SqlType::Null),
        Literal::Boolean(b) => (Value::Boolean(*b), SqlType::Boolean),
        Literal::Integer(i) => match i32::try_from(*i) {
            Ok(small) => (Value::Int(small), SqlType::Int),
            Err(_) => (Value::Bigint(*i), SqlType::Bigint),
        },
        // kql types literals with a decimal point as DOUBLE (see docs/language.md)
        Literal::Decimal(text) => match text.parse::<f64>() {
            Ok(d) if d.is_infinite() => {
                return Err(Diagnostic::new(
                    Code::InvalidLiteral,
                    format!("the number {text} overflows DOUBLE"),
                )
                .label(span, "beyond DOUBLE's range (about 1.8E308)"))
            }
            Ok(d) => (Value::Double(d), SqlType::Double),
            Err(_) => {
                return Err(Diagnostic::new(
                    Code::InvalidLiteral,
                    format!("{text} is not a number"),
                )
                .label(span, "invalid number"))
            }
        },
        Literal::String(s) => (Value::string(s), SqlType::String),
    };
    Ok(TypedExpr::new(TExpr::Literal(v), ty, span))
}

/// A constructor whose items are all bare NULLs has no type to take.
fn all_null(what: &str, items: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        format!("cannot construct {what} whose {items} are all NULL"),
    )
    .label(span, format!("no {items} with a type"))
    .help("CAST a NULL to the type wanted, e.g. CAST(NULL AS INT)")
}

fn mismatch_compare(l: &TypedExpr, r: &TypedExpr) -> Diagnostic {
    let mut d = Diagnostic::new(
        Code::TypeMismatch,
        format!("cannot compare {} with {}", l.ty, r.ty),
    )
    .label(r.span, format!("this is {}", r.ty))
    .label(l.span, format!("this is {}", l.ty));
    d = if l.ty.is_numeric() && r.ty == SqlType::String {
        d.help("compare with a number, e.g. temp > 30.5; or CAST the column: CAST(temp AS STRING) = '30.5'")
    } else if r.ty.is_numeric() && l.ty == SqlType::String {
        d.help("compare with a string, e.g. name = '42'; or CAST it: CAST(name AS INT) = 42")
    } else {
        d.help(format!(
            "CAST one side so both are the same type, e.g. CAST(x AS {})",
            l.ty
        ))
    };
    d
}

fn binary(op: BinaryOp, l: TypedExpr, r: TypedExpr, span: Span) -> Result<TypedExpr> {
    let boxed = |a: TypedExpr| Box::new(a);
    match op {
        BinaryOp::And | BinaryOp::Or => {
            expect_boolean(&l, op.symbol())?;
            expect_boolean(&r, op.symbol())?;
            let kind = if op == BinaryOp::And {
                TExpr::And(boxed(l), boxed(r))
            } else {
                TExpr::Or(boxed(l), boxed(r))
            };
            Ok(TypedExpr::new(kind, SqlType::Boolean, span))
        }
        _ if op.is_comparison() => {
            // As in ksqlDB: a bare NULL has no type to compare as (IS NULL asks for NULL).
            if let Some(null) = [&l, &r].into_iter().find(|x| x.ty == SqlType::Null) {
                return Err(Diagnostic::new(
                    Code::TypeMismatch,
                    format!("comparison with NULL is not supported ({})", op.symbol()),
                )
                .label(null.span, "a bare NULL")
                .help("test for NULL with IS NULL or IS NOT NULL, or CAST the NULL: CAST(NULL AS INT)"));
            }
            let ty = comparable(&l.ty, &r.ty).ok_or_else(|| mismatch_compare(&l, &r))?;
            let cmp = match op {
                BinaryOp::Eq => CmpOp::Eq,
                BinaryOp::NotEq => CmpOp::NotEq,
                BinaryOp::Lt => CmpOp::Lt,
                BinaryOp::LtEq => CmpOp::LtEq,
                BinaryOp::Gt => CmpOp::Gt,
                BinaryOp::Distinct => CmpOp::Distinct,
                BinaryOp::NotDistinct => CmpOp::NotDistinct,
                _ => CmpOp::GtEq,
            };
            let equality = matches!(
                cmp,
                CmpOp::Eq | CmpOp::NotEq | CmpOp::Distinct | CmpOp::NotDistinct
            );
            if !equality
                && matches!(
                    ty,
                    SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_)
                )
            {
                return Err(Diagnostic::new(
                    Code::TypeMismatch,
                    format!("cannot compare {} to {} with {}", l.ty, r.ty, op.symbol()),
                )
                .label(l.span, format!("this is {}", l.ty))
                .label(r.span, format!("this is {}", r.ty))
                .help("arrays, maps and structs have no order: compare them with =, <> or IS [NOT] DISTINCT FROM, or compare their elements"));
            }
            Ok(TypedExpr::new(
                TExpr::Compare(cmp, boxed(l.cast_to(&ty)), boxed(r.cast_to(&ty))),
                SqlType::Boolean,
                span,
            ))
        }
        BinaryOp::Concat => {
            for x in [&l, &r] {
                if !matches!(x.ty, SqlType::String | SqlType::Null) {
                    return Err(Diagnostic::new(
                        Code::TypeMismatch,
                        format!("|| joins strings, not {}", x.ty),
                    )
                    .label(x.span, format!("this is {}", x.ty))
                    .help("CAST it to a string: CAST(x AS STRING)"));
                }
            }
            Ok(TypedExpr::new(
                TExpr::Concat(boxed(l), boxed(r)),
                SqlType::String,
                span,
            ))
        }
        _ => {
            let arith = match op {
                BinaryOp::Add => ArithOp::Add,
                BinaryOp::Sub => ArithOp::Sub,
                BinaryOp::Mul => ArithOp::Mul,
                BinaryOp::Div => ArithOp::Div,
                _ => ArithOp::Rem,
            };
            // ksqlDB lets + join two strings
            if arith == ArithOp::Add && l.ty == SqlType::String && r.ty == SqlType::String {
                return Ok(TypedExpr::new(
                    TExpr::Concat(boxed(l), boxed(r)),
                    SqlType::String,
                    span,
                ));
            }
            let ty = match (&l.ty, &r.ty) {
                (SqlType::Null, SqlType::Null) => Some(SqlType::Int),
                (SqlType::Null, t) | (t, SqlType::Null) if t.is_numeric() => Some(t.clone()),
                (a, b) => SqlType::common_numeric(a, b),
            };
            let Some(ty) = ty else {
                let bad = if l.ty.is_numeric() { &r } else { &l };
                return Err(Diagnostic::new(Code::TypeMismatch, format!("cannot apply {} to {} and {}", op.symbol(), l.ty, r.ty))
                    .label(bad.span, format!("this is {}", bad.ty))
                    .help("arithmetic needs numbers; CAST a string that holds a number: CAST(x AS DOUBLE)"));
            };
            // a product or quotient of two decimals has its own type (ksqlDB's); its
            // operands keep theirs
            let decimals = match (arith, &l.ty, &r.ty) {
                (ArithOp::Mul, a @ SqlType::Decimal { .. }, b @ SqlType::Decimal { .. }) => {
                    Some(SqlType::decimal_product(a, b))
                }
                (ArithOp::Div, a @ SqlType::Decimal { .. }, b @ SqlType::Decimal { .. }) => {
                    Some(SqlType::decimal_quotient(a, b))
                }
                _ => None,
            };
            if let Some(result) = decimals {
                return Ok(TypedExpr::new(
                    TExpr::Arith(arith, boxed(l), boxed(r)),
                    result,
                    span,
                ));
            }
            Ok(TypedExpr::new(
                TExpr::Arith(arith, boxed(l.cast_to(&ty)), boxed(r.cast_to(&ty))),
                ty,
                span,
            ))
        }
    }
}

/// The type two sides of a comparison are compared as.
fn comparable(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    match (a, b) {
        (SqlType::Timestamp, SqlType::String) | (SqlType::String, SqlType::Timestamp) => {
            Some(SqlType::Timestamp)
        }
        (SqlType::Timestamp, SqlType::Bigint | SqlType::Int)
        | (SqlType::Bigint | SqlType::Int, SqlType::Timestamp) => Some(SqlType::Timestamp),
        _ => unify(a, b),
    }
}

/// Can CAST turn a value of type `from` into `to`? Arrays and maps cast element by
/// element, structs field by field (by name); text becomes no collection.
fn castable(from: &SqlType, to: &SqlType) -> bool {
    use SqlType as T;
    match (from, to) {
        (a, b) if a == b => true,
        (T::Null, _) => true,
        (a, b) if a.is_numeric() && b.is_numeric() => true,
        (T::String, T::Array(_) | T::Map(..) | T::Struct(_)) => false,
        (T::String, _) | (_, T::String) => true,
        (T::Timestamp, T::Bigint | T::Date | T::Time)
        | (T::Bigint, T::Timestamp)
        | (T::Date, T::Timestamp) => true,
        (T::Array(a), T::Array(b)) => castable(a, b),
        (T::Map(ka, va), T::Map(kb, vb)) => castable(ka, kb) && castable(va, vb),
        (T::Struct(a), T::Struct(b)) => b.iter().all(|(name, tb)| {
            a.iter()
                .find(|(n, _)| n == name)
                .is_none_or(|(_, ta)| castable(ta, tb))
        }),
        _ => false,
    }
}

fn check_cast(inner: &TypedExpr, target: &SqlType, span: Span) -> Result<()> {
    if castable(&inner.ty, target) {
        Ok(())
    } else {
        Err(Diagnostic::new(
            Code::TypeMismatch,
            format!("cannot CAST a {} to {target}", inner.ty),
        )
        .label(span, "unsupported conversion")
        .label(inner.span, format!("this is {}", inner.ty)))
    }
}

/// An AST type to a SQL type (a type declared with CREATE TYPE is unknown here: see
/// `resolve_type_in`).
pub fn resolve_type(t: &ast::TypeExpr) -> Result<SqlType> {
    resolve_type_in(t, None)
}

/// An AST type to a SQL type, the names declared with CREATE TYPE taken from `catalog`.
pub fn resolve_type_in(t: &ast::TypeExpr, catalog: Option<&super::Catalog>) -> Result<SqlType> {
    use ast::TypeKind as K;
    let resolve_type = |t: &ast::TypeExpr| resolve_type_in(t, catalog);
    Ok(match &t.kind {
        K::Named(name) => match catalog.and_then(|c| c.type_named(&name.name)) {
            Some(ty) => ty.clone(),
            None => {
                let d = Diagnostic::new(
                    Code::TypeMismatch,
                    format!("there is no type named {}", name.name),
                )
                .label(name.span, "unknown type");
                return Err(match catalog {
                    Some(c) => match super::catalog::did_you_mean(
                        &name.name,
                        c.types().map(|(n, _)| n),
                    ) {
                        Some(s) => d.help(format!("did you mean {s}?")),
                        None => d.help(format!(
                            "declare it first: CREATE TYPE {} AS STRUCT<...>; or use a built-in type such as VARCHAR, INT, BIGINT, DOUBLE",
                            name.name
                        )),
                    },
                    None => d.help(
                        "here only built-in types are known (VARCHAR, INT, BIGINT, DOUBLE, ARRAY<T>, STRUCT<...>, ...); types declared with CREATE TYPE name the types of columns",
                    ),
                });
            }
        },
        K::Boolean => SqlType::Boolean,
        K::Int => SqlType::Int,
        K::Bigint => SqlType::Bigint,
        K::Double => SqlType::Double,
        K::Decimal { precision, scale } => {
            if *precision == 0 || *precision > 38 || scale > precision {
                return Err(Diagnostic::new(Code::InvalidLiteral, format!("DECIMAL({precision}, {scale}) is not a valid decimal type"))
                    .label(t.span, "invalid precision or scale")
                    .help("precision must be 1 to 38 and scale at most the precision, e.g. DECIMAL(10, 2)"));
            }
            SqlType::Decimal {
                precision: *precision,
                scale: *scale,
            }
        }
        K::String => SqlType::String,
        K::Bytes => SqlType::Bytes,
        K::Timestamp => SqlType::Timestamp,
        K::Date => SqlType::Date,
        K::Time => SqlType::Time,
        K::Array(inner) => SqlType::Array(Box::new(resolve_type(inner)?)),
        K::Map(k, v) => {
            let kt = resolve_type(k)?;
            if kt != SqlType::String {
                return Err(Diagnostic::new(
                    Code::TypeMismatch,
                    format!("map keys must be STRING, not {kt}"),
                )
                .label(k.span, "unsupported key type")
                .help("declare it as MAP<VARCHAR, ...>"));
            }
            SqlType::Map(Box::new(kt), Box::new(resolve_type(v)?))
        }
        K::Struct(fields) => SqlType::Struct(
            fields
                .iter()
                .map(|(n, ty)| Ok((n.name.clone(), resolve_type(ty)?)))
                .collect::<Result<Vec<_>>>()?,
        ),
    })
}

/// A decimal value from text, for CAST and JSON.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    text.parse::<Decimal>().ok()
}
