//! Serialization formats: how keys and values of records become rows and back.
//! JSON and DELIMITED for values, KAFKA (Kafka's primitive serializers) and JSON for keys.

pub mod delimited;
pub mod json;
pub mod json_fast;
pub mod key;

use crate::data::{SqlType, Value};
use crate::plan::catalog::Format;

/// Why a record could not be read; the task reports it with topic, partition and offset.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError(pub String);

/// Decodes the value columns of a source into their row positions.
#[derive(Debug, Clone)]
pub struct ValueDecoder {
    format: Format,
    /// (column name, type, row position), in declared order.
    columns: Vec<(String, SqlType, usize)>,
}

impl ValueDecoder {
    pub fn new(format: Format, columns: Vec<(String, SqlType, usize)>) -> ValueDecoder {
        ValueDecoder { format, columns }
    }

    pub fn decode(&self, bytes: &[u8], row: &mut [Value]) -> Result<(), DecodeError> {
        match self.format {
            Format::Json => json::decode_object(bytes, &self.columns, row),
            Format::Delimited => delimited::decode(bytes, &self.columns, row),
            Format::Kafka => {
                let [(_, ty, pos)] = self.columns.as_slice() else {
                    return Err(DecodeError("the KAFKA format holds a single column".into()));
                };
                row[*pos] = key::decode_kafka(bytes, ty)?;
                Ok(())
            }
        }
    }
}

/// Encodes named, typed values as a record value.
pub fn encode_value(format: Format, columns: &[(&str, &SqlType, &Value)], out: &mut Vec<u8>) {
    match format {
        Format::Delimited => delimited::encode(columns, out),
        Format::Kafka if columns.len() == 1 => key::encode_kafka(columns[0].2, out),
        _ => json::encode_object(columns, out),
    }
}
