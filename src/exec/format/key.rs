//! Record keys. The KAFKA format is what Kafka's Java serializers write, so the partitioner
//! hashes the same bytes a Java producer would: STRING as UTF-8, INT as 4 bytes big-endian,
//! BIGINT and DOUBLE as 8 bytes big-endian. With key_format='JSON' the key is JSON text (an
//! object for several key columns); with 'DELIMITED' the key columns' text, comma-separated.

use bytes::Bytes;

use super::DecodeError;
use crate::data::{SqlType, Value};

pub fn encode_kafka(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Int(i) => out.extend_from_slice(&i.to_be_bytes()),
        Value::Bigint(i) | Value::Timestamp(i) => out.extend_from_slice(&i.to_be_bytes()),
        Value::Double(d) => out.extend_from_slice(&d.to_be_bytes()),
        Value::Bytes(b) => out.extend_from_slice(b),
        Value::Boolean(b) => out.push(*b as u8),
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

pub fn decode_kafka(bytes: &[u8], ty: &SqlType) -> Result<Value, DecodeError> {
    let fixed = |n: usize| -> Result<&[u8], DecodeError> {
        if bytes.len() == n {
            Ok(bytes)
        } else {
            Err(DecodeError(format!(
                "a KAFKA-format {ty} has {n} bytes, this one has {}",
                bytes.len()
            )))
        }
    };
    Ok(match ty {
        SqlType::String => Value::string(key_text(bytes)?),
        SqlType::Int => Value::Int(i32::from_be_bytes(fixed(4)?.try_into().unwrap())),
        SqlType::Bigint => Value::Bigint(i64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        SqlType::Double => Value::Double(f64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        SqlType::Bytes => Value::Bytes(Bytes::copy_from_slice(bytes)),
        other => {
            return Err(DecodeError(format!(
                "the KAFKA format cannot hold a {other}"
            )))
        }
    })
}

/// A STRING key's text.
fn key_text(bytes: &[u8]) -> Result<&str, DecodeError> {
    super::json_scan::utf8(bytes).ok_or_else(|| DecodeError("the key is not UTF-8 text".into()))
}

/// A key format with the field separator of a DELIMITED key (`key_delimiter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFormat {
    pub format: crate::plan::catalog::Format,
    pub delimiter: char,
}

impl KeyFormat {
    /// `format` with DELIMITED's default separator, a comma.
    pub fn of(format: crate::plan::catalog::Format) -> KeyFormat {
        KeyFormat {
            format,
            delimiter: ',',
        }
    }
}

/// Key bytes for the key columns of a row, or None when there is no key (or it is NULL).
pub fn encode_key(format: KeyFormat, columns: &[(&str, &SqlType, &Value)]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    encode_key_into(format, columns, &mut out).then_some(out)
}

/// `encode_key` appended to `out` (no allocation of its own); false, and nothing
/// appended, when there is no key.
pub fn encode_key_into(
    format: KeyFormat,
    columns: &[(&str, &SqlType, &Value)],
    out: &mut Vec<u8>,
) -> bool {
    // NONE: the records have no key, whatever the row holds.
    if format.format == crate::plan::catalog::Format::None
        || columns.is_empty()
        || columns.iter().all(|(_, _, v)| v.is_null())
    {
        return false;
    }
    write_key(format, columns, out);
    true
}

/// `encode_key_into` for a key a query computes (PARTITION BY, a repartition): a key of
/// several columns is written even when they are all NULL, as ksqlDB writes its key
/// struct (`{"ID":null,"AGE":null}` in JSON); a key read from a record without one stays
/// without one (`encode_key_into`).
pub fn encode_computed_key_into(
    format: KeyFormat,
    columns: &[(&str, &SqlType, &Value)],
    out: &mut Vec<u8>,
) -> bool {
    if columns.len() < 2 {
        return encode_key_into(format, columns, out);
    }
    write_key(format, columns, out);
    true
}

fn write_key(format: KeyFormat, columns: &[(&str, &SqlType, &Value)], out: &mut Vec<u8>) {
    match format.format {
        crate::plan::catalog::Format::Json if columns.len() > 1 => {
            super::json::encode_object(columns, out)
        }
        crate::plan::catalog::Format::Json => {
            super::json::write_value(columns[0].2, columns[0].1, out)
        }
        crate::plan::catalog::Format::Delimited => {
            super::delimited::encode(columns, out, format.delimiter)
        }
        crate::plan::catalog::Format::Kafka => encode_kafka(columns[0].2, out),
        crate::plan::catalog::Format::None => {}
    }
}

/// Decodes key bytes into the key columns' row positions.
pub fn decode_key(
    format: KeyFormat,
    bytes: &[u8],
    columns: &[(String, SqlType, usize)],
    row: &mut [Value],
) -> Result<(), DecodeError> {
    match (format.format, columns) {
        (_, []) => Ok(()),
        (crate::plan::catalog::Format::Json, [(_, ty, pos)]) => {
            let j: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| DecodeError(format!("key is not valid JSON: {e}")))?;
            row[*pos] =
                super::json::from_json(&j, ty).map_err(|e| DecodeError(format!("key: {e}")))?;
            Ok(())
        }
        (crate::plan::catalog::Format::Json, cols) => super::json::decode_object(bytes, cols, row),
        (crate::plan::catalog::Format::Delimited, cols) => {
            super::delimited::decode(bytes, cols, row, format.delimiter)
        }
        (_, [(_, SqlType::String, pos)]) => {
            super::set_string(&mut row[*pos], key_text(bytes)?);
            Ok(())
        }
        (_, [(_, ty, pos)]) => {
            row[*pos] = decode_kafka(bytes, ty)?;
            Ok(())
        }
        _ => Err(DecodeError(
            "the KAFKA key format holds a single column".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_key_bytes_are_javas() {
        let mut out = Vec::new();
        encode_kafka(&Value::Int(1), &mut out);
        assert_eq!(out, vec![0, 0, 0, 1]);
        out.clear();
        encode_kafka(&Value::Bigint(-2), &mut out);
        assert_eq!(out, (-2i64).to_be_bytes());
        let back = decode_kafka(&Bytes::from(vec![0, 0, 0, 7]), &SqlType::Int).unwrap();
        assert_eq!(back, Value::Int(7));
        assert!(decode_kafka(&Bytes::from(vec![0, 7]), &SqlType::Int).is_err());
    }
}
