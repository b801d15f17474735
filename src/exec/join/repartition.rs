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
use crate::diagnostic::Diagnostic;
use crate::exec::decode::SourceDecoder;
use crate::exec::physical::{ranges, Repartition, StartAt};
use crate::exec::repartition::RepartitionWriter;
use crate::exec::task::{PartitionReader, TaskStats, FETCH_BATCH_RECORDS};
use crate::plan::logical::Source;
use crate::plan::schema::PSEUDO_COLUMNS;

pub struct RepartitionFeed {
    writer: RepartitionWriter,
    source: Source,
    pub(super) topic: String,
    /// One per partition of the source.
    pub(super) inputs: Vec<Input>,
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
        // Every column of the source (the key too, which the reader takes from the value).
        let columns = source.schema.fields[PSEUDO_COLUMNS.len()..]
            .iter()
            .enumerate()
            .map(|(i, f)| {
                (
                    f.name.clone(),
                    f.ty.clone(),
                    base + PSEUDO_COLUMNS.len() + i,
                )
            })
            .collect();
        Ok(RepartitionFeed {
            writer: RepartitionWriter::new(r, topic.to_string(), columns, tagged),
            source: source.clone(),
            topic: topic.to_string(),
            inputs,
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
        let mut stats = TaskStats::default();
        let mut encoded = Vec::new();
        let flush = |encoded: &mut Vec<crate::exec::persistent::Encoded>| -> Result<(), String> {
            let partitions = log
                .partition_count(&self.topic)
                .ok_or_else(|| fail("the topic is gone".into()))?;
            let mut by_partition: Vec<Vec<ProducerRecord>> =
                (0..partitions).map(|_| Vec::new()).collect();
            for e in encoded.drain(..) {
                by_partition[e.target as usize].push(e.record);
            }
            for (p, batch) in by_partition.iter_mut().enumerate() {
                if !batch.is_empty() {
                    log.produce_records(&self.topic, p as u32, batch, Acks::All)
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
                let row = &input.row;
                let key = self.writer.key_values(row);
                self.writer
                    .encode(
                        log,
                        &self.skip,
                        &key,
                        row,
                        event_time,
                        partition,
                        record.offset,
                        0,
                        None,
                        &mut encoded,
                    )
                    .map_err(fail)?;
                if encoded.len() >= FETCH_BATCH_RECORDS {
                    flush(&mut encoded)?;
                }
            }
            stats.merge(std::mem::take(&mut input.stats));
        }
        flush(&mut encoded)?;
        Ok(stats)
    }
}
