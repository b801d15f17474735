//! One input of a task: a partition read in batches, each record decoded into this input's
//! part of a row before it is handed out, so a task with several inputs can always take
//! the record with the smallest event time (Kafka Streams' choice). Bad records are
//! skipped and counted here.

use bytes::Bytes;

use crate::data::Value;
use crate::exec::decode::SourceDecoder;
use crate::exec::format::DecodeError;
use crate::exec::log::{LogHandle, LogRecord, Offsets};
use crate::exec::task::{BadRecord, PartitionReader, TaskStats};

pub struct Input {
    reader: PartitionReader,
    decoder: SourceDecoder,
    /// The head record, decoded: (event time, what a task needs of the record).
    head: Option<(i64, Head)>,
    /// A full-width row whose part for this input holds the head's fields.
    pub row: Vec<Value>,
    pub stats: TaskStats,
    /// Whether heads keep their record's key (`Head::key`); a stream side of a join reads
    /// its key columns from the row, and a kept key costs a reference count per record.
    keys: bool,
}

/// What a task needs of a record once its fields are in the row.
#[derive(Debug, Clone)]
pub struct Head {
    pub offset: u64,
    /// The record's key (a slice of the fetched batch, no copy); None also for an input
    /// made `without_keys`.
    pub key: Option<Bytes>,
    /// A record without a value: a delete, for a table.
    pub tombstone: bool,
    /// The record's Kafka headers, for the rows it causes.
    pub headers: super::row_headers::RowHeaders,
}

impl Input {
    pub fn new(reader: PartitionReader, decoder: SourceDecoder, row_width: usize) -> Input {
        Input {
            reader,
            decoder,
            head: None,
            row: vec![Value::Null; row_width],
            stats: TaskStats::default(),
            keys: true,
        }
    }

    /// An input whose heads do not keep their record's key: for a task that reads only
    /// the row.
    pub fn without_keys(mut self) -> Input {
        self.keys = false;
        self
    }

    /// An input that converts only the value columns at row positions `read` accepts (see
    /// `SourceDecoder::reading_only`): for a task that keeps none of its rows.
    pub fn reading_only(mut self, read: impl Fn(usize) -> bool) -> Input {
        self.decoder = self.decoder.reading_only(read);
        self
    }

    pub fn partition(&self) -> u32 {
        self.reader.range.partition
    }

    /// The event time of the head record, decoding it if needed; None at the end.
    pub fn peek(&mut self) -> Result<Option<i64>, String> {
        loop {
            if let Some((t, _)) = &self.head {
                return Ok(Some(*t));
            }
            let partition = self.reader.range.partition;
            let Some(r) = self.reader.next_record()? else {
                return Ok(None);
            };
            self.stats.records_read += 1;
            // A decode sets every field of this input that the query reads; only a record
            // without a key leaves the key's fields as they were.
            if r.key.is_none() {
                self.row.iter_mut().for_each(|v| *v = Value::Null);
            }
            let keys = self.keys;
            let head = |r: &LogRecord| Head {
                offset: r.offset,
                key: r.key.filter(|_| keys).map(|k| r.keep(k)),
                tombstone: r.value.is_none(),
                headers: super::row_headers::of_record(r),
            };
            match self.decoder.decode(partition, &r, &mut self.row) {
                // A tombstone decodes to None for a stream; tables see it with `tombstone`.
                Ok(Some(t)) => self.head = Some((t, head(&r))),
                Ok(None) => self.head = Some((r.timestamp_ms, head(&r))),
                Err(DecodeError(reason)) => self.stats.add_bad(vec![BadRecord {
                    topic: self.decoder.topic.clone(),
                    partition,
                    offset: r.offset,
                    reason,
                }]),
            }
        }
    }

    /// The offset of the first record not yet taken.
    pub fn position(&mut self) -> Result<u64, String> {
        match &self.head {
            Some((_, h)) => Ok(h.offset),
            None => self.reader.position(),
        }
    }

    pub fn topic(&self) -> &str {
        self.reader.topic()
    }

    /// Goes on to the partition's high watermark: records appended since the last run,
    /// reading through `log`, the run's view of the log (one whose topics still loading
    /// make the reader wait at their end: `LoadingLog`).
    pub fn resume(&mut self, log: &LogHandle) -> Result<(), String> {
        self.reader.read_through(log);
        let Offsets {
            high_watermark: end,
            ..
        } = log
            .offsets(self.reader.topic(), self.partition())
            .map_err(|e| e.to_string())?;
        self.reader.extend_to(end);
        Ok(())
    }

    /// `resume`, reading at most `most` records past the current position (a shared
    /// query's bounded round).
    pub fn resume_at_most(&mut self, log: &LogHandle, most: Option<u64>) -> Result<(), String> {
        let Some(most) = most else {
            return self.resume(log);
        };
        self.reader.read_through(log);
        let Offsets {
            high_watermark: end,
            ..
        } = log
            .offsets(self.reader.topic(), self.partition())
            .map_err(|e| e.to_string())?;
        let at = self.position()?;
        self.reader.extend_to(end.min(at.saturating_add(most)));
        Ok(())
    }

    /// Reads no further than `end` until the next `resume` (a replay up to a committed
    /// position); what was fetched ahead is dropped.
    pub fn limit_to(&mut self, end: u64) -> Result<(), String> {
        let at = self.position()?;
        self.seek(at);
        self.reader.range.end = end.max(at);
        Ok(())
    }

    /// Starts again at `offset` (a restored position); nothing read is kept.
    pub fn seek(&mut self, offset: u64) {
        self.head = None;
        self.reader.seek(offset);
    }

    /// Takes the head record (call after `peek` returned Some); its fields are in `row`.
    /// The Kafka headers of the head record (taken by the next `take`).
    pub fn head_headers(&self) -> super::row_headers::RowHeaders {
        self.head.as_ref().and_then(|(_, h)| h.headers.clone())
    }

    pub fn take(&mut self) -> Option<(i64, Head)> {
        self.head.take()
    }
}

/// Which of two inputs holds the record to process next: the smaller event time; on a
/// tie the second (the table side of a stream-table join), so a table row is in place
/// before a stream record with the same timestamp looks it up.
pub fn pick(a: Option<i64>, b: Option<i64>) -> Option<bool> {
    match (a, b) {
        (None, None) => None,
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (Some(x), Some(y)) => Some(x < y),
    }
}
