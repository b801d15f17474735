//! A fast path for the common JSON value: a flat object whose used fields are strings,
//! numbers, booleans or null. It scans the bytes once, converts only the fields a query
//! reads, and builds no `serde_json::Value`. Anything else (escapes, nested values, a
//! type that needs conversion, invalid JSON) returns None, and the caller falls back to the
//! general decoder, which also words the errors; so both paths give the same rows.

use std::sync::Arc;

use crate::data::{SqlType, Value};
use crate::exec::connector::{skip_ws, string_end, value_span};

/// Decodes `columns` of a flat JSON object into the row; None to fall back.
pub fn decode_flat(
    bytes: &[u8],
    columns: &[(String, SqlType, usize)],
    row: &mut [Value],
) -> Option<()> {
    for (_, _, pos) in columns {
        row[*pos] = Value::Null;
    }
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(bytes, i + 1);
    if bytes.get(i) == Some(&b'}') {
        return (skip_ws(bytes, i + 1) == bytes.len()).then_some(());
    }
    loop {
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let (name_end, escaped) = string_end(bytes, i + 1)?;
        if escaped {
            return None;
        }
        let name = &bytes[i + 1..name_end];
        i = skip_ws(bytes, name_end + 1);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(bytes, i + 1);
        let (start, end) = value_span(bytes, i)?;
        if let Some((_, ty, pos)) = columns
            .iter()
            .find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(name))
        {
            row[*pos] = convert(&bytes[start..end], ty)?;
        }
        i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => i = skip_ws(bytes, i + 1),
            Some(b'}') => return (skip_ws(bytes, i + 1) == bytes.len()).then_some(()),
            _ => return None,
        }
    }
}

fn convert(v: &[u8], ty: &SqlType) -> Option<Value> {
    if v == b"null" {
        return Some(Value::Null);
    }
    let text = std::str::from_utf8(v).ok()?;
    match ty {
        SqlType::String if v[0] == b'"' => {
            let inner = &text[1..text.len() - 1];
            if inner.bytes().any(|b| b == b'\\' || b < 0x20) {
                return None;
            }
            Some(Value::String(Arc::from(inner)))
        }
        // out of range (1e400): the general decoder reports the bad record
        SqlType::Double if is_number(v) => text
            .parse()
            .ok()
            .filter(|d: &f64| d.is_finite())
            .map(Value::Double),
        SqlType::Bigint if is_integer(v) => text.parse().ok().map(Value::Bigint),
        SqlType::Int if is_integer(v) => text.parse().ok().map(Value::Int),
        SqlType::Boolean => match v {
            b"true" => Some(Value::Boolean(true)),
            b"false" => Some(Value::Boolean(false)),
            _ => None,
        },
        _ => None,
    }
}

fn is_integer(v: &[u8]) -> bool {
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

fn is_number(v: &[u8]) -> bool {
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    digits.first().is_some_and(u8::is_ascii_digit)
        && digits
            .iter()
            .all(|&b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<(String, SqlType, usize)> {
        vec![
            ("SITE".into(), SqlType::String, 0),
            ("TEMP".into(), SqlType::Double, 1),
            ("TS".into(), SqlType::Bigint, 2),
        ]
    }

    #[test]
    fn reads_the_used_fields_of_a_flat_object() {
        let mut row = vec![Value::Null; 3];
        let line = br#"{"sensor":"s-1","site":"site-82","temp":20.8,"ts":1699999998112}"#;
        assert!(decode_flat(line, &cols(), &mut row).is_some());
        assert_eq!(
            row,
            vec![
                Value::string("site-82"),
                Value::Double(20.8),
                Value::Bigint(1699999998112)
            ]
        );
        let mut row = vec![Value::Bigint(1); 3];
        assert!(decode_flat(br#" { "temp" : -1e2 } "#, &cols(), &mut row).is_some());
        assert_eq!(row, vec![Value::Null, Value::Double(-100.0), Value::Null]);
    }

    #[test]
    fn leaves_the_hard_cases_to_the_general_decoder() {
        let mut row = vec![Value::Null; 3];
        for line in [
            &br#"{"site":"a\"b"}"#[..],
            br#"{"temp":"hot"}"#,
            br#"{"ts":1.5}"#,
            br#"{"temp":"#,
            br#"[1,2]"#,
            br#"{"a":1} x"#,
        ] {
            assert!(decode_flat(line, &cols(), &mut row).is_none(), "{line:?}");
        }
        // unused nested values are skipped
        assert!(decode_flat(br#"{"x":{"y":[1,{"z":2}]},"ts":5}"#, &cols(), &mut row).is_some());
        assert_eq!(row[2], Value::Bigint(5));
    }
}
