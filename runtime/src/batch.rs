//! The on-disk (and in-memory) record batch: a fixed header with a CRC-32C over every other
//! byte of the batch, then the records. Encoding checks the CRC it wrote; decoding checks
//! it again and hands out `Bytes` slices of the one buffer (no per-record payload copy).
//!
//! Layout (big-endian):
//!
//! ```text
//!  0 base_offset        u64
//!  8 batch_len          u32   bytes after this field
//! 12 crc                u32   CRC-32C of bytes [0..12] then [16..] (magic 2)
//! 16 magic              u8    = 2, or 3 when a header value is null (1: the first
//!                             format, whose CRC covered [16..] only)
//! 17 leader_epoch       u32
//! 21 last_offset_delta  u32
//! 25 first_timestamp    i64
//! 33 max_timestamp      i64
//! 41 record_count       u32
//! 45 records: offset_delta u32, timestamp i64, key_len i32 (-1 = null), key,
//!             value_len i32 (-1 = null), value, header_count u32,
//!             headers: name_len u32, name, value_len u32 (0xffffffff = null, magic 3
//!             only), value
//! ```
//!
//! Offsets inside a batch are increasing but need not be dense (compaction removes records).
//! Unlike Kafka's v2 batch, the base offset and length are under the CRC too: offsets are
//! assigned before a batch is encoded and never rewritten in place, so nothing needs them
//! outside it, and a flipped bit there is caught like any other. Magic 1 batches (written
//! before this) are still read: their CRC starts at byte 16, and their base offsets are
//! checked only as a sequence (see `index::scan`).

use bytes::Bytes;

use crate::error::LogError;
use crate::limits::{BATCH_BYTES_MAX, BATCH_RECORDS_MAX};
use crate::record::{Header, Record};

pub const HEADER_BYTES: usize = 45;
const LEN_END: usize = 12;
const CRC_END: usize = 16;
const MAGIC: u8 = 2;
/// Magic 2 with null header values: written only by a batch that has one.
const MAGIC_NULL_HEADERS: u8 = 3;
/// The header value length that stands for a null value (magic 3).
pub(crate) const NULL_HEADER_VALUE: u32 = u32::MAX;
/// The first format: CRC over bytes [16..] only. Read, never written.
const MAGIC_V1: u8 = 1;

/// What the fixed header says about a batch, read without decoding the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: u64,
    /// Whole batch size in bytes, header included.
    pub total_bytes: usize,
    pub crc: u32,
    pub leader_epoch: u32,
    pub last_offset_delta: u32,
    pub first_timestamp: i64,
    pub max_timestamp: i64,
    pub record_count: u32,
}

impl BatchHeader {
    pub fn last_offset(&self) -> u64 {
        self.base_offset + self.last_offset_delta as u64
    }
    pub fn next_offset(&self) -> u64 {
        self.last_offset() + 1
    }
}

/// A record to encode, borrowed from a `Record` or a `ProducerRecord` with its offset and
/// timestamp assigned.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    pub offset: u64,
    pub timestamp_ms: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [Header],
}

impl<'a> From<&'a Record> for RecordRef<'a> {
    fn from(r: &'a Record) -> Self {
        RecordRef {
            offset: r.offset,
            timestamp_ms: r.timestamp_ms,
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            headers: &r.headers,
        }
    }
}

/// The encoded size of one record inside a batch.
pub fn ref_bytes(r: &RecordRef) -> usize {
    let k = r.key.map_or(0, |k| k.len());
    let v = r.value.map_or(0, |v| v.len());
    let h: usize = r
        .headers
        .iter()
        .map(|h| 8 + h.name.len() + h.value.as_ref().map_or(0, |v| v.len()))
        .sum();
    4 + 8 + 4 + k + 4 + v + 4 + h
}

/// Encodes records (offsets already assigned, increasing).
pub fn encode(records: &[Record], leader_epoch: u32) -> Bytes {
    let refs: Vec<RecordRef> = records.iter().map(RecordRef::from).collect();
    encode_refs(&refs, leader_epoch)
}

/// Encodes borrowed records (offsets increasing) into one batch.
pub fn encode_refs(records: &[RecordRef], leader_epoch: u32) -> Bytes {
    assert!(!records.is_empty(), "a batch holds at least one record");
    assert!(records.len() <= BATCH_RECORDS_MAX);
    let base = records[0].offset;
    let last = records[records.len() - 1].offset;
    let body: usize = records.iter().map(ref_bytes).sum();
    let total = HEADER_BYTES + body;
    let mut buf: Vec<u8> = Vec::with_capacity(total);
    buf.extend_from_slice(&base.to_be_bytes());
    buf.extend_from_slice(&((total - LEN_END) as u32).to_be_bytes());
    buf.extend_from_slice(&0u32.to_be_bytes()); // CRC, filled below
                                                // A batch that needs magic 3 (a null header value) says so, and an older reader
                                                // refuses it instead of misreading it; every other batch keeps magic 2.
    let null_header = records
        .iter()
        .any(|r| r.headers.iter().any(|h| h.value.is_none()));
    let magic = if null_header {
        MAGIC_NULL_HEADERS
    } else {
        MAGIC
    };
    buf.push(magic);
    buf.extend_from_slice(&leader_epoch.to_be_bytes());
    let span = u32::try_from(last - base).expect("batch offset span fits u32");
    buf.extend_from_slice(&span.to_be_bytes());
    buf.extend_from_slice(&records[0].timestamp_ms.to_be_bytes());
    let max_ts = records.iter().map(|r| r.timestamp_ms).max().unwrap_or(0);
    buf.extend_from_slice(&max_ts.to_be_bytes());
    buf.extend_from_slice(&(records.len() as u32).to_be_bytes());
    let mut prev = None;
    for r in records {
        assert!(prev < Some(r.offset), "offsets increase in a batch");
        prev = Some(r.offset);
        let mut fixed = [0u8; 12];
        fixed[..4].copy_from_slice(&((r.offset - base) as u32).to_be_bytes());
        fixed[4..].copy_from_slice(&r.timestamp_ms.to_be_bytes());
        buf.extend_from_slice(&fixed);
        put_nullable(&mut buf, r.key);
        put_nullable(&mut buf, r.value);
        buf.extend_from_slice(&(r.headers.len() as u32).to_be_bytes());
        for h in r.headers {
            buf.extend_from_slice(&(h.name.len() as u32).to_be_bytes());
            buf.extend_from_slice(h.name.as_bytes());
            match &h.value {
                Some(v) => {
                    buf.extend_from_slice(&(v.len() as u32).to_be_bytes());
                    buf.extend_from_slice(v);
                }
                None => buf.extend_from_slice(&NULL_HEADER_VALUE.to_be_bytes()),
            }
        }
    }
    assert_eq!(buf.len(), total);
    let crc = batch_crc(&buf, magic);
    buf[LEN_END..CRC_END].copy_from_slice(&crc.to_be_bytes());
    let out = Bytes::from(buf);
    // The other side of the boundary: what we hand to storage must read back.
    debug_assert!(check(&out).is_ok());
    out
}

fn put_nullable(buf: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(b) => {
            buf.extend_from_slice(&(b.len() as i32).to_be_bytes());
            buf.extend_from_slice(b);
        }
    }
}

/// Reads the fixed header of the batch at the start of `buf`, or says why it cannot.
/// `buf` may be longer than the batch; it must hold at least `HEADER_BYTES`.
pub fn parse_header(buf: &[u8]) -> Result<BatchHeader, String> {
    if buf.len() < HEADER_BYTES {
        return Err(format!(
            "truncated batch header ({} of {HEADER_BYTES} bytes)",
            buf.len()
        ));
    }
    let len = u32_at(buf, 8) as usize;
    let total = len + LEN_END;
    if !(HEADER_BYTES..=BATCH_BYTES_MAX).contains(&total) {
        return Err(format!("batch length {total} out of range"));
    }
    if ![MAGIC, MAGIC_NULL_HEADERS, MAGIC_V1].contains(&buf[16]) {
        return Err(format!("unknown batch magic {}", buf[16]));
    }
    let h = BatchHeader {
        base_offset: u64_at(buf, 0),
        total_bytes: total,
        crc: u32_at(buf, 12),
        leader_epoch: u32_at(buf, 17),
        last_offset_delta: u32_at(buf, 21),
        first_timestamp: u64_at(buf, 25) as i64,
        max_timestamp: u64_at(buf, 33) as i64,
        record_count: u32_at(buf, 41),
    };
    // What the header says must be possible, so no later arithmetic overflows: at least
    // one record, no more records than offsets, the last offset representable.
    if h.record_count == 0 || h.record_count as u64 > h.last_offset_delta as u64 + 1 {
        return Err(format!(
            "batch of {} record(s) spanning {} offset(s)",
            h.record_count,
            h.last_offset_delta as u64 + 1
        ));
    }
    if h.base_offset > u64::MAX / 2 {
        return Err(format!("batch base offset {} out of range", h.base_offset));
    }
    Ok(h)
}

/// The CRC-32C a batch of this magic carries (`buf` holds exactly one batch).
fn batch_crc(buf: &[u8], magic: u8) -> u32 {
    if magic == MAGIC_V1 {
        return crc32c::crc32c(&buf[CRC_END..]);
    }
    crc32c::crc32c_append(crc32c::crc32c(&buf[..LEN_END]), &buf[CRC_END..])
}

/// Checks that `buf` starts with a whole batch whose CRC is right; returns its header.
pub fn check(buf: &[u8]) -> Result<BatchHeader, String> {
    let h = parse_header(buf)?;
    if buf.len() < h.total_bytes {
        return Err(format!(
            "truncated batch ({} of {} bytes)",
            buf.len(),
            h.total_bytes
        ));
    }
    let crc = batch_crc(&buf[..h.total_bytes], buf[16]);
    if crc != h.crc {
        return Err(format!(
            "checksum mismatch in the batch that says it holds offsets {}..={} (stored \
             {:08x}, computed {crc:08x})",
            h.base_offset,
            h.last_offset(),
            h.crc
        ));
    }
    Ok(h)
}

/// Decodes one whole batch (exactly one: `batch.len()` is its size), pushing records with
/// offsets in `[from, to)` onto `out`. Keys, values and header values are slices of `batch`.
/// Returns the batch's header.
pub fn decode_into(
    batch: &Bytes,
    from: u64,
    to: u64,
    max: usize,
    out: &mut Vec<Record>,
) -> Result<BatchHeader, LogError> {
    let h = check(batch).map_err(LogError::Corrupt)?;
    let end = h.total_bytes;
    let corrupt = || {
        LogError::Corrupt(format!(
            "batch of offsets {}..={} is malformed",
            h.base_offset,
            h.last_offset()
        ))
    };
    let mut pos = HEADER_BYTES;
    for _ in 0..h.record_count {
        if out.len() >= max || pos + 16 > end {
            break;
        }
        let offset = h.base_offset + u32_at(batch, pos) as u64;
        if offset >= to {
            break;
        }
        let timestamp_ms = u64_at(batch, pos + 4) as i64;
        pos += 12;
        // Lengths first; payload slices (a reference count each) only for records kept.
        let key = nullable_span(batch, &mut pos, end).ok_or_else(corrupt)?;
        let value = nullable_span(batch, &mut pos, end).ok_or_else(corrupt)?;
        if pos + 4 > end {
            return Err(corrupt());
        }
        let n_headers = u32_at(batch, pos) as usize;
        pos += 4;
        let keep = offset >= from;
        let mut headers = Vec::new();
        for _ in 0..n_headers {
            let name = span(batch, &mut pos, end).ok_or_else(corrupt)?;
            let value = header_value_span(batch, &mut pos, end).ok_or_else(corrupt)?;
            if keep {
                headers.push(Header {
                    name: String::from_utf8_lossy(&batch[name]).into_owned(),
                    value: value.map(|v| batch.slice(v)),
                });
            }
        }
        if keep {
            out.push(Record {
                offset,
                timestamp_ms,
                key: key.map(|r| batch.slice(r)),
                value: value.map(|r| batch.slice(r)),
                headers,
            });
        }
    }
    Ok(h)
}

/// Decodes every record of one batch.
pub fn decode(batch: &Bytes) -> Result<Vec<Record>, LogError> {
    let mut out = Vec::new();
    decode_into(batch, 0, u64::MAX, usize::MAX, &mut out)?;
    Ok(out)
}

/// The byte range of a nullable field (i32 length, -1 for null) at `pos`.
fn nullable_span(
    buf: &[u8],
    pos: &mut usize,
    end: usize,
) -> Option<Option<std::ops::Range<usize>>> {
    if *pos + 4 > end {
        return None;
    }
    let n = u32_at(buf, *pos) as i32;
    *pos += 4;
    if n < 0 {
        return Some(None);
    }
    let r = *pos..*pos + n as usize;
    if r.end > end {
        return None;
    }
    *pos = r.end;
    Some(Some(r))
}

/// The byte range of a header value (u32 length, `NULL_HEADER_VALUE` for null) at `pos`.
fn header_value_span(
    buf: &[u8],
    pos: &mut usize,
    end: usize,
) -> Option<Option<std::ops::Range<usize>>> {
    if *pos + 4 <= end && u32_at(buf, *pos) == NULL_HEADER_VALUE {
        *pos += 4;
        return Some(None);
    }
    span(buf, pos, end).map(Some)
}

/// The byte range of a field with a u32 length at `pos`.
fn span(buf: &[u8], pos: &mut usize, end: usize) -> Option<std::ops::Range<usize>> {
    if *pos + 4 > end {
        return None;
    }
    let n = u32_at(buf, *pos) as usize;
    let r = *pos + 4..*pos + 4 + n;
    if r.end > end {
        return None;
    }
    *pos = r.end;
    Some(r)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(offset: u64, key: Option<&'static [u8]>, value: Option<&'static [u8]>) -> Record {
        Record {
            offset,
            timestamp_ms: 1000 + offset as i64,
            key: key.map(Bytes::from_static),
            value: value.map(Bytes::from_static),
            headers: vec![Header {
                name: "h".into(),
                value: Some(Bytes::from_static(b"x")),
            }],
        }
    }

    #[test]
    fn a_null_header_value_round_trips_in_a_magic_3_batch() {
        let plain = vec![rec(0, Some(b"k"), Some(b"v"))];
        assert_eq!(encode(&plain, 0)[16], MAGIC);
        let mut with_null = plain.clone();
        with_null[0].headers.push(Header {
            name: "gone".into(),
            value: None,
        });
        with_null[0].headers.push(Header {
            name: "empty".into(),
            value: Some(Bytes::new()),
        });
        let b = encode(&with_null, 0);
        assert_eq!(b[16], MAGIC_NULL_HEADERS);
        assert_eq!(decode(&b).unwrap(), with_null);
    }

    #[test]
    fn round_trips_with_gaps_and_nulls() {
        let rs = vec![
            rec(10, Some(b"k"), Some(b"v")),
            rec(12, None, None),
            rec(15, Some(b""), Some(b"value")),
        ];
        let b = encode(&rs, 3);
        let h = check(&b).unwrap();
        assert_eq!(
            (h.base_offset, h.last_offset(), h.leader_epoch),
            (10, 15, 3)
        );
        assert_eq!(decode(&b).unwrap(), rs);
        let mut out = Vec::new();
        decode_into(&b, 11, 15, 10, &mut out).unwrap();
        assert_eq!(out, vec![rs[1].clone()]);
    }

    #[test]
    fn a_flipped_bit_is_caught() {
        let b = encode(&[rec(0, Some(b"k"), Some(b"v"))], 0);
        let mut m = b.to_vec();
        let last = m.len() - 1;
        m[last] ^= 1;
        assert!(check(&m).unwrap_err().contains("checksum mismatch"));
        assert!(decode(&Bytes::from(m)).is_err());
        assert!(check(&b[..b.len() - 1]).unwrap_err().contains("truncated"));
    }

    #[test]
    fn every_bit_of_a_batch_is_under_its_checksum() {
        let b = encode(
            &[rec(7, Some(b"k"), Some(b"v")), rec(9, None, Some(b"w"))],
            2,
        );
        for byte in 0..b.len() {
            for bit in 0..8 {
                let mut m = b.to_vec();
                m[byte] ^= 1 << bit;
                assert!(
                    check(&m).is_err(),
                    "flip of bit {bit} of byte {byte} passed"
                );
            }
        }
    }

    #[test]
    fn a_first_format_batch_is_still_read() {
        let rs = vec![rec(3, Some(b"k"), Some(b"v"))];
        let mut m = encode(&rs, 0).to_vec();
        m[16] = MAGIC_V1;
        let crc = crc32c::crc32c(&m[CRC_END..]);
        m[LEN_END..CRC_END].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(decode(&Bytes::from(m)).unwrap(), rs);
    }
}
