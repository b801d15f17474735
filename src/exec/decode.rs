//! Reading records of a source into rows: key and value decoded into their row positions,
//! pseudo-columns set, event time taken from ROWTIME or the source's timestamp column.
//! Every declared column is checked, whatever the query reads: a record that does not match
//! its declared schema is bad for every query (as in ksqlDB), so `SELECT sensor` and
//! `SELECT *` and `COUNT(*)` skip the same records; where the reader says which columns it
//! reads (`reading_only`), JSON values of the others are only checked, not converted. A decoder writes at an offset of the row, so the two sides of
//! a join decode into one row.

use crate::exec::log::LogRecord;

use super::format::{key, set_value, DecodeError, ValueDecoder};
use crate::data::{SqlType, Value};
use crate::plan::catalog::Format;
use crate::plan::header_columns::HeaderSlot;
use crate::plan::logical::Source;
use crate::plan::schema::{PSEUDO_COLUMNS, ROWOFFSET, ROWPARTITION, ROWTIME};
use crate::plan::window::WindowType;

#[derive(Debug, Clone)]
pub struct SourceDecoder {
    pub topic: String,
    /// Where this source's fields start in the row.
    base: usize,
    key_format: key::KeyFormat,
    key_columns: Vec<(String, SqlType, usize)>,
    values: ValueDecoder,
    has_value_columns: bool,
    timestamp_column: Option<usize>,
    timestamp_name: String,
    /// Parses a STRING timestamp column.
    timestamp_format: Option<std::sync::Arc<super::time::TimestampFormat>>,
    /// A windowed table: the window kind, and the row slots of WINDOWSTART and WINDOWEND.
    window: Option<(WindowType, Option<(usize, usize)>)>,
    /// Header columns: which headers, and the row position.
    headers: Vec<HeaderSlot>,
}

impl SourceDecoder {
    /// `base`: where the source's fields start in the row.
    pub fn new(source: &Source, base: usize) -> SourceDecoder {
        let n_pseudo = PSEUDO_COLUMNS.len();
        let mut key_columns = Vec::new();
        let mut value_columns = Vec::new();
        for (pos, f) in source.schema.fields.iter().enumerate().skip(n_pseudo) {
            if f.pseudo {
                continue; // WINDOWSTART/WINDOWEND of a windowed table come from the key
            }
            if source.headers.iter().any(|h| h.slot == pos) {
                continue; // read from the record's headers
            }
            let col = (f.name.clone(), f.ty.clone(), base + pos);
            if pos < n_pseudo + source.key_count {
                key_columns.push(col);
            } else {
                value_columns.push(col);
            }
        }
        let slot = |name: &str| {
            source
                .schema
                .fields
                .iter()
                .position(|f| f.pseudo && f.name == name)
        };
        let window = source
            .window
            .map(|w| (w, slot("WINDOWSTART").zip(slot("WINDOWEND"))));
        SourceDecoder {
            window,
            topic: source.topic.clone(),
            base,
            key_format: key::KeyFormat {
                format: source.key_format,
                delimiter: source.key_delimiter,
            },
            key_columns,
            has_value_columns: source.schema.fields.len()
                > n_pseudo + source.key_count + source.headers.len(),
            headers: source
                .headers
                .iter()
                .map(|h| HeaderSlot {
                    slot: base + h.slot,
                    key: h.key.clone(),
                })
                .collect(),
            values: ValueDecoder::new(source.value_format, value_columns)
                .wrapping(source.wrap_single_value)
                .delimited_by(source.value_delimiter),
            timestamp_column: source.timestamp_column,
            timestamp_name: source
                .timestamp_column
                .map_or_else(String::new, |i| source.schema.fields[i].name.clone()),
            timestamp_format: source
                .timestamp_format
                .as_deref()
                .map(|f| std::sync::Arc::new(super::time::TimestampFormat::new(f))),
        }
    }

    /// Converts only the value columns at row positions `read` accepts (and the timestamp
    /// column, which the decoder reads itself); the others are checked (`ValueDecoder::
    /// reading_only`), and their slots in the row are left as they were.
    pub fn reading_only(mut self, read: impl Fn(usize) -> bool) -> SourceDecoder {
        let timestamp = self.timestamp_column.map(|p| self.base + p);
        self.values = self
            .values
            .reading_only(|pos| read(pos) || Some(pos) == timestamp);
        self
    }

    /// A decoder for rows re-keyed into an internal topic: every non-pseudo field is in
    /// the JSON value; the record's key is only for partitioning.
    pub fn internal(source: &Source, base: usize) -> SourceDecoder {
        let n_pseudo = PSEUDO_COLUMNS.len();
        let value_columns = source
            .schema
            .fields
            .iter()
            .enumerate()
            .skip(n_pseudo)
            .map(|(pos, f)| (f.name.clone(), f.ty.clone(), base + pos))
            .collect();
        SourceDecoder {
            window: None,
            topic: String::new(),
            base,
            key_format: key::KeyFormat::of(Format::Kafka),
            key_columns: Vec::new(),
            has_value_columns: true,
            values: ValueDecoder::new(Format::Json, value_columns),
            timestamp_column: None,
            timestamp_name: String::new(),
            timestamp_format: None,
            headers: Vec::new(),
        }
    }

    /// Fills this source's part of the row; returns the record's event time, or None for a
    /// record to skip (a tombstone on a source with value columns).
    pub fn decode(
        &self,
        partition: u32,
        r: &LogRecord,
        row: &mut [Value],
    ) -> Result<Option<i64>, DecodeError> {
        set_value(&mut row[self.base + ROWTIME], Value::Bigint(r.timestamp_ms));
        set_value(
            &mut row[self.base + ROWPARTITION],
            Value::Int(partition as i32),
        );
        set_value(
            &mut row[self.base + ROWOFFSET],
            Value::Bigint(r.offset as i64),
        );
        if let Some(k) = r.key {
            match &self.window {
                None => key::decode_key(self.key_format, k, &self.key_columns, row)?,
                Some((w, slots)) => {
                    let (inner, start, end) = crate::exec::persistent::split_window_key(*w, k)
                        .ok_or_else(|| {
                            DecodeError("the key is too short to hold a window".into())
                        })?;
                    key::decode_key(self.key_format, inner, &self.key_columns, row)?;
                    if let Some((s, e)) = slots {
                        row[self.base + s] = Value::Bigint(start);
                        row[self.base + e] = Value::Bigint(end);
                    }
                }
            }
        }
        for h in &self.headers {
            row[h.slot] = header_column(r, h.key.as_deref());
        }
        match r.value {
            Some(v) => self.values.decode(v, row)?,
            None if self.has_value_columns => return Ok(None),
            None => {}
        }
        let event_time_ms = match self.timestamp_column {
            None => r.timestamp_ms,
            Some(pos) => match &row[self.base + pos] {
                Value::Bigint(ms) | Value::Timestamp(ms) => *ms,
                Value::String(text) if self.timestamp_format.is_some() => {
                    let format = self.timestamp_format.as_ref().expect("checked");
                    format.parse(text).ok_or_else(|| {
                        DecodeError(format!(
                            "the timestamp column {} holds '{text}', which does not match timestamp_format '{}'",
                            self.timestamp_name,
                            format.pattern()
                        ))
                    })?
                }
                Value::Null => {
                    return Err(DecodeError(format!(
                        "the timestamp column {} is missing",
                        self.timestamp_name
                    )))
                }
                other => {
                    return Err(DecodeError(format!(
                        "the timestamp column {} holds {other}, not a time",
                        self.timestamp_name
                    )))
                }
            },
        };
        // Kafka cannot hold a negative timestamp: such a record is skipped, as Kafka Streams
        // skips one whose extracted timestamp is negative.
        if event_time_ms < 0 && self.timestamp_column.is_some() {
            return Err(DecodeError(format!(
                "the timestamp column {} holds {event_time_ms}, and a timestamp cannot be negative",
                self.timestamp_name
            )));
        }
        // As in ksqlDB, ROWTIME is the record's event time: its timestamp column when the
        // source has one.
        set_value(&mut row[self.base + ROWTIME], Value::Bigint(event_time_ms));
        Ok(Some(event_time_ms))
    }
}

/// A header column's value: `HEADERS` is every header (kql's own `kql.*` left out) as
/// key/value structs, `HEADER('k')` the value of the last header with key `k` (NULL when
/// there is none, or when its value is null; a null value is a NULL `VALUE` in `HEADERS`).
fn header_column(r: &LogRecord, key: Option<&str>) -> Value {
    use crate::exec::row_headers::is_internal;
    use std::sync::Arc;
    match key {
        Some(k) => r
            .headers()
            .filter(|(n, _)| *n == k.as_bytes())
            .last()
            .and_then(|(_, v)| v)
            .map_or(Value::Null, |v| Value::Bytes(r.keep(v))),
        None => Value::Array(Arc::new(
            r.headers()
                .filter(|(n, _)| !is_internal(n))
                .map(|(n, v)| {
                    Value::Struct(Arc::new(vec![
                        Value::string(&String::from_utf8_lossy(n)),
                        v.map_or(Value::Null, |v| Value::Bytes(r.keep(v))),
                    ]))
                })
                .collect(),
        )),
    }
}
