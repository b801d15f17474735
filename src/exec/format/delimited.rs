//! The DELIMITED format: one line per value, columns in declared order, separated by a
//! delimiter (a comma unless `value_delimiter` says otherwise), double quotes around fields
//! that hold the delimiter or a quote (RFC 4180 style).

use super::DecodeError;
use crate::data::{SqlType, Value};
use crate::exec::eval::{parse_as, to_text};

pub fn decode(
    bytes: &[u8],
    columns: &[(String, SqlType, usize)],
    row: &mut [Value],
    delimiter: char,
) -> Result<(), DecodeError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| DecodeError("value is not UTF-8 text".into()))?;
    let fields = split(text.trim_end_matches(['\r', '\n']), delimiter);
    if fields.len() != columns.len() {
        return Err(DecodeError(format!(
            "expected {} delimited fields, found {}",
            columns.len(),
            fields.len()
        )));
    }
    for ((name, ty, pos), f) in columns.iter().zip(fields) {
        row[*pos] = if f.is_empty() {
            Value::Null
        } else {
            let v = field_value(&f, ty);
            if v.is_null() {
                return Err(DecodeError(format!(
                    "field {name}: expected {ty}, found '{f}'"
                )));
            }
            v
        };
    }
    Ok(())
}

/// A field's value. Times are numbers in DELIMITED, as ksqlDB writes them: TIMESTAMP in
/// epoch milliseconds, DATE in days since the epoch, TIME in milliseconds of the day;
/// text in ISO-8601 is read as well. BYTES are base64, as in JSON.
fn field_value(f: &str, ty: &SqlType) -> Value {
    if *ty == SqlType::Bytes {
        return super::json::unbase64(f.trim())
            .map_or(Value::Null, |b| Value::Bytes(bytes::Bytes::from(b)));
    }
    let number = || f.trim().parse::<i64>().ok();
    match (ty, number()) {
        (SqlType::Timestamp, Some(ms)) => Value::Timestamp(ms),
        (SqlType::Date, Some(days)) => i32::try_from(days).map_or(Value::Null, Value::Date),
        (SqlType::Time, Some(ms)) => i32::try_from(ms).map_or(Value::Null, Value::Time),
        _ => parse_as(f, ty),
    }
}

/// A field's text (see `field_value`).
fn field_text(v: &Value) -> String {
    match v {
        Value::Timestamp(ms) => ms.to_string(),
        Value::Date(days) => days.to_string(),
        Value::Time(ms) => ms.to_string(),
        other => to_text(other),
    }
}

fn split(line: &str, delimiter: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (c, false) if c == delimiter => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

pub fn encode(columns: &[(&str, &SqlType, &Value)], out: &mut Vec<u8>, delimiter: char) {
    let mut sep = [0u8; 4];
    let sep = delimiter.encode_utf8(&mut sep).as_bytes();
    for (i, (_, _, v)) in columns.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        if v.is_null() {
            continue;
        }
        let t = field_text(v);
        if t.contains([delimiter, '"', '\n']) {
            out.push(b'"');
            out.extend_from_slice(t.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(t.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_quoted_fields() {
        let mut out = Vec::new();
        encode(
            &[
                ("A", &SqlType::String, &Value::string("x,y")),
                ("B", &SqlType::Int, &Value::Int(3)),
            ],
            &mut out,
            ',',
        );
        assert_eq!(out, b"\"x,y\",3");
        let cols = vec![
            ("A".to_string(), SqlType::String, 0),
            ("B".to_string(), SqlType::Int, 1),
        ];
        let mut row = vec![Value::Null; 2];
        decode(&out, &cols, &mut row, ',').unwrap();
        assert_eq!(row, vec![Value::string("x,y"), Value::Int(3)]);
        // Another delimiter: the comma is text, the pipe separates.
        let mut piped = Vec::new();
        encode(
            &[
                ("A", &SqlType::String, &Value::string("x,y|z")),
                ("B", &SqlType::Int, &Value::Int(3)),
            ],
            &mut piped,
            '|',
        );
        assert_eq!(piped, b"\"x,y|z\"|3");
        decode(b"x,y|3", &cols, &mut row, '|').unwrap();
        assert_eq!(row, vec![Value::string("x,y"), Value::Int(3)]);
    }

    #[test]
    fn times_are_numbers() {
        let mut out = Vec::new();
        encode(
            &[
                ("T", &SqlType::Timestamp, &Value::Timestamp(1000)),
                ("D", &SqlType::Date, &Value::Date(10)),
                ("H", &SqlType::Time, &Value::Time(60_000)),
            ],
            &mut out,
            ',',
        );
        assert_eq!(out, b"1000,10,60000");
        let cols = vec![
            ("T".to_string(), SqlType::Timestamp, 0),
            ("D".to_string(), SqlType::Date, 1),
            ("H".to_string(), SqlType::Time, 2),
        ];
        let mut row = vec![Value::Null; 3];
        decode(b"1970-01-01T00:00:01,10,60000", &cols, &mut row, ',').unwrap();
        assert_eq!(
            row,
            vec![Value::Timestamp(1000), Value::Date(10), Value::Time(60_000)]
        );
    }

    #[test]
    fn bytes_are_base64() {
        let bytes = Value::Bytes(bytes::Bytes::from_static(b"hi!"));
        let mut out = Vec::new();
        encode(&[("B", &SqlType::Bytes, &bytes)], &mut out, ',');
        assert_eq!(out, b"aGkh");
        let cols = vec![("B".to_string(), SqlType::Bytes, 0)];
        let mut row = vec![Value::Null];
        decode(&out, &cols, &mut row, ',').unwrap();
        assert_eq!(row, vec![bytes]);
        assert!(decode(b"not base64!", &cols, &mut row, ',').is_err());
    }
}
