//! Values of a row. Cheap to clone: strings and nested values are reference-counted.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use super::decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Boolean(bool),
    Int(i32),
    Bigint(i64),
    Double(f64),
    Decimal(Decimal),
    String(Arc<str>),
    Bytes(bytes::Bytes),
    /// Milliseconds since the epoch, UTC.
    Timestamp(i64),
    /// Days since the epoch.
    Date(i32),
    /// Milliseconds since midnight.
    Time(i32),
    Array(Arc<Vec<Value>>),
    Map(Arc<Vec<(Value, Value)>>),
    /// Field values in the order of the struct type's fields.
    Struct(Arc<Vec<Value>>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// An equal value that shares no reference count with this one (a deep copy of its
    /// strings, bytes and collections): for a thread that clones it often while another
    /// clones the original.
    pub fn unshared(&self) -> Value {
        match self {
            Value::String(s) => Value::String(Arc::from(&**s)),
            Value::Bytes(b) => Value::Bytes(bytes::Bytes::copy_from_slice(b)),
            Value::Array(a) => Value::Array(Arc::new(a.iter().map(Value::unshared).collect())),
            Value::Map(m) => Value::Map(Arc::new(
                m.iter()
                    .map(|(k, v)| (k.unshared(), v.unshared()))
                    .collect(),
            )),
            Value::Struct(f) => Value::Struct(Arc::new(f.iter().map(Value::unshared).collect())),
            other => other.clone(),
        }
    }

    pub fn string(s: &str) -> Value {
        Value::String(Arc::from(s))
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Bigint(i) => Some(*i as f64),
            Value::Double(d) => Some(*d),
            Value::Decimal(d) => Some(d.to_f64()),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i as i64),
            Value::Bigint(i) | Value::Timestamp(i) => Some(*i),
            _ => None,
        }
    }

    /// SQL equality between two values of the same (or widened) type: None when either is
    /// NULL. Inside arrays, maps and structs NULL equals NULL, and a map's entries are
    /// compared whatever their order, as ksqlDB compares collections.
    pub fn sql_eq(&self, other: &Value) -> Option<bool> {
        if self.is_null() || other.is_null() {
            return None;
        }
        Some(self.nested_eq(other))
    }

    /// Equality of two values that are parts of collections: NULL equals NULL.
    fn nested_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Null, _) | (_, Value::Null) => false,
            (Value::Array(a), Value::Array(b)) | (Value::Struct(a), Value::Struct(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.nested_eq(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.iter().any(|(k2, v2)| k.nested_eq(k2) && v.nested_eq(v2)))
            }
            (a, b) => a.sql_cmp(b) == Some(Ordering::Equal),
        }
    }

    /// SQL ordering between two non-null values of the same (or widened) type.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => None,
            (Value::Boolean(a), Value::Boolean(b)) => Some(a.cmp(b)),
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Bigint(a), Value::Bigint(b)) => Some(a.cmp(b)),
            (Value::Timestamp(a), Value::Timestamp(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
            (Value::Decimal(a), Value::Decimal(b)) => Some(a.cmp(b)),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (Value::Bytes(a), Value::Bytes(b)) => Some(a.cmp(b)),
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => None,
            },
        }
    }
}

/// How values print in a table, as ksqlDB's CLI shows them.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Bigint(i) => write!(f, "{i}"),
            Value::Double(d) => write!(f, "{}", format_double(*d)),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::String(s) => write!(f, "{s}"),
            Value::Bytes(b) => write!(f, "{}", base64(b)),
            Value::Timestamp(ms) => write!(f, "{}", crate::data::value::format_timestamp(*ms)),
            Value::Date(d) => write!(f, "{}", format_date(*d)),
            Value::Time(ms) => {
                let s = ms / 1000;
                write!(f, "{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
            }
            Value::Array(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Map(entries) => {
                write!(f, "{{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                write!(f, "}}")
            }
            Value::Struct(fields) => {
                write!(f, "{{")?;
                for (i, v) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// `d` (|d| = `a`, from 1e-3 up to 1e7) written with at most three decimals, when that
/// many give it back: the integer m = a * 10^k, for the fewest decimals k whose m / 10^k is
/// `a` again. Dividing two exact doubles rounds as reading the decimal text does, so the
/// text reads back as `d`; fewer decimals do not, and the integer part is the same for
/// every k, so these are the shortest round-trip digits, which zmij finds with a search
/// (for a sensor's reading or a price, twice the instructions of this). False otherwise.
#[inline]
fn push_few_decimals(d: f64, a: f64, out: &mut Vec<u8>) -> bool {
    const SCALES: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];
    for (k, &scale) in SCALES.iter().enumerate() {
        // (below 1e10: as i64, one instruction each way, where `round` is a call)
        let m = (a * scale + 0.5) as i64;
        if m as f64 / scale != a {
            continue;
        }
        // The text is made backwards in a buffer: the decimals, the point, the integer.
        let mut text = [0u8; 24];
        let mut at = text.len();
        let mut rest = m as u64;
        for _ in 0..k {
            at -= 1;
            text[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        if k == 0 {
            at -= 1;
            text[at] = b'0';
        }
        at -= 1;
        text[at] = b'.';
        loop {
            at -= 1;
            text[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if d < 0.0 {
            at -= 1;
            text[at] = b'-';
        }
        out.extend_from_slice(&text[at..]);
        return true;
    }
    false
}

/// Doubles print as Java's `Double.toString` (and so ksqlDB) prints them: always with a
/// decimal point, `1.0E308` style from 1e7 up and below 1e-3, `Infinity` and `NaN`.
pub fn format_double(d: f64) -> String {
    let mut out = Vec::with_capacity(24);
    push_double(d, &mut out);
    String::from_utf8(out).expect("digits are ASCII")
}

/// `format_double` appended to `out`, without an allocation on the common path. Values from
/// 1e-3 up to 1e7 (a sink's usual doubles) take their shortest round-trip digits from zmij,
/// at a fraction of the cost of `std::fmt`, whose digits they match there (`{d}`, and
/// `{d:.1}` for whole numbers; a test compares them).
pub fn push_double(d: f64, out: &mut Vec<u8>) {
    use std::io::Write as _;
    if !d.is_finite() {
        out.extend_from_slice(non_finite_name(d).as_bytes());
        return;
    }
    let a = d.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        // Java's computerized scientific notation: one digit, a point, at least one more
        // digit, then E and the exponent.
        let text = format!("{d:e}");
        let (mantissa, exponent) = text.split_once('e').expect("{:e} has an exponent");
        out.extend_from_slice(mantissa.as_bytes());
        if !mantissa.contains('.') {
            out.extend_from_slice(b".0");
        }
        out.push(b'E');
        out.extend_from_slice(exponent.as_bytes());
        return;
    }
    if a != 0.0 && push_few_decimals(d, a, out) {
        return;
    }
    if a != 0.0 {
        let mut buf = zmij::Buffer::new();
        let text = buf.format_finite(d);
        // (one pass over a few bytes: a search for each would cost more than the bytes)
        let (exponent, point) =
            (text.bytes()).fold((false, false), |(e, p), b| (e || b == b'e', p || b == b'.'));
        if !exponent {
            out.extend_from_slice(text.as_bytes());
            if !point {
                out.extend_from_slice(b".0");
            }
            return;
        }
    }
    let _ = if d == d.trunc() {
        write!(out, "{d:.1}")
    } else {
        write!(out, "{d}")
    };
}

/// How Java names a double that is not a number: `Infinity`, `-Infinity`, `NaN`.
pub fn non_finite_name(d: f64) -> &'static str {
    if d.is_nan() {
        "NaN"
    } else if d > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// ISO-8601 in UTC with milliseconds: `2023-11-14T22:13:20.000`.
pub fn format_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (h, m, s, milli) = (
        rem / 3_600_000,
        (rem / 60_000) % 60,
        (rem / 1000) % 60,
        rem % 1000,
    );
    format!(
        "{}T{h:02}:{m:02}:{s:02}.{milli:03}",
        format_date(days as i32)
    )
}

pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// ISO-8601 `yyyy-MM-dd[THH:mm[:ss[.SSS]]]`, UTC, to epoch milliseconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(y, m, day) * 86_400_000;
    if let Some(t) = time {
        let (hms, frac) = t.split_once('.').unwrap_or((t, "0"));
        let mut parts = hms.split(':');
        let h: i64 = parts.next()?.parse().ok()?;
        let mi: i64 = parts.next().unwrap_or("0").parse().ok()?;
        let sec: i64 = parts.next().unwrap_or("0").parse().ok()?;
        let frac = format!("{:0<3}", &frac[..frac.len().min(3)]);
        ms += h * 3_600_000 + mi * 60_000 + sec * 1000 + frac.parse::<i64>().ok()?;
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Java's `Double.toString` spelled with `std::fmt` only (no zmij).
    fn std_double(d: f64) -> String {
        let a = d.abs();
        if a != 0.0 && !(1e-3..1e7).contains(&a) {
            let text = format!("{d:e}");
            let (m, e) = text.split_once('e').unwrap();
            let point = if m.contains('.') { "" } else { ".0" };
            format!("{m}{point}E{e}")
        } else if d == d.trunc() {
            format!("{d:.1}")
        } else {
            format!("{d}")
        }
    }

    #[test]
    fn doubles_print_as_java_prints_them() {
        for (d, java) in [
            (1e308, "1.0E308"),
            (1e7, "1.0E7"),
            (12345678.9, "1.23456789E7"),
            (9999999.0, "9999999.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (-2.5e-5, "-2.5E-5"),
            (0.0, "0.0"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(format_double(d), java, "{d:e}");
        }
    }

    #[test]
    fn doubles_print_as_std_fmt_prints_them() {
        let mut cases = vec![
            0.0,
            -0.0,
            1e-4,
            9.99e-5,
            1e15,
            1e15 - 1.0,
            999999999999999.9,
            0.1,
            0.3,
            20.8,
            -17.25,
            21.0,
            1e21,
            1e-7,
            123456.789,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        // Random bit patterns, and readings-like values with one or two decimals.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for i in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(f64::from_bits(x));
            cases.push((x % 100_000) as f64 / 10f64.powi(i % 4) - 500.0);
            // Up to three decimals around the ends of the range written without exponent.
            cases.push((x % 10_000_000_000) as f64 / 1000.0);
            cases.push(1e7 - (x % 5000) as f64 / 1000.0);
            cases.push((x % 2000) as f64 / 1000.0 + 0.001 * (i % 3) as f64);
            // Every magnitude zmij handles, with full-precision mantissas.
            let m = 1.0 + (x >> 11) as f64 / (1u64 << 53) as f64;
            cases.push(m * 10f64.powi(i % 20 - 4));
        }
        for d in cases.into_iter().filter(|d| d.is_finite()) {
            assert_eq!(format_double(d), std_double(d), "{d:e}");
        }
    }

    #[test]
    fn timestamps_print_as_iso_utc() {
        assert_eq!(
            format_timestamp(1_700_000_000_000),
            "2023-11-14T22:13:20.000"
        );
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000");
        assert_eq!(days_from_civil(2023, 11, 14), 19675);
    }

    #[test]
    fn doubles_keep_a_decimal_point() {
        assert_eq!(Value::Double(30.0).to_string(), "30.0");
        assert_eq!(Value::Double(21.5).to_string(), "21.5");
        assert_eq!(base64(b"hi!"), "aGkh");
        assert_eq!(base64(b"h"), "aA==");
    }
}
