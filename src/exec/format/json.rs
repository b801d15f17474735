//! The JSON format: a record value is an object whose fields are the value columns.
//! Field names match columns case-insensitively; missing fields are NULL; values are
//! converted leniently where ksqlDB is lenient (a number in a string for a numeric column).

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value as Json;

use super::DecodeError;
use crate::data::value::base64;
use crate::data::value::parse_timestamp;
use crate::data::{SqlType, Value};

pub fn decode_object(
    bytes: &[u8],
    columns: &[(String, SqlType, usize)],
    row: &mut [Value],
) -> Result<(), DecodeError> {
    decode_object_reading(bytes, columns, &[], 0, row)
}

/// `decode_object` where the columns of the bits of `unread` are only checked on the fast
/// path (`json_fast::decode_flat`, which `folded` names speed up); the general decoder
/// converts them all, as it words the errors: either way a record is bad for the same
/// reasons.
pub fn decode_object_reading(
    bytes: &[u8],
    columns: &[(String, SqlType, usize)],
    folded: &[Option<u64>],
    unread: u64,
    row: &mut [Value],
) -> Result<(), DecodeError> {
    if super::json_fast::decode_flat(bytes, columns, folded, unread, row).is_some() {
        return Ok(());
    }
    let parsed: Json = serde_json::from_slice(bytes).map_err(|e| {
        if e.to_string().starts_with("number out of range") {
            DecodeError(format!("a number is out of DOUBLE's range ({e})"))
        } else {
            DecodeError(format!("value is not valid JSON: {e}"))
        }
    })?;
    let Json::Object(map) = parsed else {
        return Err(DecodeError(format!(
            "value is not a JSON object: {}",
            truncate(bytes)
        )));
    };
    for (name, ty, pos) in columns {
        let field = map.get(name.as_str()).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        });
        row[*pos] = match field {
            None | Some(Json::Null) => Value::Null,
            Some(j) => {
                from_json(j, ty).map_err(|why| DecodeError(format!("field {name}: {why}")))?
            }
        };
    }
    Ok(())
}

fn truncate(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).into_owned();
    if bytes.len() > 60 {
        format!("{s}...")
    } else {
        s
    }
}

/// A record value that is one bare JSON value (WRAP_SINGLE_VALUE=false), as a value of `ty`.
pub fn decode_bare(bytes: &[u8], ty: &SqlType) -> Result<Value, DecodeError> {
    let j: Json = serde_json::from_slice(bytes)
        .map_err(|e| DecodeError(format!("not JSON ({e}): {}", truncate(bytes))))?;
    from_json(&j, ty).map_err(DecodeError)
}

/// A JSON value as a value of `ty`.
pub fn from_json(j: &Json, ty: &SqlType) -> Result<Value, String> {
    use SqlType as T;
    let wrong = || format!("expected {ty}, found {}", short(j));
    Ok(match (ty, j) {
        (_, Json::Null) => Value::Null,
        (T::Boolean, Json::Bool(b)) => Value::Boolean(*b),
        (T::Boolean, Json::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Value::Boolean(true),
            "false" => Value::Boolean(false),
            _ => return Err(wrong()),
        },
        (T::Int, Json::Number(n)) => Value::Int(
            whole_number(n)
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(wrong)?,
        ),
        (T::Bigint, Json::Number(n)) => Value::Bigint(whole_number(n).ok_or_else(wrong)?),
        (T::Double, Json::Number(n)) => Value::Double(n.as_f64().ok_or_else(wrong)?),
        (T::Decimal { scale, .. }, Json::Number(n)) => Value::Decimal(
            crate::plan::expr::parse_decimal(&n.to_string())
                .and_then(|d| d.rescale(*scale, crate::data::decimal::Rounding::HalfUp))
                .ok_or_else(wrong)?,
        ),
        (T::Int | T::Bigint | T::Double | T::Decimal { .. }, Json::String(s)) => {
            let v = crate::exec::eval::parse_as(s.trim(), ty);
            if v.is_null() {
                return Err(wrong());
            }
            v
        }
        (T::String, Json::String(s)) => Value::String(Arc::from(s.as_str())),
        (T::String, other) => Value::String(Arc::from(other.to_string())),
        (T::Timestamp, Json::Number(n)) => Value::Timestamp(n.as_i64().ok_or_else(wrong)?),
        (T::Timestamp, Json::String(s)) => Value::Timestamp(parse_timestamp(s).ok_or_else(wrong)?),
        (T::Date, Json::Number(n)) => Value::Date(days_or_ms(n).ok_or_else(wrong)?),
        (T::Time, Json::Number(n)) => Value::Time(days_or_ms(n).ok_or_else(wrong)?),
        (T::Bytes, Json::String(s)) => Value::Bytes(Bytes::from(unbase64(s).ok_or_else(wrong)?)),
        (T::Array(inner), Json::Array(items)) => Value::Array(Arc::new(
            items
                .iter()
                .map(|i| from_json(i, inner))
                .collect::<Result<_, _>>()?,
        )),
        (T::Map(_, v), Json::Object(m)) => {
            // A MAP's entries in the order ksqlDB's map holds them (`map_order`), which
            // also gives {a, b} and {b, a} one form unless the keys share a bucket, as in
            // ksqlDB.
            let entries = m
                .iter()
                .map(|(k, x)| Ok((Value::string(k), from_json(x, v)?)))
                .collect::<Result<Vec<_>, String>>()?;
            Value::Map(Arc::new(crate::data::map_order::java_hash_map_order(
                entries,
            )))
        }
        (T::Struct(fields), Json::Object(m)) => Value::Struct(Arc::new(
            fields
                .iter()
                .map(|(n, t)| {
                    let f = m.get(n.as_str()).or_else(|| {
                        m.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(n))
                            .map(|(_, v)| v)
                    });
                    f.map_or(Ok(Value::Null), |f| from_json(f, t))
                })
                .collect::<Result<_, String>>()?,
        )),
        _ => return Err(wrong()),
    })
}

/// A JSON number as a whole number, as ksqlDB reads an INT or BIGINT field: a fraction
/// is cut off (`-1.7` is -1), a number beyond BIGINT is no whole number.
fn whole_number(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?.trunc();
        (f.abs() < 9.2e18).then_some(f as i64)
    })
}

fn short(j: &Json) -> String {
    let s = j.to_string();
    if s.len() > 40 {
        format!("{}...", &s[..40])
    } else {
        s
    }
}

/// Base64 text (as JSON and DELIMITED hold BYTES) to its bytes; None if it is not base64.
pub fn unbase64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// Writes `{"NAME":value,...}` in column order.
pub fn encode_object(columns: &[(&str, &SqlType, &Value)], out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (name, ty, v)) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(name, out);
        out.push(b':');
        write_value(v, ty, out);
    }
    out.push(b'}');
}

/// A field's name as it begins a field of an object (`"NAME":`), to write once and reuse
/// (`encode_object_named`).
pub fn field_name(name: &str) -> Box<[u8]> {
    let mut b = Vec::with_capacity(name.len() + 3);
    write_string(name, &mut b);
    b.push(b':');
    b.into_boxed_slice()
}

/// `encode_object` with the fields' names already written (`field_name`).
pub fn encode_object_named<'v>(
    names: &[Box<[u8]>],
    values: impl Iterator<Item = (&'v SqlType, &'v Value)>,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    for (k, (name, (ty, v))) in names.iter().zip(values).enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name);
        write_value(v, ty, out);
    }
    out.push(b'}');
}

pub fn write_string(s: &str, out: &mut Vec<u8>) {
    // Most strings need no escape (serde_json escapes '"', '\\' and control characters).
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // serde_json escapes exactly as JSON requires
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// A value as JSON. Timestamps are epoch milliseconds, as ksqlDB's JSON format writes them.
pub fn write_value(v: &Value, ty: &SqlType, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::Bigint(i) | Value::Timestamp(i) => {
            out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes())
        }
        Value::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Time(t) => {
            let _ = write!(out, "{t}");
        }
        Value::Double(d) => {
            if d.is_finite() {
                crate::data::value::push_double(*d, out);
            } else {
                // JSON has no infinity: written as a string, as Jackson (ksqlDB) writes it
                write_string(crate::data::value::non_finite_name(*d), out);
            }
        }
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::String(s) => write_string(s, out),
        Value::Bytes(b) => write_string(&base64(b), out),
        Value::Array(items) => {
            let inner = match ty {
                SqlType::Array(t) => &**t,
                _ => &SqlType::Null,
            };
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, inner, out);
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let inner = match ty {
                SqlType::Map(_, t) => &**t,
                _ => &SqlType::Null,
            };
            out.push(b'{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(&k.to_string(), out);
                out.push(b':');
                write_value(item, inner, out);
            }
            out.push(b'}');
        }
        Value::Struct(values) => {
            let SqlType::Struct(fields) = ty else {
                out.extend_from_slice(b"null");
                return;
            };
            let cols: Vec<(&str, &SqlType, &Value)> = fields
                .iter()
                .zip(values.iter())
                .map(|((n, t), v)| (n.as_str(), t, v))
                .collect();
            encode_object(&cols, out);
        }
    }
}

/// A DATE (days) or TIME (milliseconds) number: whole and within INT's range.
fn days_or_ms(n: &serde_json::Number) -> Option<i32> {
    n.as_i64().and_then(|v| i32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_integers_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "city-2",
            "a\"b",
            "back\\slash",
            "tab\there",
            "\u{1}\u{7f}",
            "é ✓ 😀",
        ] {
            let mut out = Vec::new();
            write_string(text, &mut out);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
        for i in [0, -1, i64::MIN, i64::MAX, 1699999998112] {
            let mut out = Vec::new();
            write_value(&Value::Bigint(i), &SqlType::Bigint, &mut out);
            assert_eq!(out, i.to_string().into_bytes());
        }
        let mut out = Vec::new();
        write_value(&Value::Int(i32::MIN), &SqlType::Int, &mut out);
        assert_eq!(out, i32::MIN.to_string().into_bytes());
    }

    #[test]
    fn a_fraction_in_an_integer_column_is_cut_to_its_whole_part() {
        let read = |text: &str, ty: &SqlType| from_json(&serde_json::from_str(text).unwrap(), ty);
        assert_eq!(read("-1.7", &SqlType::Int), Ok(Value::Int(-1)));
        assert_eq!(read("2.0", &SqlType::Bigint), Ok(Value::Bigint(2)));
        assert_eq!(read("7", &SqlType::Int), Ok(Value::Int(7)));
        assert!(read("2147483648", &SqlType::Int).is_err());
        assert!(read("1e300", &SqlType::Bigint).is_err());
    }

    #[test]
    fn decodes_fields_case_insensitively_and_missing_as_null() {
        let cols = vec![
            ("SENSOR".to_string(), SqlType::String, 0),
            ("TEMP".to_string(), SqlType::Double, 1),
            ("SITE".to_string(), SqlType::String, 2),
        ];
        let mut row = vec![Value::Null; 3];
        decode_object(
            &Bytes::from_static(br#"{"sensor":"s-1","Temp":21}"#),
            &cols,
            &mut row,
        )
        .unwrap();
        assert_eq!(
            row,
            vec![Value::string("s-1"), Value::Double(21.0), Value::Null]
        );
    }

    #[test]
    fn wrong_types_are_errors_that_name_the_field() {
        let cols = vec![("TEMP".to_string(), SqlType::Double, 0)];
        let mut row = vec![Value::Null];
        let e =
            decode_object(&Bytes::from_static(br#"{"temp":"hot"}"#), &cols, &mut row).unwrap_err();
        assert_eq!(e.0, "field TEMP: expected DOUBLE, found \"hot\"");
        assert!(decode_object(&Bytes::from_static(b"not json"), &cols, &mut row).is_err());
    }

    #[test]
    fn encodes_in_column_order_with_doubles_as_java_prints_them() {
        let mut out = Vec::new();
        encode_object(
            &[
                ("B", &SqlType::Double, &Value::Double(30.0)),
                ("A", &SqlType::String, &Value::string("x\"y")),
            ],
            &mut out,
        );
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"B":30.0,"A":"x\"y"}"#);
        assert_eq!(unbase64("aGkh").unwrap(), b"hi!");
    }
}
