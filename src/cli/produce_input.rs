//! The lines `kql produce` reads: records in the envelope `{"key","value","timestamp",
//! "partition","headers"}`, or plain JSON values whose key and timestamp may come from
//! fields of the value (`--key-field`, `--timestamp-field`).

use bytes::Bytes;
use kql_runtime::{Header, ProducerRecord};
use serde_json::{Map, Value as Json};

/// The fields of the envelope; an object with `value` and no other field is a record.
const ENVELOPE_FIELDS: [&str; 5] = ["key", "value", "timestamp", "partition", "headers"];

/// How a key field's value is written as key bytes, as ksqlDB's key formats write it.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFormat {
    /// KAFKA STRING: the text as UTF-8 (a number or boolean as it is written)
    String,
    /// KAFKA INT: 4 bytes big-endian
    Int,
    /// KAFKA BIGINT: 8 bytes big-endian
    Bigint,
    /// KAFKA DOUBLE: 8 bytes big-endian IEEE 754
    Double,
    /// JSON text (key_format='JSON')
    Json,
}

/// What the lines of an input are, fixed by the options and the first record's line.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Not decided yet: the first line decides (an envelope, or a plain value).
    Undecided,
    Envelope,
    /// Each line is a record's value; key and timestamp from its fields.
    Plain {
        key_field: Option<String>,
        timestamp_field: Option<String>,
        key_format: KeyFormat,
    },
}

impl Shape {
    pub fn new(
        key_field: Option<&str>,
        timestamp_field: Option<&str>,
        key_format: KeyFormat,
        values: bool,
    ) -> Shape {
        if key_field.is_none() && timestamp_field.is_none() && !values {
            return Shape::Undecided;
        }
        Shape::Plain {
            key_field: key_field.map(str::to_string),
            timestamp_field: timestamp_field.map(str::to_string),
            key_format,
        }
    }

    /// The record of one line; the first line fixes an undecided shape: an object with
    /// `"value"` and only the envelope's fields is an envelope, anything else a value.
    pub fn parse(&mut self, line: &str) -> Result<ProducerRecord, String> {
        let j: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        if let Shape::Undecided = self {
            *self = match &j {
                Json::Object(m) if is_envelope(m) => Shape::Envelope,
                _ => Shape::new(None, None, KeyFormat::String, true),
            };
        }
        match self {
            Shape::Envelope => match j {
                Json::Object(m) => envelope_record(&m),
                _ => Err("not a JSON object (the first line was a {\"key\",\"value\"} record, so every line is one)".into()),
            },
            Shape::Plain {
                key_field,
                timestamp_field,
                key_format,
            } => plain_record(line, &j, key_field.as_deref(), timestamp_field.as_deref(), *key_format),
            Shape::Undecided => unreachable!("decided above"),
        }
    }
}

fn is_envelope(m: &Map<String, Json>) -> bool {
    m.contains_key("value") && m.keys().all(|k| ENVELOPE_FIELDS.contains(&k.as_str()))
}

/// A value, written as JSON text except a string, written as its UTF-8 bytes (Kafka's
/// StringSerializer); None for null.
fn text_bytes(v: &Json) -> Option<Bytes> {
    match v {
        Json::Null => None,
        Json::String(s) => Some(Bytes::from(s.clone().into_bytes())),
        other => Some(Bytes::from(other.to_string().into_bytes())),
    }
}

/// `{"key","value","timestamp","partition","headers"}`: key and value are written as JSON
/// text, except strings, which are written as their UTF-8 bytes.
fn envelope_record(m: &Map<String, Json>) -> Result<ProducerRecord, String> {
    let value = m.get("value").ok_or("no \"value\" field")?;
    let timestamp_ms = match m.get("timestamp") {
        None | Some(Json::Null) => None,
        Some(t) => Some(
            t.as_i64()
                .ok_or("\"timestamp\" is not a whole number of milliseconds")?,
        ),
    };
    let partition = match m.get("partition") {
        None | Some(Json::Null) => None,
        Some(p) => Some(
            p.as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .ok_or("\"partition\" is not a partition number (0 to 4294967295)")?,
        ),
    };
    let headers = match m.get("headers") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Object(h)) => h
            .iter()
            .map(|(k, v)| Header {
                name: k.clone(),
                value: text_bytes(v),
            })
            .collect(),
        Some(_) => return Err("\"headers\" is not an object".into()),
    };
    Ok(ProducerRecord {
        key: m.get("key").and_then(text_bytes),
        value: text_bytes(value),
        timestamp_ms,
        partition,
        headers,
    })
}

/// A plain value: the line as it is, with the key and timestamp taken from its fields.
fn plain_record(
    line: &str,
    j: &Json,
    key_field: Option<&str>,
    timestamp_field: Option<&str>,
    key_format: KeyFormat,
) -> Result<ProducerRecord, String> {
    let field = |name: &str| -> Result<Option<&Json>, String> {
        match j {
            Json::Object(m) => Ok(m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .filter(|v| !v.is_null())),
            _ => Err(format!("not a JSON object, so it has no field \"{name}\"")),
        }
    };
    let key = match key_field {
        None => None,
        Some(name) => field(name)?
            .map(|v| key_bytes(v, key_format, name))
            .transpose()?,
    };
    let timestamp_ms = match timestamp_field {
        None => None,
        Some(name) => match field(name)? {
            None => return Err(format!("no timestamp field \"{name}\"")),
            Some(v) => Some(timestamp_of(v).ok_or_else(|| {
                format!("\"{name}\" is {v}, not epoch milliseconds or an ISO-8601 time")
            })?),
        },
    };
    Ok(ProducerRecord {
        key,
        value: Some(Bytes::from(line.trim_end().to_string().into_bytes())),
        timestamp_ms,
        partition: None,
        headers: Vec::new(),
    })
}

/// A key field's value in the key format's bytes.
fn key_bytes(v: &Json, format: KeyFormat, name: &str) -> Result<Bytes, String> {
    let wrong = |ty: &str| format!("key field \"{name}\" is {v}, not {ty} (--key-format)");
    let bytes = match format {
        KeyFormat::String => return Ok(text_bytes(v).unwrap_or_default()),
        KeyFormat::Json => v.to_string().into_bytes(),
        KeyFormat::Int => v
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| wrong("an INT"))?
            .to_be_bytes()
            .to_vec(),
        KeyFormat::Bigint => v
            .as_i64()
            .ok_or_else(|| wrong("a BIGINT"))?
            .to_be_bytes()
            .to_vec(),
        KeyFormat::Double => v
            .as_f64()
            .ok_or_else(|| wrong("a DOUBLE"))?
            .to_be_bytes()
            .to_vec(),
    };
    Ok(Bytes::from(bytes))
}

/// Epoch milliseconds (a number, or a number in a string) or ISO-8601 text.
fn timestamp_of(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s
            .parse::<i64>()
            .ok()
            .or_else(|| crate::data::value::parse_timestamp(s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(shape: &mut Shape, lines: &[&str]) -> Vec<Result<ProducerRecord, String>> {
        lines.iter().map(|l| shape.parse(l)).collect()
    }

    #[test]
    fn the_first_line_decides_between_envelope_and_plain_value() {
        let mut shape = Shape::new(None, None, KeyFormat::String, false);
        let r = parse_all(
            &mut shape,
            &[r#"{"key":"a","value":{"t":1}}"#, r#"{"t":2}"#],
        );
        assert_eq!(r[0].as_ref().unwrap().key.as_deref(), Some(&b"a"[..]));
        assert_eq!(r[1].as_ref().unwrap_err(), "no \"value\" field");

        let mut shape = Shape::new(None, None, KeyFormat::String, false);
        let r = parse_all(
            &mut shape,
            &[r#"{"sensor":"s-1","temp":21.5}"#, r#"{"value":3}"#],
        );
        let first = r[0].as_ref().unwrap();
        assert_eq!(first.key, None);
        assert_eq!(
            first.value.as_deref(),
            Some(&br#"{"sensor":"s-1","temp":21.5}"#[..])
        );
        // once plain, a line that looks like an envelope is a value too
        assert_eq!(
            r[1].as_ref().unwrap().value.as_deref(),
            Some(&br#"{"value":3}"#[..])
        );
    }

    #[test]
    fn key_and_timestamp_fields_are_written_as_their_formats() {
        let mut shape = Shape::new(Some("id"), Some("ts"), KeyFormat::Int, false);
        let r = shape
            .parse(r#"{"id":1234,"ts":"2024-01-01T00:00:00Z","v":1}"#)
            .unwrap();
        assert_eq!(r.key.as_deref(), Some(&1234i32.to_be_bytes()[..]));
        assert_eq!(r.timestamp_ms, Some(1_704_067_200_000));
        let r = shape.parse(r#"{"ID":7,"TS":1000}"#).unwrap();
        assert_eq!(r.key.as_deref(), Some(&7i32.to_be_bytes()[..]));
        assert_eq!(r.timestamp_ms, Some(1000));
        assert_eq!(
            shape.parse(r#"{"id":"x","ts":1}"#).unwrap_err(),
            "key field \"id\" is \"x\", not an INT (--key-format)"
        );
        assert_eq!(
            shape.parse(r#"{"id":1}"#).unwrap_err(),
            "no timestamp field \"ts\""
        );
        // a null or missing key field is a null key (round-robin)
        let mut shape = Shape::new(Some("id"), None, KeyFormat::String, false);
        assert_eq!(shape.parse(r#"{"v":1}"#).unwrap().key, None);
        assert_eq!(
            shape.parse(r#"{"id":12}"#).unwrap().key.as_deref(),
            Some(&b"12"[..])
        );
    }
}
