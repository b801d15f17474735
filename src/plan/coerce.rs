//! One type for the items of a list, as ksqlDB gives them: the elements of `ARRAY[...]`,
//! the keys and the values of `MAP(...)`, and a value with its `IN (...)` list.
//!
//! The items are taken in order, the first one that is not a bare NULL giving the type so
//! far. Each next item either has that type, widens it (numbers; a struct gains the fields
//! it lacks, which are NULL in the items without them), or is a literal that converts to
//! it: a string literal that spells a number or a boolean, or any literal where the type
//! is text. Constructors inside the list are taken apart, so `ARRAY['1', '2']` in a list of
//! `ARRAY<BIGINT>` is `ARRAY[1, 2]`. A string that does not spell the type is an error when
//! the statement is compiled, not a NULL at run time.

use crate::data::decimal::Rounding;

use super::expr::{parse_decimal, Binder, TExpr, TypedExpr};
use crate::data::{SqlType, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::functions::rules::unify;
use crate::syntax::ast::{self, ExprKind, Literal};

type Result<T> = std::result::Result<T, Diagnostic>;

impl Binder<'_> {
    /// The common type of `items` (already bound as `bound`): `Ok(None)` when an item's
    /// type cannot join the ones before it (`Err((i, ty))` names that item and the type
    /// so far), or when every item is a bare NULL (the type is then `Null`).
    pub(super) fn common_type(
        &self,
        items: &[&ast::Expr],
        bound: &[TypedExpr],
    ) -> Result<std::result::Result<SqlType, (usize, SqlType)>> {
        let mut ty = SqlType::Null;
        for (i, (item, b)) in items.iter().zip(bound).enumerate() {
            match self.fold(&ty, item, &b.ty)? {
                Some(t) => ty = t,
                None => return Ok(Err((i, ty))),
            }
        }
        Ok(Ok(ty))
    }

    /// The type so far (`acc`) joined with an item of type `ty`; None when they do not join.
    fn fold(&self, acc: &SqlType, item: &ast::Expr, ty: &SqlType) -> Result<Option<SqlType>> {
        use SqlType as T;
        if *ty == T::Null {
            return Ok(Some(acc.clone()));
        }
        if *acc == T::Null {
            return Ok(Some(ty.clone()));
        }
        match (&item.kind, acc) {
            (ExprKind::Array(elems), T::Array(t)) => {
                let mut elem_ty = (**t).clone();
                for e in elems {
                    let et = self.bind(e)?.ty;
                    match self.fold(&elem_ty, e, &et)? {
                        Some(next) => elem_ty = next,
                        None => return Ok(None),
                    }
                }
                Ok(Some(T::Array(Box::new(elem_ty))))
            }
            (ExprKind::Map(entries), T::Map(k, v)) => {
                let (mut kt, mut vt) = ((**k).clone(), (**v).clone());
                for (ke, ve) in entries {
                    let (kb, vb) = (self.bind(ke)?.ty, self.bind(ve)?.ty);
                    match (self.fold(&kt, ke, &kb)?, self.fold(&vt, ve, &vb)?) {
                        (Some(a), Some(b)) => (kt, vt) = (a, b),
                        _ => return Ok(None),
                    }
                }
                Ok(Some(T::Map(Box::new(kt), Box::new(vt))))
            }
            (ExprKind::Struct(fields), T::Struct(target)) => {
                let mut out: Vec<(String, SqlType)> = Vec::new();
                for (name, e) in fields {
                    let et = self.bind(e)?.ty;
                    let joined = match target.iter().find(|(n, _)| *n == name.name) {
                        Some((_, t)) => self.fold(t, e, &et)?,
                        None => Some(et),
                    };
                    match joined {
                        Some(t) => out.push((name.name.clone(), t)),
                        None => return Ok(None),
                    }
                }
                for (n, t) in target {
                    if !out.iter().any(|(o, _)| o == n) {
                        out.push((n.clone(), t.clone()));
                    }
                }
                Ok(Some(T::Struct(out)))
            }
            (ExprKind::Literal(Literal::String(text)), t) if t.is_numeric() => {
                let Some(spelled) = numeric_type_of(text) else {
                    return Err(invalid_syntax(text, acc, item));
                };
                Ok(Some(match (&spelled, t) {
                    (T::Double, _) | (_, T::Double) => T::Double,
                    _ => SqlType::common_numeric(&spelled, t).unwrap_or(T::Double),
                }))
            }
            (ExprKind::Literal(Literal::String(text)), T::Boolean) => {
                if parse_boolean(text).is_none() {
                    return Err(invalid_syntax(text, acc, item));
                }
                Ok(Some(T::Boolean))
            }
            (ExprKind::Literal(Literal::String(_)), T::Timestamp | T::Date | T::Time) => {
                Ok(Some(acc.clone()))
            }
            // A literal with a decimal point is exact beside DECIMALs (kql types it DOUBLE
            // otherwise).
            (ExprKind::Literal(Literal::Decimal(_)), T::Decimal { .. }) => Ok(Some(acc.clone())),
            // Any literal reads as text beside strings.
            (ExprKind::Literal(_), T::String) => Ok(Some(T::String)),
            _ => Ok(unify(acc, ty)),
        }
    }

    /// `item` (bound as `bound`) converted to `target`, the list's common type: literals
    /// are converted here, once; constructors are rebuilt with converted parts; anything
    /// else is CAST at run time.
    pub fn convert(
        &self,
        item: &ast::Expr,
        bound: TypedExpr,
        target: &SqlType,
    ) -> Result<TypedExpr> {
        use SqlType as T;
        if bound.ty == *target || bound.ty == T::Null {
            return Ok(bound.cast_to(target));
        }
        let span = bound.span;
        let typed = |kind: TExpr| TypedExpr {
            kind,
            ty: target.clone(),
            span,
        };
        match (&item.kind, target) {
            (ExprKind::Array(elems), T::Array(t)) => {
                let items = elems
                    .iter()
                    .map(|e| self.convert(e, self.bind(e)?, t))
                    .collect::<Result<Vec<_>>>()?;
                Ok(typed(TExpr::MakeArray(items)))
            }
            (ExprKind::Map(entries), T::Map(k, v)) => {
                let items = entries
                    .iter()
                    .map(|(ke, ve)| {
                        Ok((
                            self.convert(ke, self.bind(ke)?, k)?,
                            self.convert(ve, self.bind(ve)?, v)?,
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(typed(TExpr::MakeMap(items)))
            }
            (ExprKind::Struct(fields), T::Struct(target_fields)) => {
                let values = target_fields
                    .iter()
                    .map(
                        |(name, t)| match fields.iter().find(|(n, _)| n.name == *name) {
                            Some((_, e)) => self.convert(e, self.bind(e)?, t),
                            None => Ok(TypedExpr {
                                kind: TExpr::Literal(Value::Null),
                                ty: t.clone(),
                                span,
                            }),
                        },
                    )
                    .collect::<Result<Vec<_>>>()?;
                Ok(typed(TExpr::MakeStruct(values)))
            }
            (ExprKind::Literal(Literal::Decimal(text)), T::Decimal { scale, .. }) => {
                let d = parse_decimal(text).ok_or_else(|| invalid_syntax(text, target, item))?;
                let d = d
                    .rescale(*scale, Rounding::HalfUp)
                    .ok_or_else(|| invalid_syntax(text, target, item))?;
                Ok(typed(TExpr::Literal(Value::Decimal(d))))
            }
            (ExprKind::Literal(Literal::String(text)), t) if t.is_numeric() || *t == T::Boolean => {
                let v = literal_value(text, t).ok_or_else(|| invalid_syntax(text, t, item))?;
                Ok(typed(TExpr::Literal(v)))
            }
            (ExprKind::Literal(l), T::String) => {
                let text = match l {
                    Literal::Null => return Ok(bound.cast_to(target)),
                    Literal::Boolean(b) => b.to_string(),
                    Literal::Integer(i) => i.to_string(),
                    // As written: '10.30', not the DOUBLE's 10.3.
                    Literal::Decimal(text) | Literal::String(text) => text.clone(),
                };
                Ok(typed(TExpr::Literal(Value::string(&text))))
            }
            _ => Ok(bound.cast_to(target)),
        }
    }
}

impl Binder<'_> {
    /// Does `item` (of type `ty`) convert to `want` as a value stored in a column of that
    /// type (INSERT ... VALUES)? Literals convert as in a list; a struct constructor may
    /// leave fields out (they are NULL).
    pub fn converts_to(&self, item: &ast::Expr, ty: &SqlType, want: &SqlType) -> Result<bool> {
        Ok(self
            .fold(want, item, ty)?
            .is_some_and(|joined| same_type(&joined, want)))
    }
}

/// The same type, the fields of structs in any order.
fn same_type(a: &SqlType, b: &SqlType) -> bool {
    use SqlType as T;
    match (a, b) {
        (T::Array(x), T::Array(y)) => same_type(x, y),
        (T::Map(k1, v1), T::Map(k2, v2)) => same_type(k1, k2) && same_type(v1, v2),
        (T::Struct(x), T::Struct(y)) => {
            x.len() == y.len()
                && x.iter().all(|(n, t)| {
                    y.iter()
                        .find(|(m, _)| m == n)
                        .is_some_and(|(_, u)| same_type(t, u))
                })
        }
        _ => a == b,
    }
}

/// The numeric type a string spells, as ksqlDB reads one: a whole number is INT, or
/// BIGINT when it does not fit; a decimal point or an exponent makes a DECIMAL of its
/// digits; None when it is no number.
fn numeric_type_of(text: &str) -> Option<SqlType> {
    let t = text.trim();
    if !t.contains(['.', 'e', 'E']) {
        if let Ok(i) = t.parse::<i64>() {
            return Some(if i32::try_from(i).is_ok() {
                SqlType::Int
            } else {
                SqlType::Bigint
            });
        }
    }
    let d = parse_decimal(t)?;
    let scale = d.scale();
    let digits = d.digits();
    Some(SqlType::Decimal {
        precision: digits.max(scale).max(1),
        scale,
    })
}

/// A string literal as a value of a numeric or boolean type.
fn literal_value(text: &str, ty: &SqlType) -> Option<Value> {
    let t = text.trim();
    let whole = || parse_decimal(t).map(|d| d.trunc());
    Some(match ty {
        SqlType::Int => Value::Int(match t.parse::<i32>() {
            Ok(i) => i,
            Err(_) => whole()?.to_i32()?,
        }),
        SqlType::Bigint => Value::Bigint(match t.parse::<i64>() {
            Ok(i) => i,
            Err(_) => whole()?.to_i64()?,
        }),
        SqlType::Double => Value::Double(t.parse::<f64>().ok()?),
        SqlType::Decimal { scale, .. } => {
            Value::Decimal(parse_decimal(t)?.rescale(*scale, Rounding::HalfUp)?)
        }
        SqlType::Boolean => Value::Boolean(parse_boolean(t)?),
        _ => return None,
    })
}

/// ksqlDB's reading of a string as a boolean: any leading part of "true" or "yes" is
/// TRUE, of "false" or "no" FALSE, whatever the case.
pub fn parse_boolean(text: &str) -> Option<bool> {
    let s = text.to_ascii_lowercase();
    let starts = |word: &str| !s.is_empty() && word.starts_with(s.as_str());
    if starts("true") || starts("yes") {
        Some(true)
    } else if starts("false") || starts("no") {
        Some(false)
    } else {
        None
    }
}

fn invalid_syntax(text: &str, ty: &SqlType, item: &ast::Expr) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidLiteral,
        format!("invalid input syntax for type {ty}: \"{text}\""),
    )
    .label(item.span, format!("this string is no {ty}"))
    .help(format!(
        "beside {ty} values a string must spell one; write the value itself, or CAST the others to STRING"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_spells_the_narrowest_number() {
        assert_eq!(numeric_type_of("10"), Some(SqlType::Int));
        assert_eq!(numeric_type_of("2147483648"), Some(SqlType::Bigint));
        assert_eq!(
            numeric_type_of("10.30"),
            Some(SqlType::Decimal {
                precision: 4,
                scale: 2
            })
        );
        assert_eq!(numeric_type_of("10 - not a number"), None);
    }

    #[test]
    fn strings_read_as_numbers_and_booleans() {
        assert_eq!(literal_value("2e1", &SqlType::Int), Some(Value::Int(20)));
        assert_eq!(
            literal_value("4.000", &SqlType::Bigint),
            Some(Value::Bigint(4))
        );
        assert_eq!(literal_value("x", &SqlType::Int), None);
        assert_eq!(parse_boolean("TrUe"), Some(true));
        assert_eq!(parse_boolean("tr"), Some(true));
        assert_eq!(parse_boolean("Y"), Some(true));
        assert_eq!(parse_boolean("no"), Some(false));
        assert_eq!(parse_boolean("Not a boolean"), None);
        assert_eq!(parse_boolean(""), None);
    }
}
