//! Repartitioning a join side: every record of the source is decoded, its join key
//! computed, and the row written to an internal topic keyed by that key, so the
//! partitioner puts equal keys on equal partitions. The record keeps its event time as
//! its timestamp; the value holds all the source's columns (the key is only for routing).
//! The feed keeps its position in each source partition, so a persistent query copies only
//! what arrived since its last catch-up. A durable query's records carry a tag naming
//! their source record, so a restart after a crash does not copy a record twice.

use std::collections::HashSet;

use crate::exec::log::{Acks, LogHandle, ProducerRecord};
use bytes::Bytes;

use super::input::Input;
use crate::data::{SqlType, Value};
use crate::diagnostic::Diagnostic;
use crate::exec::decode::SourceDecoder;
use crate::exec::durable::{source_tag, tag_headers};
use crate::exec::eval::eval;
use crate::exec::format::json::encode_object;
use crate::exec::physical::Repartition;
use crate::exec::physical::{ranges, StartAt};
use crate::exec::task::{PartitionReader, TaskStats, FETCH_BATCH_RECORDS};
use crate::plan::logical::Source;
use crate::plan::schema::PSEUDO_COLUMNS;

pub struct RepartitionFeed {
    repartition: Repartition,
    source: Source,
    base: usize,
    pub(super) topic: String,
    /// One per partition of the source.
    pub(super) inputs: Vec<Input>,
    tagged: bool,
    pub(super) skip: HashSet<Bytes>,
}

impl RepartitionFeed {
    /// Creates the internal topic (kept when it exists: a restarted query's).
    pub fn new(
        log: &LogHandle,
        r: &Repartition,
        source: &Source,
        base: usize,
        topic: &str,
        start: StartAt,
        tagged: bool,
    ) -> Result<RepartitionFeed, Diagnostic> {
        super::create_internal_topic(log, topic, r.partitions)?;
        let decoder = SourceDecoder::new(source, base);
        let width = base + source.schema.len();
        let inputs = ranges(log, &source.topic, start)?
            .into_iter()
            .map(|range| {
                Input::new(
                    PartitionReader::new(log.clone(), source.topic.clone(), range),
                    decoder.clone(),
                    width,
                )
            })
            .collect();
        Ok(RepartitionFeed {
            repartition: r.clone(),
            source: source.clone(),
            base,
            topic: topic.to_string(),
            inputs,
            tagged,
            skip: HashSet::new(),
        })
    }

    /// Copies the records appended to the source since the last run.
    pub fn run(&mut self, log: &LogHandle) -> Result<TaskStats, String> {
        let fail = |e: String| {
            format!(
                "repartitioning {} into '{}' failed: {e}",
                self.source.name, self.topic
            )
        };
        let r = &self.repartition;
        let Some(key_expr) = r.key.first() else {
            return Err(fail("the repartition has no key".into()));
        };
        let base = self.base;
        let key_type = super::key_type(key_expr);
        let fields = &self.source.schema.fields[PSEUDO_COLUMNS.len()..];
        let mut stats = TaskStats::default();
        let mut value = Vec::new();
        let mut pending: Vec<Vec<ProducerRecord>> = vec![Vec::new(); r.partitions as usize];
        let mut waiting = 0;
        let flush = |pending: &mut Vec<Vec<ProducerRecord>>| -> Result<(), String> {
            for (p, batch) in pending.iter_mut().enumerate() {
                if !batch.is_empty() {
                    log.produce_records(&self.topic, p as u32, batch, Acks::All)
                        .map(|_| batch.clear())
                        .map_err(|e| fail(e.to_string()))?;
                }
            }
            Ok(())
        };
        for input in &mut self.inputs {
            input.resume(log).map_err(fail)?;
            let partition = input.partition();
            while let Some(event_time) = input.peek().map_err(fail)? {
                let (_, record) = input.take().expect("peeked");
                if record.tombstone {
                    continue;
                }
                let tag = self
                    .tagged
                    .then(|| source_tag(&self.topic, partition, record.offset, 0));
                if tag.as_ref().is_some_and(|t| self.skip.contains(t)) {
                    continue;
                }
                let row = &input.row;
                let key = super::key_bytes(r.key_format, &key_type, &eval(key_expr, row));
                value.clear();
                let cols: Vec<(&str, &SqlType, &Value)> = fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        (
                            f.name.as_str(),
                            &f.ty,
                            &row[base + PSEUDO_COLUMNS.len() + i],
                        )
                    })
                    .collect();
                encode_object(&cols, &mut value);
                let target = log
                    .partition_for(&self.topic, key.as_deref())
                    .map_err(|e| fail(e.to_string()))?;
                pending[target as usize].push(ProducerRecord {
                    key,
                    value: Some(Bytes::copy_from_slice(&value)),
                    timestamp_ms: Some(event_time),
                    partition: None,
                    headers: tag_headers(tag),
                });
                waiting += 1;
                if waiting >= FETCH_BATCH_RECORDS {
                    waiting = 0;
                    flush(&mut pending)?;
                }
            }
            stats.merge(std::mem::take(&mut input.stats));
        }
        flush(&mut pending)?;
        Ok(stats)
    }
}
