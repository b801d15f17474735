//! Numeric functions. Integers stay integers where ksqlDB keeps them so (ABS, FLOOR,
//! CEIL); the transcendental functions return DOUBLE.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::rules::{integer, numeric, numeric_result, string};
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
        round,
        "rounded half up; ROUND of a DOUBLE without digits is a BIGINT",
        "ROUND(21.456, 1) = 21.5",
    ),
    scalar(
        "FLOOR",
        C,
        "FLOOR(x)",
        (1, 1),
        same_number,
        |a| map_num(a.get(0), f64::floor, |d| d.floor()),
        "the largest whole number not above x",
        "FLOOR(2.7) = 2.0",
    ),
    scalar(
        "CEIL",
        C,
        "CEIL(x)",
        (1, 1),
        same_number,
        |a| map_num(a.get(0), f64::ceil, |d| d.ceil()),
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
        "the great-circle distance, in km or, with 'MI', miles",
        "GEO_DISTANCE(37.4, -122.1, 37.8, -122.4, 'KM')",
    ),
];

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

fn round(a: &Args) -> Value {
    let digits = a.values.get(1).and_then(Value::as_i64);
    match (a.get(0), digits) {
        (v @ (Value::Int(_) | Value::Bigint(_)), _) => v.clone(),
        (Value::Decimal(d), n) => Value::Decimal(d.round_dp_with_strategy(
            n.unwrap_or(0).max(0) as u32,
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        )),
        (Value::Double(d), None) => Value::Bigint(round_half_up(*d, 0) as i64),
        (Value::Double(d), Some(n)) => Value::Double(round_half_up(*d, n)),
        _ => Value::Null,
    }
}

/// Java's Math.round semantics (half up), at `n` decimal places.
fn round_half_up(d: f64, n: i64) -> f64 {
    let factor = 10f64.powi(n as i32);
    (d * factor + 0.5).floor() / factor
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
        Value::Decimal(d) => d.to_f64().map_or(Value::Null, |x| Value::Double(f(x))),
        other => other.as_f64().map_or(Value::Null, |x| Value::Double(f(x))),
    }
}

fn random_f64() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Great-circle distance (haversine), in km unless the unit says miles.
fn geo_distance(a: &Args) -> Value {
    let f = |i: usize| a.f64(i).to_radians();
    let (lat1, lon1, lat2, lon2) = (f(0), f(1), f(2), f(3));
    let radius = if a.len() == 5 {
        match a.str(4).to_ascii_uppercase().as_str() {
            "MI" | "MILES" => 3958.8,
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
    fn sign_and_abs() {
        assert_eq!(call("SIGN", &[Value::Double(-7.5)]), Value::Int(-1));
        assert_eq!(call("SIGN", &[Value::Int(0)]), Value::Int(0));
        assert_eq!(call("ABS", &[Value::Int(-3)]), Value::Int(3));
        assert_eq!(call("ABS", &[Value::Null]), Value::Null);
    }
}
