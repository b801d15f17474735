//! Serialization formats: how keys and values of records become rows and back.
//! JSON and DELIMITED for values, KAFKA (Kafka's primitive serializers) and JSON for keys;
//! NONE, which holds no columns.

pub mod delimited;
pub mod json;
pub mod json_fast;
pub mod json_scan;
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
    /// JSON: a single column's value is the whole record value (WRAP_SINGLE_VALUE=false).
    bare: bool,
    /// (column name, type, row position), in declared order.
    columns: Vec<(String, SqlType, usize)>,
    /// DELIMITED: the character between fields.
    delimiter: char,
    /// JSON: bit i set when no operator reads `columns[i]`, which is then only checked.
    unread: u64,
    /// JSON: the columns' names folded for a fast comparison (`json_scan::folded_eq`).
    folded: Vec<Option<u64>>,
}

impl ValueDecoder {
    pub fn new(format: Format, columns: Vec<(String, SqlType, usize)>) -> ValueDecoder {
        ValueDecoder {
            format,
            bare: false,
            folded: json_fast::folded_names(&columns),
            columns,
            delimiter: ',',
            unread: 0,
        }
    }

    /// Only the columns at the row positions `read` accepts are converted into the row;
    /// JSON checks the others without converting them (a record that does not match its
    /// declared schema stays bad for every query, whatever it reads). Other formats
    /// decode every column.
    pub fn reading_only(mut self, read: impl Fn(usize) -> bool) -> ValueDecoder {
        self.unread = 0;
        let tracked = self.columns.iter().take(json_fast::TRACKED_COLUMNS);
        for (i, (_, _, pos)) in tracked.enumerate() {
            if !read(*pos) {
                self.unread |= 1 << i;
            }
        }
        self
    }

    /// DELIMITED: fields separated by `delimiter`.
    pub fn delimited_by(mut self, delimiter: char) -> ValueDecoder {
        self.delimiter = delimiter;
        self
    }

    /// With `wrap_single_value` false, a JSON value of one column is the bare value.
    pub fn wrapping(mut self, wrap_single_value: bool) -> ValueDecoder {
        self.bare = !wrap_single_value && self.format == Format::Json && self.columns.len() == 1;
        self
    }

    pub fn decode(&self, bytes: &[u8], row: &mut [Value]) -> Result<(), DecodeError> {
        match self.format {
            Format::Json if self.bare => {
                let (_, ty, pos) = &self.columns[0];
                row[*pos] = json::decode_bare(bytes, ty)?;
                Ok(())
            }
            Format::Json => {
                json::decode_object_reading(bytes, &self.columns, &self.folded, self.unread, row)
            }
            Format::Delimited => delimited::decode(bytes, &self.columns, row, self.delimiter),
            // Nothing to read: the format holds no columns.
            Format::None => Ok(()),
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

/// Writes `text` into a row's slot as a STRING, reusing the string already there when it
/// can: the same text (a key or a field that repeats), or a string of the same length that
/// no other row holds, overwritten in place. Decoders run per record, and most records of
/// a stream resemble the one before: this saves an allocation and a free per string.
pub fn set_string(slot: &mut Value, text: &str) {
    if let Value::String(old) = slot {
        if **old == *text {
            return;
        }
        if old.len() == text.len() {
            if let Some(held) = std::sync::Arc::get_mut(old) {
                // SAFETY: both are UTF-8 of the same byte length; replacing every byte of
                // `held` with the bytes of `text` leaves it valid UTF-8.
                unsafe { held.as_bytes_mut() }.copy_from_slice(text.as_bytes());
                return;
            }
        }
    }
    *slot = Value::string(text);
}

/// Puts `v` in `slot`. When the slot holds a value that owns nothing (a number, a time, a
/// boolean, NULL), as a decoded row's slot usually does from the record before, it is
/// overwritten without the call that would drop it.
#[inline(always)]
pub fn set_value(slot: &mut Value, v: Value) {
    match slot {
        Value::Null
        | Value::Boolean(_)
        | Value::Int(_)
        | Value::Bigint(_)
        | Value::Double(_)
        | Value::Timestamp(_)
        | Value::Date(_)
        | Value::Time(_) => std::mem::forget(std::mem::replace(slot, v)),
        _ => *slot = v,
    }
}

/// Encodes named, typed values as a record value; with `wrap_single_value` false, a JSON
/// value of one column is written bare (ksqlDB's WRAP_SINGLE_VALUE=false); DELIMITED
/// fields are separated by `delimiter`.
pub fn encode_value(
    format: Format,
    wrap_single_value: bool,
    delimiter: char,
    columns: &[(&str, &SqlType, &Value)],
    out: &mut Vec<u8>,
) {
    match format {
        Format::Json if !wrap_single_value && columns.len() == 1 => {
            json::write_value(columns[0].2, columns[0].1, out)
        }
        Format::Delimited => delimited::encode(columns, out, delimiter),
        Format::Kafka if columns.len() == 1 => key::encode_kafka(columns[0].2, out),
        Format::None => {}
        _ => json::encode_object(columns, out),
    }
}
