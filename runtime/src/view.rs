//! Zero-copy batch views for hot read paths: a `RecordBatch` owns one checked batch buffer
//! and iterates `RecordView`s that borrow keys, values and headers from it, with no
//! allocation or reference count per record (unlike `fetch`, which builds a `Record` with
//! `Bytes` slices for each).

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

    /// The records of the batch inside the requested range, in offset order. A record
    /// whose lengths run past the batch (a batch that passed its CRC yet is malformed: a
    /// hand-made file) is a `Corrupt` error, and ends the iteration.
    pub fn iter(&self) -> RecordIter<'_> {
        RecordIter {
            batch: self,
            pos: HEADER_BYTES,
            left: self.header.record_count,
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
                    value: slice(val),
                })
                .collect(),
        }
    }
}

/// Iterator over the records of a `RecordBatch` (see `RecordBatch::iter`).
pub struct RecordIter<'a> {
    batch: &'a RecordBatch,
    pos: usize,
    left: u32,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<RecordView<'a>, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.batch;
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
}

impl<'a> RecordView<'a> {
    /// Header names and values.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        let buf = self.headers;
        let mut pos = 0;
        (0..self.header_count).map_while(move |_| {
            let name = field(buf, &mut pos)?;
            let value = field(buf, &mut pos)?;
            Some((name, value))
        })
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn field<'a>(b: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let n = u32_at(b, *pos)? as usize;
    let s = b.get(*pos + 4..*pos + 4 + n)?;
    *pos += 4 + n;
    Some(s)
}

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
        field(b, pos)?;
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
                    value: Bytes::from(format!("x{i}")),
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
            vec![(&b"h"[..], &b"x1"[..])]
        );
        let mut bad = buf.to_vec();
        bad[HEADER_BYTES + 2] ^= 1;
        assert!(RecordBatch::new(Bytes::from(bad), 0, 100).is_err());
        // A malformed record behind a good CRC (a hand-made batch) is an error, not a panic.
        let mut forged = buf.to_vec();
        let key_len_at = HEADER_BYTES + 12;
        forged[key_len_at..key_len_at + 4].copy_from_slice(&1_000_000i32.to_be_bytes());
        let crc = crc32c::crc32c(&forged[16..]);
        forged[12..16].copy_from_slice(&crc.to_be_bytes());
        let b = RecordBatch::new(Bytes::from(forged), 0, 100).unwrap();
        assert!(matches!(b.iter().next(), Some(Err(LogError::Corrupt(_)))));
    }
}
