//! The per-segment indexes: `.index` (relative offset u32, file position u32) and
//! `.timeindex` (batch max timestamp i64, relative offset u32), one entry per batch, and
//! the in-memory batch table (`BatchLoc`) built from them, checked against the log, or
//! rebuilt by scanning the log (recovery).

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::batch::{self, HEADER_BYTES};
use crate::error::LogError;

pub const INDEX_ENTRY_BYTES: usize = 8;
pub const TIME_ENTRY_BYTES: usize = 12;

/// Where one batch is, and what the log needs to know about it without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLoc {
    pub base_offset: u64,
    pub next_offset: u64,
    pub pos: u64,
    pub len: u32,
    pub max_timestamp: i64,
}

/// Appends one batch's entries to the pending index and time index buffers.
pub fn push_entries(index: &mut Vec<u8>, time: &mut Vec<u8>, base: u64, loc: &BatchLoc) {
    let rel = (loc.base_offset - base) as u32;
    index.extend_from_slice(&rel.to_be_bytes());
    index.extend_from_slice(&(loc.pos as u32).to_be_bytes());
    time.extend_from_slice(&loc.max_timestamp.to_be_bytes());
    time.extend_from_slice(&rel.to_be_bytes());
}

/// Reads every batch of a log file in order, checking lengths and CRCs; stops at the first
/// invalid one (a torn write after a crash) and returns the valid prefix.
pub fn scan(log: &File, base_offset: u64, file_len: u64) -> Result<Vec<BatchLoc>, LogError> {
    let mut locs = Vec::new();
    let mut pos = 0u64;
    let mut buf = Vec::new();
    let mut next = base_offset;
    while pos + HEADER_BYTES as u64 <= file_len {
        let mut hb = [0u8; HEADER_BYTES];
        log.read_exact_at(&mut hb, pos)?;
        let Ok(h) = batch::parse_header(&hb) else {
            break;
        };
        if pos + h.total_bytes as u64 > file_len || h.base_offset < next {
            break;
        }
        buf.resize(h.total_bytes, 0);
        log.read_exact_at(&mut buf, pos)?;
        if batch::check(&buf).is_err() {
            break;
        }
        locs.push(BatchLoc {
            base_offset: h.base_offset,
            next_offset: h.next_offset(),
            pos,
            len: h.total_bytes as u32,
            max_timestamp: h.max_timestamp,
        });
        next = h.next_offset();
        pos += h.total_bytes as u64;
    }
    Ok(locs)
}

/// The batch table as the index files tell it, if they agree with the log of `log_len`
/// bytes (positions increasing and inside it, the last batch's header ending the file).
pub fn locs_from_indexes(
    log: &File,
    index: &File,
    timeindex: &File,
    base: u64,
    log_len: u64,
) -> Option<Vec<BatchLoc>> {
    let read_all = |f: &File| -> Option<Vec<u8>> {
        let n = f.metadata().ok()?.len() as usize;
        let mut v = vec![0u8; n];
        f.read_exact_at(&mut v, 0).ok()?;
        Some(v)
    };
    let idx = read_all(index)?;
    let tidx = read_all(timeindex)?;
    if idx.len() % INDEX_ENTRY_BYTES != 0 || tidx.len() % TIME_ENTRY_BYTES != 0 {
        return None;
    }
    let n = idx.len() / INDEX_ENTRY_BYTES;
    if tidx.len() / TIME_ENTRY_BYTES != n || (n == 0) != (log_len == 0) {
        return None;
    }
    let mut locs: Vec<BatchLoc> = Vec::with_capacity(n);
    for k in 0..n {
        let e = &idx[k * 8..k * 8 + 8];
        let rel = u32::from_be_bytes(e[0..4].try_into().ok()?) as u64;
        let pos = u32::from_be_bytes(e[4..8].try_into().ok()?) as u64;
        let t = &tidx[k * 12..k * 12 + 12];
        let ts = i64::from_be_bytes(t[0..8].try_into().ok()?);
        if u32::from_be_bytes(t[8..12].try_into().ok()?) as u64 != rel {
            return None;
        }
        if let Some(prev) = locs.last_mut() {
            if pos <= prev.pos || base + rel <= prev.base_offset {
                return None;
            }
            prev.len = (pos - prev.pos) as u32;
        } else if pos != 0 {
            return None;
        }
        locs.push(BatchLoc {
            base_offset: base + rel,
            next_offset: 0,
            pos,
            len: 0,
            max_timestamp: ts,
        });
    }
    if let Some(last) = locs.last_mut() {
        if last.pos >= log_len {
            return None;
        }
        let mut hb = [0u8; HEADER_BYTES];
        log.read_exact_at(&mut hb, last.pos).ok()?;
        let h = batch::parse_header(&hb).ok()?;
        if h.base_offset != last.base_offset || last.pos + h.total_bytes as u64 != log_len {
            return None;
        }
        last.len = h.total_bytes as u32;
        last.next_offset = h.next_offset();
    }
    // Every entry must point at the header of a batch with its base offset and length, or
    // a skipped batch would go unnoticed. One 45-byte read per batch, at open only.
    let n = locs.len();
    for loc in locs.iter_mut().take(n.saturating_sub(1)) {
        let mut hb = [0u8; HEADER_BYTES];
        log.read_exact_at(&mut hb, loc.pos).ok()?;
        let h = batch::parse_header(&hb).ok()?;
        if h.base_offset != loc.base_offset || h.total_bytes as u32 != loc.len {
            return None;
        }
        loc.next_offset = h.next_offset();
    }
    Some(locs)
}
