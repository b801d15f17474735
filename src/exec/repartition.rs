//! The repartition operator's records: a row re-keyed by expressions of it, written to an
//! internal topic where Kafka's partitioner puts the new key, with the row's event time
//! as its timestamp and its columns as a JSON object. GROUP BY's first stage and a join
//! side that is not keyed by its join expression both write through it; which one and
//! how is the physical plan's `Repartition` node.

use std::collections::HashSet;

use bytes::Bytes;

use super::durable::{source_tag, tag_headers};
use super::eval::eval;
use super::format::json::encode_object;
use super::format::key::encode_key_into;
use super::log::{Header, LogHandle, ProducerRecord};
use super::persistent::Encoded;
use super::physical::Repartition;
use crate::data::{SqlType, Value};
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
    /// a retraction (`aggregate::RETRACT_HEADER`). A record whose tag is in `skip` (in the
    /// topic already: a restart after a crash) is left out.
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
        let key = encode_key_into(self.key_format, &key_cols, &mut key_bytes)
            .then(|| Bytes::from(key_bytes));
        let target = log
            .partition_for(&self.topic, key.as_deref())
            .map_err(|e| e.to_string())?;
        let cols: Vec<(&str, &SqlType, &Value)> = self
            .columns
            .iter()
            .map(|(n, ty, i)| (n.as_str(), ty, &row[*i]))
            .collect();
        let mut value = Vec::new();
        encode_object(&cols, &mut value);
        let mut headers = tag_headers(tag);
        if let Some(how) = retract {
            headers.push(Header {
                name: super::aggregate::RETRACT_HEADER.to_string(),
                value: Bytes::from_static(how),
            });
        }
        out.push(Encoded {
            order: (t, partition, offset),
            target,
            record: ProducerRecord {
                key,
                value: Some(Bytes::from(value)),
                timestamp_ms: Some(t),
                partition: None,
                headers,
            },
        });
        Ok(())
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
