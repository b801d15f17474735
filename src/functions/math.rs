//! Numeric functions. Integers stay integers where ksqlDB keeps them so (ABS, FLOOR,
//! CEIL); the transcendental functions return DOUBLE.

use crate::data::decimal::{Decimal, Rounding};

use std::cmp::Ordering;

use super::rules::{common, integer, numeric, numeric_result, string};
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::{SqlType, Value};

const C: Category = Category::Math;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "ABS",
        C,
        "ABS(x)",
        (1, 1),
        same_number,
        abs,
        "the absolute value",
        "ABS(-2.5) = 2.5",
    ),
    scalar(
        "ROUND",
        C,
        "ROUND(x [, digits])",
        (1, 2),
        round_type,
        |a| round(a, Cut::HalfUp),
        "rounded half up (towards +infinity) to digits places, which may be negative; ROUND of a DOUBLE without digits is a BIGINT",
        "ROUND(21.456, 1) = 21.5",
    ),
    scalar(
        "TRUNC",
        C,
        "TRUNC(x [, digits])",
        (1, 2),
        round_type,
        |a| round(a, Cut::TowardZero),
        "cut towards zero at digits places, which may be negative; TRUNC of a DOUBLE without digits is a BIGINT",
        "TRUNC(12345.67, -3) = 12000.0",
    ),
    scalar(
        "FLOOR",
        C,
        "FLOOR(x)",
        (1, 1),
        same_number,
        |a| map_num(a.get(0), f64::floor, |d| d.round(0, Rounding::Floor)),
        "the largest whole number not above x",
        "FLOOR(2.7) = 2.0",
    ),
    scalar(
        "CEIL",
        C,
        "CEIL(x)",
        (1, 1),
        same_number,
        |a| map_num(a.get(0), f64::ceil, |d| d.round(0, Rounding::Ceiling)),
        "the smallest whole number not below x",
        "CEIL(2.1) = 3.0",
    ),
    scalar(
        "SQRT",
        C,
        "SQRT(x)",
        (1, 1),
        to_double,
        |a| unary(a, f64::sqrt),
        "the square root",
        "SQRT(16) = 4.0",
    ),
    scalar(
        "EXP",
        C,
        "EXP(x)",
        (1, 1),
        to_double,
        |a| unary(a, f64::exp),
        "e raised to x",
        "EXP(0) = 1.0",
    ),
    scalar(
        "LN",
        C,
        "LN(x)",
        (1, 1),
        to_double,
        |a| unary(a, f64::ln),
        "the natural logarithm",
        "LN(1) = 0.0",
    ),
    scalar(
        "POWER",
        C,
        "POWER(base, exponent)",
        (2, 2),
        to_double,
        |a| Value::Double(a.f64(0).powf(a.f64(1))),
        "base raised to the exponent",
        "POWER(2, 10) = 1024.0",
    ),
    scalar(
        "SIGN",
        C,
        "SIGN(x)",
        (1, 1),
        sign_type,
        sign,
        "-1, 0 or 1 as x is negative, zero or positive",
        "SIGN(-7) = -1",
    ),
    scalar(
        "RANDOM",
        C,
        "RANDOM()",
        (0, 0),
        |_| Ok(SqlType::Double),
        |_| Value::Double(random_f64()),
        "a pseudo-random DOUBLE in [0, 1)",
        "RANDOM() < 1.0",
    ),
    scalar(
        "GEO_DISTANCE",
        C,
        "GEO_DISTANCE(lat1, lon1, lat2, lon2 [, unit])",
        (4, 5),
        geo_type,
        geo_distance,
        "the great-circle distance, in km or, with 'MI', miles (a NULL unit is km)",
        "GEO_DISTANCE(37.4, -122.1, 37.8, -122.4, 'KM')",
    )
    .handles_nulls(),
];

macro_rules! unary_double {
    ($name:literal, $f:expr, $doc:literal, $example:literal) => {
        scalar(
            $name,
            C,
            concat!($name, "(x)"),
            (1, 1),
            to_double,
            |a| unary(a, $f),
            $doc,
            $example,
        )
    };
}

pub const TRIGONOMETRY: &[FunctionDef] = &[
    unary_double!("SIN", f64::sin, "the sine of x radians", "SIN(0) = 0.0"),
    unary_double!("COS", f64::cos, "the cosine of x radians", "COS(0) = 1.0"),
    unary_double!("TAN", f64::tan, "the tangent of x radians", "TAN(0) = 0.0"),
    unary_double!(
        "COT",
        |x: f64| 1.0 / x.tan(),
        "the cotangent of x radians",
        "COT(1) = 0.6420926159343306"
    ),
    unary_double!(
        "ASIN",
        f64::asin,
        "the arc sine, in radians (NaN outside [-1, 1])",
        "ASIN(1) = 1.5707963267948966"
    ),
    unary_double!(
        "ACOS",
        f64::acos,
        "the arc cosine, in radians (NaN outside [-1, 1])",
        "ACOS(1) = 0.0"
    ),
    unary_double!(
        "ATAN",
        f64::atan,
        "the arc tangent, in radians",
        "ATAN(0) = 0.0"
    ),
    unary_double!("SINH", f64::sinh, "the hyperbolic sine", "SINH(0) = 0.0"),
    unary_double!("COSH", f64::cosh, "the hyperbolic cosine", "COSH(0) = 1.0"),
    unary_double!("TANH", f64::tanh, "the hyperbolic tangent", "TANH(0) = 0.0"),
    unary_double!(
        "DEGREES",
        f64::to_degrees,
        "radians to degrees",
        "DEGREES(PI()) = 180.0"
    ),
    unary_double!(
        "RADIANS",
        f64::to_radians,
        "degrees to radians",
        "RADIANS(180) = 3.141592653589793"
    ),
    unary_double!("CBRT", f64::cbrt, "the cube root", "CBRT(-8) = -2.0"),
    scalar(
        "ATAN2",
        C,
        "ATAN2(y, x)",
        (2, 2),
        to_double,
        |a| Value::Double(a.f64(0).atan2(a.f64(1))),
        "the angle of the point (x, y), in radians",
        "ATAN2(1, 1) = 0.7853981633974483",
    ),
    scalar(
        "PI",
        C,
        "PI()",
        (0, 0),
        |_| Ok(SqlType::Double),
        |_| Value::Double(std::f64::consts::PI),
        "the number pi",
        "PI() = 3.141592653589793",
    ),
    scalar(
        "LOG",
        C,
        "LOG([base,] x)",
        (1, 2),
        to_double,
        log,
        "the logarithm of x, natural (as ksqlDB computes it) or to the given base",
        "LOG(10, 100) = 2.0",
    ),
    scalar(
        "GREATEST",
        C,
        "GREATEST(a, b, ...)",
        (1, usize::MAX),
        extreme_type,
        |a| extreme(a, Ordering::Greater),
        "the largest argument that is not NULL",
        "GREATEST(1, 5, NULL) = 5",
    )
    .handles_nulls()
    .widening(),
    scalar(
        "LEAST",
        C,
        "LEAST(a, b, ...)",
        (1, usize::MAX),
        extreme_type,
        |a| extreme(a, Ordering::Less),
        "the smallest argument that is not NULL",
        "LEAST(1, 5, NULL) = 1",
    )
    .handles_nulls()
    .widening(),
];

fn log(a: &Args) -> Value {
    // One argument: the natural logarithm, as ksqlDB computes it (its reference page says
    // base 10, its implementation and tests give ln).
    if a.len() == 1 {
        return Value::Double(a.f64(0).ln());
    }
    let (base, x) = (a.f64(0), a.f64(1));
    if base <= 0.0 || base == 1.0 {
        return Value::Double(f64::NAN);
    }
    Value::Double(if base == 10.0 {
        x.log10()
    } else {
        x.ln() / base.ln()
    })
}

/// GREATEST/LEAST's arguments, resolved as ksqlDB resolves them: all of one type
/// (DECIMALs of any precision widen to one); mixed numbers only with a DOUBLE among them
/// (then all are DOUBLE: INT with BIGINT, or with DECIMAL, is ambiguous and an error);
/// strings beside a DATE, TIME or TIMESTAMP are read as that type; at least one argument
/// must not be a bare NULL.
fn extreme_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    let typed: Vec<(usize, &SqlType)> = args
        .iter()
        .enumerate()
        .filter(|(_, t)| **t != SqlType::Null)
        .collect();
    let Some(&(_, first)) = typed.first() else {
        return Err((
            0,
            "a value of a known type (with only NULLs the result's type is ambiguous)".into(),
        ));
    };
    let time = typed
        .iter()
        .map(|(_, t)| *t)
        .find(|t| matches!(t, SqlType::Date | SqlType::Time | SqlType::Timestamp));
    if let Some(time) = time {
        return match typed
            .iter()
            .find(|(_, t)| *t != time && **t != SqlType::String)
        {
            Some(&(i, _)) => Err((i, format!("a {time} or a string, like the others"))),
            None => Ok(time.clone()),
        };
    }
    if typed.iter().all(|(_, t)| t.is_numeric()) {
        let kind = |t: &SqlType| std::mem::discriminant(t);
        if typed.iter().all(|(_, t)| kind(t) == kind(first)) {
            return common(args, 0);
        }
        if typed.iter().any(|(_, t)| **t == SqlType::Double) {
            return Ok(SqlType::Double);
        }
        let i = typed
            .iter()
            .find(|(_, t)| kind(t) != kind(first))
            .map_or(0, |(i, _)| *i);
        return Err((
            i,
            format!("a {first} like the first (mixing INT, BIGINT and DECIMAL is ambiguous without a DOUBLE: CAST them to one type)"),
        ));
    }
    match typed.iter().find(|(_, t)| *t != first) {
        Some(&(i, _)) => Err((i, format!("a {first}, like the first argument"))),
        None => Ok(first.clone()),
    }
}

fn extreme(a: &Args, wanted: Ordering) -> Value {
    let mut best: Option<&Value> = None;
    for v in a.values.iter().filter(|v| !v.is_null()) {
        if best.is_none_or(|b| v.sql_cmp(b) == Some(wanted)) {
            best = Some(v);
        }
    }
    best.cloned().unwrap_or(Value::Null)
}

fn same_number(args: &[SqlType]) -> Result<SqlType, ArgError> {
    numeric(args, 0)?;
    Ok(numeric_result(&args[0]))
}

fn to_double(args: &[SqlType]) -> Result<SqlType, ArgError> {
    (0..args.len()).try_for_each(|i| numeric(args, i))?;
    Ok(SqlType::Double)
}

fn sign_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    numeric(args, 0)?;
    Ok(SqlType::Int)
}

fn round_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    numeric(args, 0)?;
    if args.len() == 2 {
        integer(args, 1)?;
        return Ok(numeric_result(&args[0]));
    }
    Ok(match &args[0] {
        SqlType::Double | SqlType::Null => SqlType::Bigint,
        SqlType::Decimal { precision, scale } => SqlType::Decimal {
            precision: (precision - scale + 1).max(1),
            scale: 0,
        },
        t => t.clone(),
    })
}

fn geo_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    (0..4).try_for_each(|i| numeric(args, i))?;
    if args.len() == 5 {
        string(args, 4)?;
    }
    Ok(SqlType::Double)
}

fn abs(a: &Args) -> Value {
    match a.get(0) {
        Value::Int(i) => Value::Int(i.wrapping_abs()),
        Value::Bigint(i) => Value::Bigint(i.wrapping_abs()),
        Value::Double(d) => Value::Double(d.abs()),
        Value::Decimal(d) => Value::Decimal(d.abs()),
        _ => Value::Null,
    }
}

fn sign(a: &Args) -> Value {
    let x = a.f64(0);
    Value::Int(if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    })
}

/// How ROUND and TRUNC cut a number.
#[derive(Clone, Copy)]
enum Cut {
    /// Half-way goes up (towards +infinity), as ksqlDB's ROUND does for both signs.
    HalfUp,
    TowardZero,
}

fn round(a: &Args, cut: Cut) -> Value {
    let digits = a.values.get(1).and_then(Value::as_i64);
    match (a.get(0), digits) {
        (v @ (Value::Int(_) | Value::Bigint(_)), None) => v.clone(),
        (Value::Int(i), Some(n)) => cut_decimal(Decimal::from(*i), n, cut)
            .to_i32()
            .map_or(Value::Null, Value::Int),
        (Value::Bigint(i), Some(n)) => cut_decimal(Decimal::from(*i), n, cut)
            .to_i64()
            .map_or(Value::Null, Value::Bigint),
        (Value::Decimal(d), n) => {
            let scale = match a.ty {
                SqlType::Decimal { scale, .. } => *scale,
                _ => d.scale(),
            };
            cut_decimal(*d, n.unwrap_or(0), cut)
                .rescale(scale, Rounding::HalfUp)
                .map_or(Value::Null, Value::Decimal)
        }
        (Value::Double(d), n) => {
            let r = cut_double(*d, n.unwrap_or(0), cut);
            match n {
                None if r.is_finite() => Value::Bigint(r as i64),
                None => Value::Null,
                Some(_) => Value::Double(r),
            }
        }
        _ => Value::Null,
    }
}

/// Cuts a decimal at `digits` places (negative: left of the point).
fn cut_decimal(d: Decimal, digits: i64, cut: Cut) -> Decimal {
    d.round(
        digits,
        match cut {
            Cut::HalfUp => Rounding::HalfCeiling,
            Cut::TowardZero => Rounding::Down,
        },
    )
}

/// Cuts a double as a decimal of its shortest digits (as Java's BigDecimal.valueOf does),
/// so that ROUND(1.005, 2) is 1.01; doubles beyond a decimal's range use float math.
fn cut_double(d: f64, digits: i64, cut: Cut) -> f64 {
    if let Ok(x) = format!("{d}").parse::<Decimal>() {
        return cut_decimal(x, digits, cut).to_f64();
    }
    let factor = 10f64.powi(digits as i32);
    match cut {
        Cut::HalfUp => (d * factor + 0.5).floor() / factor,
        Cut::TowardZero => (d * factor).trunc() / factor,
    }
}

fn map_num(v: &Value, f: fn(f64) -> f64, d: fn(&Decimal) -> Decimal) -> Value {
    match v {
        Value::Int(_) | Value::Bigint(_) => v.clone(),
        Value::Double(x) => Value::Double(f(*x)),
        Value::Decimal(x) => Value::Decimal(d(x)),
        _ => Value::Null,
    }
}

fn unary(a: &Args, f: fn(f64) -> f64) -> Value {
    match a.get(0) {
        Value::Decimal(d) => Value::Double(f(d.to_f64())),
        other => other.as_f64().map_or(Value::Null, |x| Value::Double(f(x))),
    }
}

fn random_f64() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A pseudo-random number (splitmix64 over a shared counter seeded by the clock).
pub(crate) fn random_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    if x == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        STATE.fetch_add(seed, Ordering::Relaxed);
        x = seed;
    }
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Great-circle distance (haversine), in km unless the unit says miles.
fn geo_distance(a: &Args) -> Value {
    if a.values[..4].iter().any(Value::is_null) {
        return Value::Null;
    }
    let f = |i: usize| a.f64(i).to_radians();
    let (lat1, lon1, lat2, lon2) = (f(0), f(1), f(2), f(3));
    // A NULL unit is the default, kilometres (as in ksqlDB).
    let radius = if a.len() == 5 && !a.get(4).is_null() {
        match a.str(4).to_ascii_uppercase().as_str() {
            "MI" | "MILES" => 3959.0,
            "KM" | "KILOMETERS" => 6371.0,
            _ => return Value::Null,
        }
    } else {
        6371.0
    };
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    Value::Double(2.0 * radius * h.sqrt().asin())
}

#[cfg(test)]
mod tests {
    use super::{common, extreme_type};
    use crate::data::Value;
    use crate::functions::testing::{call, s};

    fn double(v: Value) -> f64 {
        match v {
            Value::Double(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn geo_distance_is_the_great_circle() {
        // San Francisco to Mountain View: 49.516 km by an independent haversine computation
        let mut args = vec![
            Value::Double(37.7877),
            Value::Double(-122.4205),
            Value::Double(37.4133),
            Value::Double(-122.1162),
        ];
        let km = double(call("GEO_DISTANCE", &args));
        assert!((km - 49.516).abs() < 0.001, "{km}");
        args.push(s("mi"));
        let mi = double(call("GEO_DISTANCE", &args));
        assert!((mi - km / 1.609).abs() < 0.1, "{mi}");
    }

    #[test]
    fn round_is_half_up_like_java() {
        assert_eq!(call("ROUND", &[Value::Double(2.5)]), Value::Bigint(3));
        assert_eq!(call("ROUND", &[Value::Double(-2.5)]), Value::Bigint(-2));
        assert_eq!(
            call("ROUND", &[Value::Double(21.456), Value::Int(1)]),
            Value::Double(21.5)
        );
    }

    #[test]
    fn round_and_trunc_take_negative_digits() {
        assert_eq!(
            call("ROUND", &[Value::Double(1.005), Value::Int(2)]),
            Value::Double(1.01)
        );
        assert_eq!(
            call("ROUND", &[Value::Double(-2.55), Value::Int(1)]),
            Value::Double(-2.5)
        );
        assert_eq!(
            call("TRUNC", &[Value::Double(12345.67), Value::Int(-3)]),
            Value::Double(12000.0)
        );
        assert_eq!(call("TRUNC", &[Value::Double(-1.7)]), Value::Bigint(-1));
        assert_eq!(
            call("ROUND", &[Value::Int(1234), Value::Int(-2)]),
            Value::Int(1200)
        );
    }

    #[test]
    fn trigonometry_and_logs() {
        assert_eq!(call("CBRT", &[Value::Int(-8)]), Value::Double(-2.0));
        assert_eq!(
            call("LOG", &[Value::Double(std::f64::consts::E)]),
            Value::Double(1.0)
        );
        assert_eq!(
            call("LOG", &[Value::Int(2), Value::Int(8)]),
            Value::Double(3.0)
        );
        assert!(double(call("LOG", &[Value::Int(1), Value::Int(8)])).is_nan());
        assert_eq!(
            call("DEGREES", &[Value::Double(std::f64::consts::PI)]),
            Value::Double(180.0)
        );
        assert_eq!(
            call("COT", &[Value::Double(0.0)]),
            Value::Double(f64::INFINITY)
        );
    }

    #[test]
    fn greatest_and_least_skip_nulls() {
        assert_eq!(
            call("GREATEST", &[Value::Int(1), Value::Null, Value::Int(5)]),
            Value::Int(5)
        );
        assert_eq!(call("LEAST", &[s("b"), s("a")]), s("a"));
    }

    #[test]
    fn greatest_resolves_argument_types_as_ksqldb_does() {
        use crate::data::SqlType::*;
        let dec = |p, s| Decimal {
            precision: p,
            scale: s,
        };
        assert_eq!(extreme_type(&[Int, Int, Null, Int]), Ok(Int));
        assert_eq!(
            extreme_type(&[dec(9, 2), dec(7, 6)]),
            common(&[dec(9, 2), dec(7, 6)], 0)
        );
        assert_eq!(
            extreme_type(&[Int, Bigint, dec(30, 18), Double, Null]),
            Ok(Double)
        );
        assert_eq!(extreme_type(&[Int, Bigint]).unwrap_err().0, 1);
        assert_eq!(extreme_type(&[Int, Bigint, dec(50, 30)]).unwrap_err().0, 1);
        assert_eq!(extreme_type(&[Null, Null]).unwrap_err().0, 0);
        assert_eq!(extreme_type(&[String, Int]).unwrap_err().0, 1);
        assert_eq!(extreme_type(&[Date, Null, String]), Ok(Date));
        assert_eq!(extreme_type(&[Timestamp, Date]).unwrap_err().0, 1);
    }

    #[test]
    fn sign_and_abs() {
        assert_eq!(call("SIGN", &[Value::Double(-7.5)]), Value::Int(-1));
        assert_eq!(call("SIGN", &[Value::Int(0)]), Value::Int(0));
        assert_eq!(call("ABS", &[Value::Int(-3)]), Value::Int(3));
        assert_eq!(call("ABS", &[Value::Null]), Value::Null);
    }
}
