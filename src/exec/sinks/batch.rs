//! One batch of a query's rows becoming sink records, a row at a time: a task hands each
//! input record's rows over as soon as it has made them (`Task::next_batch_each`), so they
//! are encoded and dropped before the next record is decoded. The strings a row shares with
//! the task's decoded row are then held by nothing else, and the next record's text is
//! written into them in place instead of into a new allocation.

use std::ops::Range;

use bytes::Bytes;

use crate::exec::log::LogHandle;
use crate::exec::persistent::{Encoded, SinkWriter};
use crate::exec::state::durable::{tag_headers, Tagger};
use crate::exec::task::BadRecord;

use super::record::SinkRecord;
use super::row::SinkRow;

/// The records of one batch of rows being encoded for the sink topic.
pub(crate) struct SinkBatch<'w> {
    writer: &'w SinkWriter,
    log: &'w LogHandle,
    partitions: u32,
    /// The key and value of the record being encoded, then the bytes of the records too
    /// wide to be held inline, which share this buffer once the batch is finished.
    buf: Vec<u8>,
    /// The records that share `buf`: their place in the output and their byte ranges.
    wide: Vec<(usize, Option<Range<usize>>, Option<Range<usize>>)>,
    /// Numbers the rows of each input record (their sink tags).
    tagger: Tagger,
}

impl<'w> SinkBatch<'w> {
    pub(crate) fn new(writer: &'w SinkWriter, log: &'w LogHandle) -> Result<Self, String> {
        let partitions = log
            .partition_count(&writer.topic)
            .ok_or_else(|| format!("the sink topic '{}' is gone", writer.topic))?;
        Ok(SinkBatch {
            writer,
            log,
            partitions,
            buf: Vec::new(),
            wide: Vec::new(),
            tagger: Tagger::default(),
        })
    }

    /// Encodes a row as a record appended to `encoded`, with its target partition and its
    /// place in event-time order. A row whose timestamp column gives no valid time is not
    /// written but added to `bad`, as the input record (partition and offset) that made
    /// it. Every row of an input record goes to the same batch, so its rows are numbered
    /// in one piece.
    pub(crate) fn push<R: SinkRow + ?Sized>(
        &mut self,
        r: &R,
        encoded: &mut Vec<Encoded>,
        bad: &mut Vec<BadRecord>,
    ) -> Result<(), String> {
        let w = self.writer;
        // Which input row made this one: the query, its input partition and offset, and
        // the row's place among the rows of that input record.
        let (event_time_ms, partition, offset) = r.order();
        let tag = (w.tag_prefix.as_ref()).map(|q| self.tagger.tag(q, partition, offset));
        if tag.as_ref().is_some_and(|t| w.skip.contains(t)) {
            return Ok(());
        }
        let timestamp_ms = match w.timestamp_of(r) {
            Ok(ms) => ms,
            Err(why) => {
                bad.push(BadRecord {
                    topic: w.topic.clone(),
                    partition,
                    offset,
                    reason: format!(
                        "the row made from input partition {partition} offset {offset} was not written: {why}"
                    ),
                });
                return Ok(());
            }
        };
        let start = self.buf.len();
        let has_key = w.encode_key(r, &mut self.buf);
        let target = if has_key {
            crate::exec::log::partition_for_key(&self.buf[start..], self.partitions.max(1))
        } else {
            (self.log.partition_for(&w.topic, None)).map_err(|e| e.to_string())?
        };
        if has_key {
            w.encode_window(r, &mut self.buf);
        }
        let key = has_key.then_some(start..self.buf.len());
        let value = (!r.tombstone()).then(|| {
            let start = self.buf.len();
            w.encode_value(r, &mut self.buf);
            start..self.buf.len()
        });
        let headers = crate::exec::row_headers::written(tag_headers(tag), r.headers());
        let (k, v) = (
            key.clone().map(|k| &self.buf[k]),
            value.clone().map(|v| &self.buf[v]),
        );
        // Small records take a copy of their bytes, and the buffer is used again; the
        // others keep theirs in it, to share it once the batch is finished.
        let record = match SinkRecord::inline(k, v, timestamp_ms) {
            Some(record) => {
                self.buf.truncate(start);
                record
            }
            None => {
                self.wide.push((encoded.len(), key, value));
                SinkRecord::new(None, None, timestamp_ms)
            }
        };
        encoded.push(Encoded {
            order: (event_time_ms, partition, offset),
            target,
            record: record.with_headers(headers),
        });
        Ok(())
    }

    /// Gives the wide records their bytes, slices of the batch's one buffer.
    pub(crate) fn finish(self, encoded: &mut [Encoded]) {
        if self.wide.is_empty() {
            return;
        }
        let buf = Bytes::from(self.buf);
        for (at, key, value) in self.wide {
            let (key, value) = (key.map(|k| buf.slice(k)), value.map(|v| buf.slice(v)));
            encoded[at].record.set_shared(key, value);
        }
    }
}
