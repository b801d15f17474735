//! The code of the scalar functions; `plan/functions.rs` has their signatures. Arguments
//! arrive already typed; a NULL argument gives NULL unless the function is about NULLs.

use std::sync::Arc;

use rust_decimal::prelude::ToPrimitive;

use crate::data::value::format_timestamp;
use crate::data::{SqlType, Value};
use crate::plan::functions::Func;

pub fn call(f: Func, args: &[Value], ty: &SqlType) -> Value {
    match f {
        Func::Coalesce => {
            return args
                .iter()
                .find(|a| !a.is_null())
                .cloned()
                .unwrap_or(Value::Null)
        }
        Func::Ifnull => {
            return if args[0].is_null() {
                args[1].clone()
            } else {
                args[0].clone()
            }
        }
        Func::Nullif => {
            return if args[0] == args[1] {
                Value::Null
            } else {
                args[0].clone()
            }
        }
        Func::Concat => {
            // CONCAT skips NULLs, as ksqlDB's does
            let mut s = String::new();
            for a in args {
                if let Value::String(x) = a {
                    s.push_str(x);
                }
            }
            return Value::String(Arc::from(s));
        }
        Func::ConcatWs => {
            let Value::String(sep) = &args[0] else {
                return Value::Null;
            };
            let parts: Vec<&str> = args[1..]
                .iter()
                .filter_map(|a| match a {
                    Value::String(s) => Some(&**s),
                    _ => None,
                })
                .collect();
            return Value::String(Arc::from(parts.join(sep)));
        }
        Func::Random => return Value::Double(random_f64()),
        Func::UnixTimestamp if args.is_empty() => return Value::Bigint(now_ms()),
        _ => {}
    }
    if args.iter().any(|a| a.is_null()) {
        return Value::Null;
    }
    let s = |i: usize| match &args[i] {
        Value::String(s) => s.clone(),
        _ => Arc::from(""),
    };
    let int = |i: usize| args[i].as_i64().unwrap_or(0);
    let text = |x: String| Value::String(Arc::from(x));
    match f {
        Func::Ucase => text(s(0).to_uppercase()),
        Func::Lcase => text(s(0).to_lowercase()),
        Func::Trim => text(s(0).trim().to_string()),
        Func::Ltrim => text(s(0).trim_start().to_string()),
        Func::Rtrim => text(s(0).trim_end().to_string()),
        Func::Len => Value::Int(s(0).chars().count() as i32),
        Func::Substring => {
            // 1-based; a negative start counts from the end
            let chars: Vec<char> = s(0).chars().collect();
            let n = chars.len() as i64;
            let start = int(1);
            let from = if start > 0 {
                start - 1
            } else if start < 0 {
                (n + start).max(0)
            } else {
                0
            };
            let len = if args.len() > 2 { int(2).max(0) } else { n };
            let from = from.min(n) as usize;
            let to = (from as i64 + len).min(n) as usize;
            text(chars[from..to].iter().collect())
        }
        Func::Replace => text(s(0).replace(&*s(1), &s(2))),
        Func::Instr => Value::Int(
            s(0).find(&*s(1))
                .map_or(0, |i| s(0)[..i].chars().count() as i32 + 1),
        ),
        Func::Lpad | Func::Rpad => {
            let (input, len, pad) = (s(0), int(1).max(0) as usize, s(2));
            let chars: Vec<char> = input.chars().collect();
            if chars.len() >= len {
                return text(chars[..len].iter().collect());
            }
            if pad.is_empty() {
                return Value::Null;
            }
            let fill: String = pad.chars().cycle().take(len - chars.len()).collect();
            text(if f == Func::Lpad {
                format!("{fill}{input}")
            } else {
                format!("{input}{fill}")
            })
        }
        Func::Abs => match &args[0] {
            Value::Int(i) => Value::Int(i.wrapping_abs()),
            Value::Bigint(i) => Value::Bigint(i.wrapping_abs()),
            Value::Double(d) => Value::Double(d.abs()),
            Value::Decimal(d) => Value::Decimal(d.abs()),
            _ => Value::Null,
        },
        Func::Round => round(&args[0], args.get(1).and_then(|a| a.as_i64()), ty),
        Func::Floor => map_num(&args[0], f64::floor, |d| d.floor()),
        Func::Ceil => map_num(&args[0], f64::ceil, |d| d.ceil()),
        Func::Sign => match args[0].as_f64() {
            Some(x) => cast_num(x.signum() * if x == 0.0 { 0.0 } else { 1.0 }, ty),
            None => Value::Null,
        },
        Func::Sqrt => unary_f64(&args[0], f64::sqrt),
        Func::Exp => unary_f64(&args[0], f64::exp),
        Func::Ln => unary_f64(&args[0], f64::ln),
        Func::Power => match (args[0].as_f64(), args[1].as_f64()) {
            (Some(a), Some(b)) => Value::Double(a.powf(b)),
            _ => Value::Null,
        },
        Func::UnixTimestamp => match &args[0] {
            Value::Timestamp(ms) => Value::Bigint(*ms),
            _ => Value::Null,
        },
        Func::TimestampToString => text(format_with_pattern(int(0), &s(1))),
        Func::StringToTimestamp => {
            crate::exec::eval::parse_timestamp(&s(0)).map_or(Value::Null, Value::Bigint)
        }
        Func::FromUnixtime => Value::Timestamp(int(0)),
        Func::GeoDistance => {
            // Great-circle distance (haversine), in km unless the unit says miles.
            let f = |i: usize| args[i].as_f64().unwrap_or(f64::NAN).to_radians();
            let (lat1, lon1, lat2, lon2) = (f(0), f(1), f(2), f(3));
            let radius = match args.get(4) {
                Some(Value::String(u))
                    if matches!(u.to_ascii_uppercase().as_str(), "MI" | "MILES") =>
                {
                    3958.8
                }
                Some(Value::String(u))
                    if !matches!(u.to_ascii_uppercase().as_str(), "KM" | "KILOMETERS") =>
                {
                    return Value::Null
                }
                _ => 6371.0,
            };
            let a = ((lat2 - lat1) / 2.0).sin().powi(2)
                + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
            Value::Double(2.0 * radius * a.sqrt().asin())
        }
        Func::ArrayLength => match &args[0] {
            Value::Array(items) => Value::Int(items.len() as i32),
            _ => Value::Null,
        },
        Func::Coalesce
        | Func::Ifnull
        | Func::Nullif
        | Func::Concat
        | Func::ConcatWs
        | Func::Random => unreachable!("handled above"),
    }
}

fn round(v: &Value, digits: Option<i64>, ty: &SqlType) -> Value {
    match (v, digits) {
        (Value::Int(_) | Value::Bigint(_), _) => v.clone(),
        (Value::Decimal(d), n) => Value::Decimal(d.round_dp_with_strategy(
            n.unwrap_or(0).max(0) as u32,
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        )),
        (Value::Double(d), None) => cast_num(round_half_up(*d, 0), ty),
        (Value::Double(d), Some(n)) => Value::Double(round_half_up(*d, n)),
        _ => Value::Null,
    }
}

/// Java's Math.round semantics (half up), at `n` decimal places.
fn round_half_up(d: f64, n: i64) -> f64 {
    let factor = 10f64.powi(n as i32);
    (d * factor + 0.5).floor() / factor
}

fn cast_num(x: f64, ty: &SqlType) -> Value {
    match ty {
        SqlType::Int => Value::Int(x as i32),
        SqlType::Bigint => Value::Bigint(x as i64),
        _ => Value::Double(x),
    }
}

fn map_num(
    v: &Value,
    f: fn(f64) -> f64,
    d: fn(&rust_decimal::Decimal) -> rust_decimal::Decimal,
) -> Value {
    match v {
        Value::Int(_) | Value::Bigint(_) => v.clone(),
        Value::Double(x) => Value::Double(f(*x)),
        Value::Decimal(x) => Value::Decimal(d(x)),
        _ => Value::Null,
    }
}

fn unary_f64(v: &Value, f: fn(f64) -> f64) -> Value {
    match v {
        Value::Decimal(d) => d.to_f64().map_or(Value::Null, |x| Value::Double(f(x))),
        other => other.as_f64().map_or(Value::Null, |x| Value::Double(f(x))),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
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

/// Java's SimpleDateFormat letters for the common patterns (UTC):
/// yyyy MM dd HH mm ss SSS, and quoted literals.
pub fn format_with_pattern(ms: i64, pattern: &str) -> String {
    let iso = format_timestamp(ms); // yyyy-MM-ddTHH:mm:ss.SSS
    let (y, mo, d, h, mi, s, sss) = (
        &iso[0..4],
        &iso[5..7],
        &iso[8..10],
        &iso[11..13],
        &iso[14..16],
        &iso[17..19],
        &iso[20..23],
    );
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        match c {
            'y' => out.push_str(if run == 2 { &y[2..] } else { y }),
            'M' => out.push_str(mo),
            'd' => out.push_str(d),
            'H' => out.push_str(h),
            'm' => out.push_str(mi),
            's' => out.push_str(s),
            'S' => out.push_str(&sss[..run.min(3)]),
            _ => (0..run).for_each(|_| out.push(c)),
        }
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_functions() {
        let st = |x: &str| Value::string(x);
        assert_eq!(call(Func::Ucase, &[st("abc")], &SqlType::String), st("ABC"));
        assert_eq!(
            call(
                Func::Substring,
                &[st("hello"), Value::Int(2), Value::Int(3)],
                &SqlType::String
            ),
            st("ell")
        );
        assert_eq!(
            call(
                Func::Concat,
                &[st("a"), Value::Null, st("b")],
                &SqlType::String
            ),
            st("ab")
        );
        assert_eq!(
            call(Func::Len, &[st("héllo")], &SqlType::Int),
            Value::Int(5)
        );
        assert_eq!(
            call(
                Func::Lpad,
                &[st("7"), Value::Int(3), st("0")],
                &SqlType::String
            ),
            st("007")
        );
    }

    #[test]
    fn geo_distance_is_the_great_circle() {
        // San Francisco to Mountain View: 49.516 km by an independent haversine computation
        let args = [
            Value::Double(37.7877),
            Value::Double(-122.4205),
            Value::Double(37.4133),
            Value::Double(-122.1162),
        ];
        let Value::Double(km) = call(Func::GeoDistance, &args, &SqlType::Double) else {
            panic!()
        };
        assert!((km - 49.516).abs() < 0.001, "{km}");
        let mut mi = args.to_vec();
        mi.push(Value::string("mi"));
        let Value::Double(m) = call(Func::GeoDistance, &mi, &SqlType::Double) else {
            panic!()
        };
        assert!((m - km / 1.609).abs() < 0.1, "{m}");
    }

    #[test]
    fn round_is_half_up_like_java() {
        assert_eq!(
            call(Func::Round, &[Value::Double(2.5)], &SqlType::Bigint),
            Value::Bigint(3)
        );
        assert_eq!(
            call(Func::Round, &[Value::Double(-2.5)], &SqlType::Bigint),
            Value::Bigint(-2)
        );
        assert_eq!(
            call(
                Func::Round,
                &[Value::Double(21.456), Value::Int(1)],
                &SqlType::Double
            ),
            Value::Double(21.5)
        );
    }

    #[test]
    fn timestamp_patterns() {
        assert_eq!(
            format_with_pattern(1_700_000_000_000, "yyyy-MM-dd HH:mm:ss"),
            "2023-11-14 22:13:20"
        );
        assert_eq!(
            format_with_pattern(1_700_000_000_123, "HH:mm:ss.SSS 'UTC'"),
            "22:13:20.123 UTC"
        );
    }
}
