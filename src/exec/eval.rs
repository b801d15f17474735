//! Evaluates typed expressions over a row. Operands were widened by the planner, so each
//! operator sees values of one type. SQL's three-valued logic for AND, OR and NOT, but a comparison
//! with a NULL side is FALSE, as ksqlDB evaluates it; otherwise NULL in, NULL out, and a
//! filter keeps a row only when its predicate is TRUE. Errors at run time (division by
//! zero, a failed CAST) give NULL, as in ksqlDB.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::data::decimal::{Decimal, Rounding};

use crate::data::value::{format_double, parse_timestamp};
use crate::data::{SqlType, Value};
use crate::functions::{Args, FunctionDef};
use crate::plan::expr::{ArithOp, CmpOp, TExpr, TypedExpr};

pub fn eval(e: &TypedExpr, row: &[Value]) -> Value {
    match &e.kind {
        TExpr::Literal(v) => v.clone(),
        TExpr::Column(i) => row[*i].clone(),
        TExpr::Not(a) => match eval(a, row) {
            Value::Boolean(b) => Value::Boolean(!b),
            _ => Value::Null,
        },
        TExpr::Neg(a) => match eval(a, row) {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            Value::Bigint(i) => Value::Bigint(i.wrapping_neg()),
            Value::Double(d) => Value::Double(-d),
            Value::Decimal(d) => Value::Decimal(-d),
            _ => Value::Null,
        },
        TExpr::And(a, b) => match eval(a, row) {
            Value::Boolean(false) => Value::Boolean(false),
            l => match (l, eval(b, row)) {
                (_, Value::Boolean(false)) => Value::Boolean(false),
                (Value::Boolean(true), Value::Boolean(true)) => Value::Boolean(true),
                _ => Value::Null,
            },
        },
        TExpr::Or(a, b) => match eval(a, row) {
            Value::Boolean(true) => Value::Boolean(true),
            l => match (l, eval(b, row)) {
                (_, Value::Boolean(true)) => Value::Boolean(true),
                (Value::Boolean(false), Value::Boolean(false)) => Value::Boolean(false),
                _ => Value::Null,
            },
        },
        TExpr::Compare(op, a, b) => Value::Boolean(compared(*op, a, b, row)),
        TExpr::Arith(op, a, b) => {
            let (l, r) = (eval(a, row), eval(b, row));
            if l.is_null() || r.is_null() {
                lambda_fault::arith_on_null();
            }
            let div_scale = match e.ty {
                SqlType::Decimal { scale, .. } => scale,
                _ => 0,
            };
            arith(*op, l, r, div_scale)
        }
        TExpr::Concat(a, b) => match (eval(a, row), eval(b, row)) {
            (Value::String(x), Value::String(y)) => Value::String(Arc::from(format!("{x}{y}"))),
            _ => Value::Null,
        },
        TExpr::Call { func, args, types } => call(func, args, types, &e.ty, row),
        TExpr::Case { whens, otherwise } => {
            for (w, t) in whens {
                if let Value::Boolean(true) = eval(w, row) {
                    return eval(t, row);
                }
            }
            otherwise.as_ref().map_or(Value::Null, |o| eval(o, row))
        }
        TExpr::Cast(a) => cast_from(eval(a, row), &a.ty, &e.ty),
        TExpr::IsNull(a, negated) => Value::Boolean(eval(a, row).is_null() != *negated),
        TExpr::Like(a, p, negated, escape) => match (eval(a, row), eval(p, row)) {
            (Value::String(s), Value::String(p)) => {
                Value::Boolean(like(&s, &p, *escape) != *negated)
            }
            _ => Value::Null,
        },
        TExpr::InList(a, list, negated) => {
            let v = eval(a, row);
            if v.is_null() {
                return Value::Null;
            }
            let mut saw_null = false;
            for item in list {
                let x = eval(item, row);
                match v.sql_eq(&x) {
                    Some(true) => return Value::Boolean(!negated),
                    None => saw_null = true,
                    Some(false) => {}
                }
            }
            if saw_null {
                Value::Null
            } else {
                Value::Boolean(*negated)
            }
        }
        TExpr::Between(a, lo, hi, negated) => {
            let (v, l, h) = (eval(a, row), eval(lo, row), eval(hi, row));
            match (v.sql_cmp(&l), v.sql_cmp(&h)) {
                (Some(x), Some(y)) => {
                    Value::Boolean((x != Ordering::Less && y != Ordering::Greater) != *negated)
                }
                _ => Value::Null,
            }
        }
        TExpr::Field(a, i) => match eval(a, row) {
            Value::Struct(fields) => fields.get(*i).cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        },
        TExpr::Subscript(a, idx) => match (eval(a, row), eval(idx, row)) {
            (Value::Array(items), i) => {
                // ksqlDB arrays start at 1; negative positions count from the end.
                let Some(i) = i.as_i64() else {
                    return Value::Null;
                };
                let n = items.len() as i64;
                let pos = if i > 0 { i - 1 } else { n + i };
                if (0..n).contains(&pos) {
                    items[pos as usize].clone()
                } else {
                    Value::Null
                }
            }
            (Value::Map(entries), k) => entries
                .iter()
                .find(|(ek, _)| *ek == k)
                .map_or(Value::Null, |(_, v)| v.clone()),
            _ => Value::Null,
        },
        TExpr::MakeArray(items) => {
            Value::Array(Arc::new(items.iter().map(|i| eval(i, row)).collect()))
        }
        TExpr::MakeMap(entries) => Value::Map(Arc::new(
            entries
                .iter()
                .map(|(k, v)| (eval(k, row), eval(v, row)))
                .collect(),
        )),
        // A lambda is evaluated by the function it is given to (see `call`).
        TExpr::Lambda { .. } => Value::Null,
        TExpr::MakeStruct(fields) => {
            Value::Struct(Arc::new(fields.iter().map(|f| eval(f, row)).collect()))
        }
    }
}

/// Arguments of up to this many are evaluated into an array on the stack, so a call
/// allocates nothing unless its function does.
const INLINE_ARGS: usize = 4;

fn call(
    func: &FunctionDef,
    args: &[TypedExpr],
    types: &[SqlType],
    ty: &SqlType,
    row: &[Value],
) -> Value {
    if let Some(lambda) = &func.lambda {
        let values: Vec<Value> = args.iter().map(|a| eval(a, row)).collect();
        let apply = |i: usize, params: &[Value]| apply_lambda(&args[i], params, row);
        let (result, faulted) = lambda_fault::watch(|| {
            (lambda.eval)(
                &Args {
                    values: &values,
                    types,
                    ty,
                },
                &apply,
            )
        });
        return if faulted { Value::Null } else { result };
    }
    if args.len() <= INLINE_ARGS {
        let mut values: [Value; INLINE_ARGS] = Default::default();
        for (slot, a) in values.iter_mut().zip(args) {
            *slot = eval(a, row);
        }
        let values = &values[..args.len()];
        func.call(&Args { values, types, ty })
    } else {
        let values: Vec<Value> = args.iter().map(|a| eval(a, row)).collect();
        func.call(&Args {
            values: &values,
            types,
            ty,
        })
    }
}

/// Arithmetic on a NULL inside a lambda fails the whole call, as in ksqlDB (whose
/// lambdas are compiled Java that cannot add to a null): TRANSFORM(xs, x => x + 5) over
/// [5, NULL] is NULL, not [10, NULL]. Elsewhere such arithmetic is NULL. Only a NULL
/// operand reaches the thread-local state, so arithmetic on values pays nothing.
mod lambda_fault {
    use std::cell::Cell;

    thread_local! {
        /// (lambda calls being evaluated, whether arithmetic met a NULL inside one)
        static STATE: Cell<(u32, bool)> = const { Cell::new((0, false)) };
    }

    pub fn arith_on_null() {
        STATE.with(|s| {
            let (depth, _) = s.get();
            if depth > 0 {
                s.set((depth, true));
            }
        });
    }

    /// Runs a lambda function's evaluation; also says whether it faulted.
    pub fn watch<T>(f: impl FnOnce() -> T) -> (T, bool) {
        let outer = STATE.with(|s| {
            let before = s.get();
            s.set((before.0 + 1, false));
            before
        });
        let out = f();
        let faulted = STATE.with(|s| {
            let (_, faulted) = s.get();
            // A fault inside a nested call is that call's; the outer one goes on.
            s.set(outer);
            faulted
        });
        (out, faulted)
    }
}

/// A lambda's body on the row with the parameters after its columns.
fn apply_lambda(lambda: &TypedExpr, params: &[Value], row: &[Value]) -> Value {
    let TExpr::Lambda { base, body } = &lambda.kind else {
        return Value::Null;
    };
    let mut scope = Vec::with_capacity(base + params.len());
    scope.extend_from_slice(&row[..(*base).min(row.len())]);
    scope.resize(*base, Value::Null);
    scope.extend_from_slice(params);
    eval(body, &scope)
}

/// Is the predicate TRUE for this row? (NULL and FALSE both drop it.)
pub fn is_true(e: &TypedExpr, row: &[Value]) -> bool {
    match &e.kind {
        // (the common WHERE: its sides are compared where they are, not copied out)
        TExpr::Compare(op, a, b) => compared(*op, a, b, row),
        _ => matches!(eval(e, row), Value::Boolean(true)),
    }
}

/// Calls `f` with the value of `e`: a column's or a literal's where it is, any other
/// expression's evaluated.
#[inline(always)]
pub(crate) fn with_ref<R>(e: &TypedExpr, row: &[Value], f: impl FnOnce(&Value) -> R) -> R {
    match &e.kind {
        TExpr::Column(i) => f(&row[*i]),
        TExpr::Literal(v) => f(v),
        _ => f(&eval(e, row)),
    }
}

/// The comparison `a op b` of the row, its sides read where they are (`with_ref`). A
/// comparison with a NULL side is FALSE, not NULL, as ksqlDB evaluates it (so NOT (x = 1)
/// keeps a row whose x is NULL); IS [NOT] DISTINCT FROM is NULL-safe: two NULLs are not
/// distinct, one NULL is.
fn compared(op: CmpOp, a: &TypedExpr, b: &TypedExpr, row: &[Value]) -> bool {
    with_ref(a, row, |l| with_ref(b, row, |r| compare_values(op, l, r)))
}

fn compare_values(op: CmpOp, l: &Value, r: &Value) -> bool {
    match op {
        CmpOp::Eq | CmpOp::NotEq => l.sql_eq(r).is_some_and(|eq| eq == (op == CmpOp::Eq)),
        CmpOp::Distinct | CmpOp::NotDistinct => {
            let same = l.sql_eq(r).unwrap_or(l.is_null() && r.is_null());
            same == (op == CmpOp::NotDistinct)
        }
        _ => l.sql_cmp(r).is_some_and(|ord| compare(op, ord)),
    }
}

fn compare(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq | CmpOp::NotDistinct => ord == Ordering::Equal,
        CmpOp::NotEq | CmpOp::Distinct => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::LtEq => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::GtEq => ord != Ordering::Less,
    }
}

/// `div_scale`: the digits after the point of a decimal quotient (its type's scale).
fn arith(op: ArithOp, l: Value, r: Value, div_scale: u32) -> Value {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => match op {
            ArithOp::Add => Value::Int(a.wrapping_add(b)),
            ArithOp::Sub => Value::Int(a.wrapping_sub(b)),
            ArithOp::Mul => Value::Int(a.wrapping_mul(b)),
            ArithOp::Div => a.checked_div(b).map_or(Value::Null, Value::Int),
            ArithOp::Rem => a.checked_rem(b).map_or(Value::Null, Value::Int),
        },
        (Value::Bigint(a), Value::Bigint(b)) => match op {
            ArithOp::Add => Value::Bigint(a.wrapping_add(b)),
            ArithOp::Sub => Value::Bigint(a.wrapping_sub(b)),
            ArithOp::Mul => Value::Bigint(a.wrapping_mul(b)),
            ArithOp::Div => a.checked_div(b).map_or(Value::Null, Value::Bigint),
            ArithOp::Rem => a.checked_rem(b).map_or(Value::Null, Value::Bigint),
        },
        (Value::Double(a), Value::Double(b)) => Value::Double(match op {
            ArithOp::Add => a + b,
            ArithOp::Sub => a - b,
            ArithOp::Mul => a * b,
            ArithOp::Div => a / b,
            ArithOp::Rem => a % b,
        }),
        (Value::Decimal(a), Value::Decimal(b)) => match op {
            ArithOp::Add => a.checked_add(b),
            ArithOp::Sub => a.checked_sub(b),
            ArithOp::Mul => a.checked_mul(b),
            ArithOp::Div => a.checked_div_to(b, div_scale),
            ArithOp::Rem => a.checked_rem(b),
        }
        .map_or(Value::Null, Value::Decimal),
        _ => Value::Null,
    }
}

/// One element of a LIKE pattern.
#[derive(Clone, Copy, PartialEq)]
enum Pat {
    AnyRun,
    AnyOne,
    Char(char),
}

/// SQL LIKE: `%` any run, `_` one character; after the escape character, either is
/// itself. Case-sensitive, as in ksqlDB.
pub fn like(s: &str, pattern: &str, escape: Option<char>) -> bool {
    let s: Vec<char> = s.chars().collect();
    let mut p: Vec<Pat> = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        p.push(match c {
            c if Some(c) == escape => Pat::Char(chars.next().unwrap_or(c)),
            '%' => Pat::AnyRun,
            '_' => Pat::AnyOne,
            c => Pat::Char(c),
        });
    }
    let (mut si, mut pi) = (0, 0);
    let (mut star_p, mut star_s) = (None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == Pat::AnyOne || p[pi] == Pat::Char(s[si])) {
            si += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == Pat::AnyRun {
            star_p = Some(pi);
            star_s = si;
            pi += 1;
        } else if let Some(sp) = star_p {
            pi = sp + 1;
            star_s += 1;
            si = star_s;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == Pat::AnyRun {
        pi += 1;
    }
    pi == p.len()
}

/// Converts a value of type `from` to a type; NULL when it cannot. Structs are matched by
/// field name (a field the value lacks is NULL), which needs the value's own type.
pub fn cast_from(v: Value, from: &SqlType, ty: &SqlType) -> Value {
    use SqlType as T;
    match (v, from, ty) {
        (Value::Struct(values), T::Struct(from_fields), T::Struct(to_fields)) => {
            Value::Struct(Arc::new(
                to_fields
                    .iter()
                    .map(|(name, t)| {
                        from_fields
                            .iter()
                            .position(|(n, _)| n == name)
                            .map_or(Value::Null, |i| {
                                let v = values.get(i).cloned().unwrap_or(Value::Null);
                                cast_from(v, &from_fields[i].1, t)
                            })
                    })
                    .collect(),
            ))
        }
        (Value::Struct(values), T::Struct(from_fields), T::String) => {
            Value::String(Arc::from(struct_text(&values, from_fields)))
        }
        (Value::Array(items), T::Array(from_item), T::Array(to_item)) => Value::Array(Arc::new(
            items
                .iter()
                .map(|i| cast_from(i.clone(), from_item, to_item))
                .collect(),
        )),
        (Value::Map(entries), T::Map(fk, fv), T::Map(tk, tv)) => Value::Map(Arc::new(
            entries
                .iter()
                .map(|(k, v)| (cast_from(k.clone(), fk, tk), cast_from(v.clone(), fv, tv)))
                .collect(),
        )),
        (v, _, ty) => cast(v, ty),
    }
}

/// A struct as text, the way ksqlDB prints one: `Struct{A=1,B=x}`, NULL fields left out.
fn struct_text(values: &[Value], fields: &[(String, SqlType)]) -> String {
    let shown: Vec<String> = fields
        .iter()
        .zip(values)
        .filter(|(_, v)| !v.is_null())
        .map(|((name, t), v)| match (v, t) {
            (Value::Struct(inner), SqlType::Struct(inner_fields)) => {
                format!("{name}={}", struct_text(inner, inner_fields))
            }
            (v, _) => format!("{name}={}", to_text(v)),
        })
        .collect();
    format!("Struct{{{}}}", shown.join(","))
}

/// Converts a value to a type; NULL when it cannot.
pub fn cast(v: Value, ty: &SqlType) -> Value {
    use SqlType as T;
    match (v, ty) {
        (Value::Null, _) => Value::Null,
        (Value::String(s), t) => parse_as(s.trim(), t),
        (v, T::String) => Value::String(Arc::from(to_text(&v))),
        (Value::Int(i), T::Int) => Value::Int(i),
        (v @ (Value::Int(_) | Value::Bigint(_) | Value::Timestamp(_)), T::Bigint) => {
            Value::Bigint(v.as_i64().unwrap())
        }
        (Value::Int(i), T::Double) => Value::Double(i as f64),
        (Value::Bigint(i), T::Double) => Value::Double(i as f64),
        // Narrowing keeps the low 32 bits, as ksqlDB (Java) does: 2147483648 is -2147483648.
        (Value::Bigint(i), T::Int) => Value::Int(i as i32),
        (Value::Double(d), T::Int) => {
            if d.is_finite() {
                Value::Int(d.trunc() as i32)
            } else {
                Value::Null
            }
        }
        (Value::Double(d), T::Bigint) => {
            if d.is_finite() {
                Value::Bigint(d.trunc() as i64)
            } else {
                Value::Null
            }
        }
        (Value::Double(d), T::Double) => Value::Double(d),
        (Value::Decimal(d), T::Double) => Value::Double(d.to_f64()),
        (Value::Decimal(d), T::Int) => d.to_i32().map_or(Value::Null, Value::Int),
        (Value::Decimal(d), T::Bigint) => d.to_i64().map_or(Value::Null, Value::Bigint),
        (v, T::Decimal { scale, .. }) => {
            let d = match v {
                Value::Int(i) => Some(Decimal::from(i)),
                Value::Bigint(i) => Some(Decimal::from(i)),
                Value::Double(f) => Decimal::from_f64(f),
                Value::Decimal(d) => Some(d),
                _ => None,
            };
            d.and_then(|d| d.rescale(*scale, Rounding::HalfUp))
                .map_or(Value::Null, Value::Decimal)
        }
        (Value::Bigint(ms), T::Timestamp) => Value::Timestamp(ms),
        (Value::Timestamp(ms), T::Timestamp) => Value::Timestamp(ms),
        // A timestamp whose day does not fit a DATE is NULL rather than a wrapped date.
        (Value::Timestamp(ms), T::Date) => {
            i32::try_from(ms.div_euclid(86_400_000)).map_or(Value::Null, Value::Date)
        }
        (Value::Timestamp(ms), T::Time) => Value::Time(ms.rem_euclid(86_400_000) as i32),
        (Value::Date(d), T::Timestamp) => Value::Timestamp(d as i64 * 86_400_000),
        (Value::Array(items), T::Array(inner)) => Value::Array(Arc::new(
            items.iter().map(|i| cast(i.clone(), inner)).collect(),
        )),
        (v, _) if value_has_type(&v, ty) => v,
        _ => Value::Null,
    }
}

fn value_has_type(v: &Value, ty: &SqlType) -> bool {
    matches!(
        (v, ty),
        (Value::Boolean(_), SqlType::Boolean)
            | (Value::Bytes(_), SqlType::Bytes)
            | (Value::Map(..), SqlType::Map(..))
            | (Value::Struct(_), SqlType::Struct(_))
            | (Value::Date(_), SqlType::Date)
            | (Value::Time(_), SqlType::Time)
    )
}

/// A value as text, as CAST(x AS STRING) gives it.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Double(d) => format_double(*d),
        other => other.to_string(),
    }
}

/// Text to a typed value: for CAST from STRING and for INSERT of strings into time columns.
pub fn parse_as(s: &str, ty: &SqlType) -> Value {
    use SqlType as T;
    match ty {
        T::String => Value::string(s),
        T::Int => s.parse().map_or(Value::Null, Value::Int),
        T::Bigint => s.parse().map_or(Value::Null, Value::Bigint),
        // "Infinity" and "NaN" as Java spells them, but a number out of range is no DOUBLE
        T::Double => match s.parse::<f64>() {
            Ok(d) if d.is_finite() || s.to_ascii_lowercase().contains("inf") => Value::Double(d),
            Ok(d) if d.is_nan() => Value::Double(d),
            _ => Value::Null,
        },
        T::Decimal { scale, .. } => crate::plan::expr::parse_decimal(s)
            .and_then(|d| d.rescale(*scale, Rounding::HalfUp))
            .map_or(Value::Null, Value::Decimal),
        T::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "t" | "y" => Value::Boolean(true),
            "false" | "no" | "f" | "n" => Value::Boolean(false),
            _ => Value::Null,
        },
        T::Timestamp => parse_timestamp(s).map_or(Value::Null, Value::Timestamp),
        T::Date => parse_timestamp(s)
            .and_then(|ms| i32::try_from(ms.div_euclid(86_400_000)).ok())
            .map_or(Value::Null, Value::Date),
        T::Time => parse_time_of_day(s).map_or(Value::Null, Value::Time),
        _ => Value::Null,
    }
}

/// `HH:mm[:ss[.fraction]]` to milliseconds since midnight.
fn parse_time_of_day(s: &str) -> Option<i32> {
    let mut parts = s.trim().split(':');
    let hours: i32 = parts.next()?.parse().ok()?;
    let minutes: i32 = parts.next()?.parse().ok()?;
    let seconds = parts.next().unwrap_or("0");
    if parts.next().is_some() || !(0..24).contains(&hours) || !(0..60).contains(&minutes) {
        return None;
    }
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let whole: i32 = whole.parse().ok()?;
    if !(0..60).contains(&whole) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: i32 = format!("{fraction:0<3}")[..3].parse().ok()?;
    Some(((hours * 60 + minutes) * 60 + whole) * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_text_is_read_as_milliseconds_of_the_day() {
        assert_eq!(
            parse_as("09:16:00", &SqlType::Time),
            Value::Time(33_360_000)
        );
        assert_eq!(parse_as("00:00:01.5", &SqlType::Time), Value::Time(1_500));
        assert_eq!(parse_as("23:59", &SqlType::Time), Value::Time(86_340_000));
        assert_eq!(parse_as("24:00:00", &SqlType::Time), Value::Null);
        assert_eq!(parse_as("9h", &SqlType::Time), Value::Null);
    }

    #[test]
    fn like_matches_sql_wildcards() {
        assert!(like("sensor-1", "sensor%", None));
        assert!(like("abc", "a_c", None));
        assert!(like("abc", "%", None));
        assert!(!like("abc", "a_", None));
        assert!(like("a%b", "a%b", None));
        assert!(!like("xabc", "abc%", None));
        // ESCAPE: the character after it is itself
        assert!(like("%", "!%", Some('!')));
        assert!(!like("x", "!%", Some('!')));
        assert!(like("50% off", "50!%%", Some('!')));
        assert!(like("a_b", "a!_b", Some('!')));
        assert!(!like("axb", "a!_b", Some('!')));
    }

    #[test]
    fn casts_follow_ksqldb() {
        assert_eq!(cast(Value::Double(3.9), &SqlType::Int), Value::Int(3));
        assert_eq!(
            cast(Value::string("42"), &SqlType::Bigint),
            Value::Bigint(42)
        );
        assert_eq!(cast(Value::string("x"), &SqlType::Int), Value::Null);
        assert_eq!(
            cast(Value::Double(30.0), &SqlType::String),
            Value::string("30.0")
        );
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20.000"),
            Some(1_700_000_000_000)
        );
    }

    #[test]
    fn a_timestamp_whose_day_does_not_fit_a_date_casts_to_null() {
        assert_eq!(
            cast(Value::Timestamp(86_400_000), &SqlType::Date),
            Value::Date(1)
        );
        assert_eq!(
            cast(Value::Timestamp(i64::MAX), &SqlType::Date),
            Value::Null
        );
        assert_eq!(
            cast(Value::Timestamp(i64::MIN), &SqlType::Date),
            Value::Null
        );
    }
}
