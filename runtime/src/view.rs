//! Zero-copy batch views for hot read paths: a `RecordBatch` owns one checked batch buffer
//! and iterates `RecordView`s that borrow keys, values and headers from it, with no
//! allocation or reference count per record (unlike `fetch`, which builds a `Record` with
//! `Bytes` slices for each). A `RecordCursor` keeps a reader's place in batches it read
//! ahead, for readers that take records one at a time or in runs.

use bytes::Bytes;

use crate::batch::{self, BatchHeader, HEADER_BYTES};
use crate::error::LogError;
use crate::record::{Header, Record};

/// One batch read from a partition, its CRC and structure checked, limited to the offsets
/// `[from, to)` the read asked for.
#[derive(Debug, Clone)]
pub struct RecordBatch {
    buf: Bytes,
    header: BatchHeader,
    from: u64,
    to: u64,
}

/// A record borrowed from a `RecordBatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub offset: u64,
    pub timestamp_ms: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    headers: &'a [u8],
    header_count: u32,
}

impl RecordBatch {
    /// Checks the CRC (the structure is checked as the records are iterated).
    pub(crate) fn new(buf: Bytes, from: u64, to: u64) -> Result<RecordBatch, LogError> {
        let header = batch::check(&buf).map_err(LogError::Corrupt)?;
        RecordBatch::with_header(buf, header, from, to)
    }

    /// A batch whose CRC was computed or checked by this process on the very bytes of
    /// `buf` (an in-memory segment's batch, see docs/runtime.md): only the header is read.
    pub(crate) fn trusted(buf: Bytes, from: u64, to: u64) -> Result<RecordBatch, LogError> {
        let header = batch::parse_header(&buf).map_err(LogError::Corrupt)?;
        RecordBatch::with_header(buf, header, from, to)
    }

    fn with_header(
        buf: Bytes,
        header: BatchHeader,
        from: u64,
        to: u64,
    ) -> Result<RecordBatch, LogError> {
        if header.total_bytes != buf.len() {
            return Err(LogError::Corrupt(
                "batch length disagrees with buffer".into(),
            ));
        }
        Ok(RecordBatch {
            buf,
            header,
            from,
            to,
        })
    }

    pub fn base_offset(&self) -> u64 {
        self.header.base_offset
    }

    /// One past the last offset this batch holds.
    pub fn next_offset(&self) -> u64 {
        self.header.next_offset()
    }

    /// Leaves out the records at or after `to` (a reader that must stop before the high
    /// watermark).
    pub fn limit(&mut self, to: u64) {
        self.to = self.to.min(to);
    }

    /// An owned `Bytes` for a slice of a view of this batch (a key to keep), sharing the
    /// batch's buffer; a copy if `s` is not inside it.
    pub fn owned(&self, s: &[u8]) -> Bytes {
        if contains(&self.buf, s) {
            self.buf.slice_ref(s)
        } else {
            Bytes::copy_from_slice(s)
        }
    }

    /// The records of the batch inside the requested range, in offset order. A record
    /// whose lengths run past the batch (a batch that passed its CRC yet is malformed: a
    /// hand-made file) is a `Corrupt` error, and ends the iteration.
    pub fn iter(&self) -> RecordIter<'_> {
        RecordIter {
            batch: self,
            at: Place::start(self),
        }
    }

    /// An owned `Record` (with `Bytes` slices of this batch) for a view of this batch.
    pub fn to_record(&self, v: &RecordView<'_>) -> Record {
        let slice = |s: &[u8]| self.buf.slice_ref(s);
        Record {
            offset: v.offset,
            timestamp_ms: v.timestamp_ms,
            key: v.key.map(slice),
            value: v.value.map(slice),
            headers: v
                .headers()
                .map(|(n, val)| Header {
                    name: String::from_utf8_lossy(n).into_owned(),
                    value: val.map(slice),
                })
                .collect(),
        }
    }
}

/// Iterator over the records of a `RecordBatch` (see `RecordBatch::iter`).
pub struct RecordIter<'a> {
    batch: &'a RecordBatch,
    at: Place,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<RecordView<'a>, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.at.next_in(self.batch)
    }
}

/// A place in one batch: the byte position of the next record and how many records of the
/// batch are left from there.
#[derive(Debug, Clone, Copy)]
struct Place {
    pos: usize,
    left: u32,
}

impl Place {
    fn start(b: &RecordBatch) -> Place {
        Place {
            pos: HEADER_BYTES,
            left: b.header.record_count,
        }
    }

    /// The next record of `b` in its range, moving past it; None at the end of the range.
    #[inline]
    fn next_in<'a>(&mut self, b: &'a RecordBatch) -> Option<Result<RecordView<'a>, LogError>> {
        while self.left > 0 {
            self.left -= 1;
            let Some(v) = next_record(&b.buf, &mut self.pos, b.header.base_offset) else {
                self.left = 0;
                return Some(Err(LogError::Corrupt(format!(
                    "batch at offset {} is malformed",
                    b.header.base_offset
                ))));
            };
            if v.offset >= b.to {
                self.left = 0;
                return None;
            }
            if v.offset >= b.from {
                return Some(Ok(v));
            }
        }
        None
    }

    /// Is the next record of `b` in its range? Skips records below it; reads only the
    /// offset of the record it stops at.
    #[inline]
    fn ready_in(&mut self, b: &RecordBatch) -> Result<bool, LogError> {
        while self.left > 0 {
            let Some(delta) = u32_at(&b.buf, self.pos) else {
                self.left = 0;
                return Err(LogError::Corrupt(format!(
                    "batch at offset {} is malformed",
                    b.header.base_offset
                )));
            };
            let offset = b.header.base_offset + delta as u64;
            if offset >= b.to {
                self.left = 0;
                return Ok(false);
            }
            if offset >= b.from {
                return Ok(true);
            }
            // Below the range: move past this one record.
            self.left -= 1;
            if next_record(&b.buf, &mut self.pos, b.header.base_offset).is_none() {
                self.left = 0;
                return Err(LogError::Corrupt(format!(
                    "batch at offset {} is malformed",
                    b.header.base_offset
                )));
            }
        }
        Ok(false)
    }
}

/// Batches read ahead and a reader's place in them: records are taken one at a time
/// (`next`) or in runs (`take`), borrowed from the batches, with no allocation or
/// reference count per record.
#[derive(Debug, Default)]
pub struct RecordCursor {
    batches: Vec<RecordBatch>,
    /// The batch the place is in, and the place.
    batch: usize,
    at: Option<Place>,
    taken: u64,
}

impl RecordCursor {
    /// A cursor at the first record of `batches` (each limited to its range).
    pub fn new(batches: Vec<RecordBatch>) -> RecordCursor {
        let at = batches.first().map(Place::start);
        RecordCursor {
            batches,
            batch: 0,
            at,
            taken: 0,
        }
    }

    /// Is there a record left? Moves past finished batches and records below a batch's
    /// range; a malformed batch is a `Corrupt` error.
    #[inline]
    pub fn has_next(&mut self) -> Result<bool, LogError> {
        while let (Some(b), Some(at)) = (self.batches.get(self.batch), self.at.as_mut()) {
            if at.ready_in(b)? {
                return Ok(true);
            }
            self.batch += 1;
            self.at = self.batches.get(self.batch).map(Place::start);
        }
        Ok(false)
    }

    /// The next record, if any, with the batch it is in (to keep slices of it with
    /// `RecordBatch::owned`).
    #[inline]
    pub fn next_record(&mut self) -> Option<Result<(RecordView<'_>, &RecordBatch), LogError>> {
        self.take(1).next_in_batch()
    }

    /// The next `n` records at most, taken as they are iterated (a run dropped before its
    /// end leaves the rest in the cursor).
    #[inline]
    pub fn take(&mut self, n: usize) -> Run<'_> {
        Run {
            batches: &self.batches,
            batch: &mut self.batch,
            at: &mut self.at,
            taken: &mut self.taken,
            left: n,
        }
    }

    /// The offset of the next record, if there is one (see `has_next`).
    pub fn peek_offset(&mut self) -> Result<Option<u64>, LogError> {
        if !self.has_next()? {
            return Ok(None);
        }
        let (b, at) = (
            &self.batches[self.batch],
            self.at.expect("has a next record"),
        );
        Ok(u32_at(&b.buf, at.pos).map(|d| b.header.base_offset + d as u64))
    }

    /// How many records were taken since the cursor was made.
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// The batches the cursor reads.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }
}

/// A run of records of a `RecordCursor` (see `RecordCursor::take`).
pub struct Run<'a> {
    batches: &'a [RecordBatch],
    batch: &'a mut usize,
    at: &'a mut Option<Place>,
    taken: &'a mut u64,
    left: usize,
}

impl<'a> Iterator for Run<'a> {
    type Item = Result<RecordView<'a>, LogError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_in_batch().map(|r| r.map(|(v, _)| v))
    }
}

impl<'a> Run<'a> {
    /// The next record and its batch.
    #[inline]
    pub fn next_in_batch(&mut self) -> Option<Result<(RecordView<'a>, &'a RecordBatch), LogError>> {
        if self.left == 0 {
            return None;
        }
        let batches = self.batches;
        loop {
            let b = batches.get(*self.batch)?;
            let at = self.at.as_mut()?;
            match at.next_in(b) {
                Some(r) => {
                    self.left -= 1;
                    *self.taken += 1;
                    return Some(r.map(|v| (v, b)));
                }
                None => {
                    *self.batch += 1;
                    *self.at = batches.get(*self.batch).map(Place::start);
                }
            }
        }
    }
}

fn contains(buf: &[u8], s: &[u8]) -> bool {
    let (start, end) = (buf.as_ptr() as usize, buf.as_ptr() as usize + buf.len());
    let p = s.as_ptr() as usize;
    p >= start && p + s.len() <= end
}

impl<'a> RecordView<'a> {
    /// Header names and values (None: a null value).
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> {
        let buf = self.headers;
        let mut pos = 0;
        (0..self.header_count).map_while(move |_| {
            let name = field(buf, &mut pos)?;
            let value = header_value(buf, &mut pos)?;
            Some((name, value))
        })
    }
}

#[inline]
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[inline]
fn field<'a>(b: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let n = u32_at(b, *pos)? as usize;
    let s = b.get(*pos + 4..*pos + 4 + n)?;
    *pos += 4 + n;
    Some(s)
}

#[inline]
fn header_value<'a>(b: &'a [u8], pos: &mut usize) -> Option<Option<&'a [u8]>> {
    if u32_at(b, *pos)? == crate::batch::NULL_HEADER_VALUE {
        *pos += 4;
        return Some(None);
    }
    field(b, pos).map(Some)
}

#[inline]
fn nullable<'a>(b: &'a [u8], pos: &mut usize) -> Option<Option<&'a [u8]>> {
    let n = u32_at(b, *pos)? as i32;
    *pos += 4;
    if n < 0 {
        return Some(None);
    }
    let s = b.get(*pos..*pos + n as usize)?;
    *pos += n as usize;
    Some(Some(s))
}

#[inline]
fn next_record<'a>(b: &'a [u8], pos: &mut usize, base: u64) -> Option<RecordView<'a>> {
    let offset = base + u32_at(b, *pos)? as u64;
    let ts = u64::from_be_bytes(b.get(*pos + 4..*pos + 12)?.try_into().ok()?) as i64;
    *pos += 12;
    let key = nullable(b, pos)?;
    let value = nullable(b, pos)?;
    let header_count = u32_at(b, *pos)?;
    *pos += 4;
    let start = *pos;
    for _ in 0..header_count {
        field(b, pos)?;
        header_value(b, pos)?;
    }
    Some(RecordView {
        offset,
        timestamp_ms: ts,
        key,
        value,
        headers: &b[start..*pos],
        header_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_borrow_the_batch_and_agree_with_decode() {
        let rs: Vec<Record> = (0..5)
            .map(|i| Record {
                offset: 10 + i * 2,
                timestamp_ms: i as i64,
                key: (i % 2 == 0).then(|| Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(format!("v{i}"))),
                headers: vec![Header {
                    name: "h".into(),
                    // every third value is null (magic 3)
                    value: (i % 3 != 0).then(|| Bytes::from(format!("x{i}"))),
                }],
            })
            .collect();
        let buf = batch::encode(&rs, 0);
        let b = RecordBatch::new(buf.clone(), 12, 18).unwrap();
        let got: Vec<Record> = b.iter().map(|v| b.to_record(&v.unwrap())).collect();
        assert_eq!(got, rs[1..4].to_vec());
        let v = b.iter().next().unwrap().unwrap();
        assert_eq!(
            v.headers().collect::<Vec<_>>(),
            vec![(&b"h"[..], Some(&b"x1"[..]))]
        );
        let null = b.iter().nth(2).unwrap().unwrap();
        assert_eq!(null.headers().collect::<Vec<_>>(), vec![(&b"h"[..], None)]);
        let mut bad = buf.to_vec();
        bad[HEADER_BYTES + 2] ^= 1;
        assert!(RecordBatch::new(Bytes::from(bad), 0, 100).is_err());
        // A malformed record behind a good CRC (a hand-made batch) is an error, not a panic.
        let mut forged = buf.to_vec();
        let key_len_at = HEADER_BYTES + 12;
        forged[key_len_at..key_len_at + 4].copy_from_slice(&1_000_000i32.to_be_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&forged[..12]), &forged[16..]);
        forged[12..16].copy_from_slice(&crc.to_be_bytes());
        let b = RecordBatch::new(Bytes::from(forged), 0, 100).unwrap();
        assert!(matches!(b.iter().next(), Some(Err(LogError::Corrupt(_)))));
    }
}
