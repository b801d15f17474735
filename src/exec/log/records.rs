//! The records the executor reads, whatever log they came from: `Fetched` is one fetch's
//! worth of records and a reader's place in them, `LogRecord` a record borrowed from it.
//! Batches of the embedded log are read in place (no allocation or reference count per
//! record); records a client decoded (a Kafka v2 batch, the in-memory log) are held as
//! owned `Record`s and read through the same views, so operators never see a batch layout.

use bytes::Bytes;
use kql_runtime::{Record, RecordBatch, RecordCursor, RecordView};

use super::LogError;

/// A record borrowed from a `Fetched`.
#[derive(Debug, Clone, Copy)]
pub struct LogRecord<'a> {
    pub offset: u64,
    pub timestamp_ms: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    origin: Origin<'a>,
}

/// Where a record's bytes live, for its headers and for slices kept beyond the read.
#[derive(Debug, Clone, Copy)]
enum Origin<'a> {
    Batch(&'a RecordBatch, RecordView<'a>),
    Owned(&'a Record),
}

impl<'a> LogRecord<'a> {
    fn in_batch(view: RecordView<'a>, batch: &'a RecordBatch) -> LogRecord<'a> {
        LogRecord {
            offset: view.offset,
            timestamp_ms: view.timestamp_ms,
            key: view.key,
            value: view.value,
            origin: Origin::Batch(batch, view),
        }
    }

    fn owned(r: &'a Record) -> LogRecord<'a> {
        LogRecord {
            offset: r.offset,
            timestamp_ms: r.timestamp_ms,
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            origin: Origin::Owned(r),
        }
    }

    /// Header names and values (None: a null value).
    pub fn headers(&self) -> Headers<'a> {
        match self.origin {
            Origin::Batch(_, v) => Headers::Batch(Box::new(v.headers())),
            Origin::Owned(r) => Headers::Owned(r.headers.iter()),
        }
    }

    /// Whether a header's name satisfies `f`; unlike `headers`, this allocates nothing (it
    /// runs for every record a query reads).
    pub fn any_header_named(&self, f: impl Fn(&[u8]) -> bool) -> bool {
        match self.origin {
            Origin::Batch(_, v) => v.headers().any(|(n, _)| f(n)),
            Origin::Owned(r) => r.headers.iter().any(|h| f(h.name.as_bytes())),
        }
    }

    /// The value of the first header named `name` (None also for a null value).
    pub fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.headers()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v)
    }

    /// An owned `Bytes` of a slice of this record (a key to keep past the read), sharing
    /// the fetched buffer where there is one.
    pub fn keep(&self, s: &[u8]) -> Bytes {
        match self.origin {
            Origin::Batch(b, _) => b.owned(s),
            Origin::Owned(_) => Bytes::copy_from_slice(s),
        }
    }

    /// The record as an owned `Record`.
    pub fn to_record(&self) -> Record {
        match self.origin {
            Origin::Batch(b, v) => b.to_record(&v),
            Origin::Owned(r) => r.clone(),
        }
    }
}

/// A header's name and value (None: a null value).
pub type HeaderRef<'a> = (&'a [u8], Option<&'a [u8]>);

/// Iterator over a record's headers (see `LogRecord::headers`).
pub enum Headers<'a> {
    // Boxed: the embedded log's header iterator is an unnameable type. Headers are read
    // only for the few records that carry them (retractions, transaction tags).
    Batch(Box<dyn Iterator<Item = HeaderRef<'a>> + 'a>),
    Owned(std::slice::Iter<'a, kql_runtime::Header>),
}

impl<'a> Iterator for Headers<'a> {
    type Item = HeaderRef<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Headers::Batch(i) => i.next(),
            Headers::Owned(i) => i.next().map(|h| (h.name.as_bytes(), h.value.as_deref())),
        }
    }
}

/// A header's value as text, or `0x` and hex digits when it is not UTF-8 (PRINT and
/// `kql consume` show headers so).
pub fn header_text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(s) => s.to_string(),
        Err(_) => std::iter::once("0x".to_string())
            .chain(value.iter().map(|b| format!("{b:02x}")))
            .collect(),
    }
}

/// The records of one fetch from one partition, in offset order, and a reader's place in
/// them. Records are taken one at a time (`next_record`) or in runs (`take`).
#[derive(Debug, Default)]
pub struct Fetched {
    source: Source,
    /// Where the next fetch starts: one past the last offset fetched, at most the `until`
    /// of the fetch; None when nothing was fetched.
    resume_at: Option<u64>,
}

#[derive(Debug)]
enum Source {
    /// Batches of the embedded log, read in place.
    Batches(RecordCursor),
    /// Records decoded by a client or held by the in-memory log.
    Owned(OwnedRecords),
}

impl Default for Source {
    fn default() -> Self {
        Source::Batches(RecordCursor::default())
    }
}

/// Owned records and the index of the next one; records at or past `until` are not read.
#[derive(Debug, Default)]
struct OwnedRecords {
    records: Vec<Record>,
    next: usize,
    until: u64,
    taken: u64,
}

impl Fetched {
    /// Batches the embedded log returned, read up to (not including) offset `until`.
    pub fn batches(mut batches: Vec<RecordBatch>, until: u64) -> Fetched {
        let resume_at = batches.last().map(|b| b.next_offset().min(until));
        for b in &mut batches {
            b.limit(until);
        }
        Fetched {
            source: Source::Batches(RecordCursor::new(batches)),
            resume_at,
        }
    }

    /// Records in offset order, read up to (not including) offset `until`; the next fetch
    /// starts one past the last record.
    pub fn records(records: Vec<Record>, until: u64) -> Fetched {
        let next_offset = records.last().map(|r| r.offset + 1);
        Fetched::records_then(records, next_offset, until)
    }

    /// Records a client read, in offset order, up to (not including) offset `until`, and
    /// the offset the client reads next (None when it read nothing). A Kafka client's next
    /// offset can lie past its last record, or be there without any record: transaction
    /// markers, records of aborted transactions and gaps left by compaction take offsets
    /// but are never delivered, and the next fetch must start past them.
    pub fn records_then(records: Vec<Record>, next_offset: Option<u64>, until: u64) -> Fetched {
        let after_last = records.last().map(|r| r.offset + 1);
        let resume_at = next_offset.max(after_last).map(|o| o.min(until));
        Fetched {
            source: Source::Owned(OwnedRecords {
                records,
                next: 0,
                until,
                taken: 0,
            }),
            resume_at,
        }
    }

    /// Where the next fetch starts; None when nothing was fetched.
    pub fn resume_at(&self) -> Option<u64> {
        self.resume_at
    }

    /// Is there a record left? A malformed batch is a `Corrupt` error.
    pub fn has_next(&mut self) -> Result<bool, LogError> {
        match &mut self.source {
            Source::Batches(c) => c.has_next(),
            Source::Owned(o) => Ok(o.peek().is_some()),
        }
    }

    /// The offset of the next record, if there is one.
    pub fn peek_offset(&mut self) -> Result<Option<u64>, LogError> {
        match &mut self.source {
            Source::Batches(c) => c.peek_offset(),
            Source::Owned(o) => Ok(o.peek().map(|r| r.offset)),
        }
    }

    /// The next record, if any.
    pub fn next_record(&mut self) -> Option<Result<LogRecord<'_>, LogError>> {
        self.take(1).next()
    }

    /// The next `n` records at most, taken as they are iterated (a run dropped before its
    /// end leaves the rest).
    pub fn take(&mut self, n: usize) -> Run<'_> {
        match &mut self.source {
            Source::Batches(c) => Run(RunSource::Batches(c.take(n))),
            Source::Owned(o) => Run(RunSource::Owned {
                records: &o.records,
                next: &mut o.next,
                taken: &mut o.taken,
                until: o.until,
                left: n,
            }),
        }
    }

    /// How many records were taken so far.
    pub fn taken(&self) -> u64 {
        match &self.source {
            Source::Batches(c) => c.taken(),
            Source::Owned(o) => o.taken,
        }
    }
}

impl OwnedRecords {
    fn peek(&self) -> Option<&Record> {
        self.records
            .get(self.next)
            .filter(|r| r.offset < self.until)
    }
}

/// A run of records of a `Fetched` (see `Fetched::take`).
pub struct Run<'a>(RunSource<'a>);

enum RunSource<'a> {
    Batches(kql_runtime::Run<'a>),
    Owned {
        records: &'a [Record],
        next: &'a mut usize,
        taken: &'a mut u64,
        until: u64,
        left: usize,
    },
}

impl<'a> Iterator for Run<'a> {
    type Item = Result<LogRecord<'a>, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            RunSource::Batches(run) => run
                .next_in_batch()
                .map(|r| r.map(|(v, b)| LogRecord::in_batch(v, b))),
            RunSource::Owned {
                records,
                next,
                taken,
                until,
                left,
            } => {
                let records: &'a [Record] = records;
                let r = records.get(**next).filter(|r| r.offset < *until)?;
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                **next += 1;
                **taken += 1;
                Some(Ok(LogRecord::owned(r)))
            }
        }
    }
}
