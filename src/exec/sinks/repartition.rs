//! The repartition operator's records: a row re-keyed by expressions of it, written to an
//! internal topic where Kafka's partitioner puts the new key, with the row's event time
//! as its timestamp and its columns as a JSON object. GROUP BY's first stage and a join
//! side that is not keyed by its join expression both write through it; which one and
//! how is the physical plan's `Repartition` node. The inner join of a join of joins writes
//! its rows (`encode_rows`) through it too.

use std::collections::HashSet;

use bytes::Bytes;

use crate::data::{SqlType, Value};
use crate::exec::eval::eval;
use crate::exec::format::json::encode_object;
use crate::exec::format::key::{encode_computed_key_into, KeyFormat};
use crate::exec::log::{Header, LogHandle};
use crate::exec::persistent::Encoded;
use crate::exec::physical::Repartition;
use crate::exec::sinks::record::SinkRecord;
use crate::exec::state::durable::{source_tag, tag_headers, Tagger};
use crate::exec::task::OutputRow;
use crate::plan::catalog::Format;
use crate::plan::expr::TypedExpr;

#[derive(Debug)]
pub struct RepartitionWriter {
    /// The internal topic, its full name.
    pub topic: String,
    keys: Vec<(String, SqlType, TypedExpr)>,
    key_format: Format,
    /// The columns written: (name, type, row position).
    columns: Vec<(String, SqlType, usize)>,
    /// Records carry a tag naming the input record they come from, so a restart after a
    /// crash does not write one twice (the topic's name makes the tag the query's own).
    tagged: bool,
}

impl RepartitionWriter {
    pub fn new(
        r: &Repartition,
        topic: String,
        columns: Vec<(String, SqlType, usize)>,
        tagged: bool,
    ) -> RepartitionWriter {
        let keys = r
            .key
            .iter()
            // (a key of one column is written without its name)
            .map(|k| ("KEY".to_string(), key_type(k), k.clone()))
            .collect();
        RepartitionWriter {
            topic,
            keys,
            key_format: r.key_format,
            columns,
            tagged,
        }
    }

    /// The new key of a row; None when a part of it is NULL.
    pub fn key_of(&self, row: &[Value]) -> Option<Vec<Value>> {
        let values = self.key_values(row);
        (!values.iter().any(Value::is_null)).then_some(values)
    }

    /// The new key of a row, NULLs and all.
    pub fn key_values(&self, row: &[Value]) -> Vec<Value> {
        self.keys.iter().map(|(_, _, k)| eval(k, row)).collect()
    }

    /// Encodes `row` keyed by `key`, made by the record at (`partition`, `offset`), at
    /// event time `t`; `index` numbers the records one input record makes, `retract` marks
    /// a retraction (`aggregate::RETRACT_HEADER`); the input record's `headers` go with
    /// it. A record whose tag is in `skip` (in the topic already: a restart after a crash)
    /// is left out.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        log: &LogHandle,
        skip: &HashSet<Bytes>,
        key: &[Value],
        row: &[Value],
        t: i64,
        partition: u32,
        offset: u64,
        index: u32,
        retract: Option<&'static [u8]>,
        headers: &crate::exec::row_headers::RowHeaders,
        out: &mut Vec<Encoded>,
    ) -> Result<(), String> {
        let at = (t, partition, offset, index);
        self.encode_as(log, skip, key, row, at, retract, false, headers, out)
    }

    /// Encodes the deletion of a table row keyed by `key` (a record without a value),
    /// made by the record at (`partition`, `offset`) at event time `t`: a table side
    /// re-keyed for a join passes its tombstones on.
    #[allow(clippy::too_many_arguments)]
    pub fn encode_deletion(
        &self,
        log: &LogHandle,
        skip: &HashSet<Bytes>,
        key: &[Value],
        t: i64,
        partition: u32,
        offset: u64,
        headers: &crate::exec::row_headers::RowHeaders,
        out: &mut Vec<Encoded>,
    ) -> Result<(), String> {
        let at = (t, partition, offset, 0);
        self.encode_as(log, skip, key, &[], at, None, true, headers, out)
    }

    /// `at`: the event time, partition, offset and index of the record (`encode`).
    #[allow(clippy::too_many_arguments)]
    fn encode_as(
        &self,
        log: &LogHandle,
        skip: &HashSet<Bytes>,
        key: &[Value],
        row: &[Value],
        (t, partition, offset, index): (i64, u32, u64, u32),
        retract: Option<&'static [u8]>,
        deletion: bool,
        headers: &crate::exec::row_headers::RowHeaders,
        out: &mut Vec<Encoded>,
    ) -> Result<(), String> {
        let tag = self
            .tagged
            .then(|| source_tag(&self.topic, partition, offset, index));
        if tag.as_ref().is_some_and(|t| skip.contains(t)) {
            return Ok(());
        }
        let key_cols: Vec<(&str, &SqlType, &Value)> = self
            .keys
            .iter()
            .zip(key)
            .map(|((n, ty, _), v)| (n.as_str(), ty, v))
            .collect();
        let mut key_bytes = Vec::new();
        let key =
            encode_computed_key_into(KeyFormat::of(self.key_format), &key_cols, &mut key_bytes)
                .then(|| Bytes::from(key_bytes));
        let target = log
            .partition_for(&self.topic, key.as_deref())
            .map_err(|e| e.to_string())?;
        let row_headers = headers;
        let mut headers = tag_headers(tag);
        if let Some(how) = retract {
            headers.push(Header {
                name: crate::exec::operators::aggregate::RETRACT_HEADER.to_string(),
                value: Some(Bytes::from_static(how)),
            });
        }
        let headers = crate::exec::row_headers::written(headers, row_headers);
        let value = (!deletion).then(|| self.value(row));
        out.push(self.record(key, value, target, headers, (t, partition, offset)));
        Ok(())
    }

    /// Encodes the rows a task made (an inner join's, whose rows may be deletions: a
    /// record without a value). Rows are keyed by the writer's key; a row without one (no
    /// key expressions, or a NULL key) stays on the partition of the task that made it.
    /// The rows one input record made are numbered in order for their tags.
    pub fn encode_rows(
        &self,
        log: &LogHandle,
        skip: &HashSet<Bytes>,
        rows: Vec<OutputRow>,
        out: &mut Vec<Encoded>,
    ) -> Result<(), String> {
        let partitions = log
            .partition_count(&self.topic)
            .ok_or_else(|| format!("the topic '{}' is gone", self.topic))?;
        let mut tagger = Tagger::default();
        for row in rows {
            let tag = self
                .tagged
                .then(|| tagger.tag(&self.topic, row.partition, row.offset));
            if tag.as_ref().is_some_and(|t| skip.contains(t)) {
                continue;
            }
            let key = self.key_of(&row.values).and_then(|key| {
                let cols: Vec<(&str, &SqlType, &Value)> = self
                    .keys
                    .iter()
                    .zip(&key)
                    .map(|((n, ty, _), v)| (n.as_str(), ty, v))
                    .collect();
                let mut bytes = Vec::new();
                encode_computed_key_into(KeyFormat::of(self.key_format), &cols, &mut bytes)
                    .then(|| Bytes::from(bytes))
            });
            let target = match &key {
                Some(k) => log
                    .partition_for(&self.topic, Some(k))
                    .map_err(|e| e.to_string())?,
                None => row.partition % partitions,
            };
            let value = (!row.tombstone).then(|| self.value(&row.values));
            let headers = crate::exec::row_headers::written(tag_headers(tag), &row.headers);
            out.push(self.record(key, value, target, headers, row.order()));
        }
        Ok(())
    }

    /// The row's columns as a JSON object.
    fn value(&self, row: &[Value]) -> Bytes {
        let cols: Vec<(&str, &SqlType, &Value)> = self
            .columns
            .iter()
            .map(|(n, ty, i)| (n.as_str(), ty, &row[*i]))
            .collect();
        let mut value = Vec::new();
        encode_object(&cols, &mut value);
        Bytes::from(value)
    }

    fn record(
        &self,
        key: Option<Bytes>,
        value: Option<Bytes>,
        target: u32,
        headers: Vec<Header>,
        order: (i64, u32, u64),
    ) -> Encoded {
        Encoded {
            order,
            target,
            record: SinkRecord::new(key, value, order.0).with_headers(headers),
        }
    }
}

/// The type a key expression's values are encoded as: a NULL literal's as STRING.
pub fn key_type(expr: &TypedExpr) -> SqlType {
    if expr.ty == SqlType::Null {
        SqlType::String
    } else {
        expr.ty.clone()
    }
}
