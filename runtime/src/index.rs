//! The per-segment indexes: `.index` (relative offset u32, file position u32) and
//! `.timeindex` (batch max timestamp i64, relative offset u32), one entry per batch, and
//! the in-memory batch table (`BatchLoc`), built by scanning the log (which checks every
//! batch) on open. The index files are derived from it; an old index serves only as a
//! witness of batches the log lost.

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

/// A region of a log file that holds no valid batch, found by `scan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRegion {
    pub pos: u64,
    pub len: u64,
    pub first_offset: u64,
    /// The base offset of the next valid batch (or the bound given to `scan`); None when
    /// the region runs to the end of the file and no bound is known.
    pub end_offset: Option<u64>,
    pub reason: String,
    /// Is it where a batch starts that ends past the end of the file (an incomplete write)?
    pub incomplete: bool,
}

/// Why the bytes at a position are not a valid batch.
struct Invalid {
    reason: String,
    incomplete: bool,
}

impl Invalid {
    fn bad(reason: String) -> Result<BatchLoc, Invalid> {
        Err(Invalid {
            reason,
            incomplete: false,
        })
    }
    fn cut_short(reason: String) -> Result<BatchLoc, Invalid> {
        Err(Invalid {
            reason,
            incomplete: true,
        })
    }
}

/// Reads every batch of a log file in order, checking each one's length and CRC, that its
/// offsets follow the previous batch's (and start at or after the segment's base offset),
/// and that they end at or before `end_bound` (the next segment's base offset). At a batch
/// that fails, it searches forward, byte by byte, for the next batch that passes, and
/// reports the region in between; Kafka's recovery would cut the file there instead,
/// losing every valid batch after it. Returns the valid batches and the bad regions.
pub fn scan(
    log: &File,
    base_offset: u64,
    file_len: u64,
    end_bound: Option<u64>,
) -> Result<(Vec<BatchLoc>, Vec<BadRegion>), LogError> {
    let mut r = Reader::new(log, file_len);
    let mut locs = Vec::new();
    let mut bad = Vec::new();
    let mut pos = 0u64;
    let mut next = base_offset;
    while pos < file_len {
        match r.batch_at(pos, next, end_bound)? {
            Ok(loc) => {
                next = loc.next_offset;
                pos += loc.len as u64;
                locs.push(loc);
            }
            Err(invalid) => {
                let mut resync = None;
                for q in pos + 1..file_len.saturating_sub(HEADER_BYTES as u64 - 1) {
                    if let Ok(loc) = r.batch_at(q, next, end_bound)? {
                        resync = Some(loc);
                        break;
                    }
                }
                let (len, end) = match resync {
                    Some(loc) => (loc.pos - pos, Some(loc.base_offset)),
                    None => (file_len - pos, end_bound),
                };
                bad.push(BadRegion {
                    pos,
                    len,
                    first_offset: next,
                    end_offset: end,
                    reason: invalid.reason,
                    incomplete: invalid.incomplete,
                });
                pos += len;
            }
        }
    }
    Ok((locs, bad))
}

/// Reads a log file through a window of about 1 MiB, so a scan costs a few large reads
/// rather than two per batch.
struct Reader<'a> {
    file: &'a File,
    file_len: u64,
    buf: Vec<u8>,
    start: u64,
}

const WINDOW_BYTES: usize = 1 << 20;

impl<'a> Reader<'a> {
    fn new(file: &'a File, file_len: u64) -> Reader<'a> {
        Reader {
            file,
            file_len,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// `len` bytes at `pos` (the caller checked they are inside the file).
    fn get(&mut self, pos: u64, len: usize) -> Result<&[u8], LogError> {
        let end = self.start + self.buf.len() as u64;
        if pos < self.start || pos + len as u64 > end {
            let n = (self.file_len - pos).min(len.max(WINDOW_BYTES) as u64) as usize;
            self.buf.resize(n, 0);
            self.file.read_exact_at(&mut self.buf, pos)?;
            self.start = pos;
        }
        let at = (pos - self.start) as usize;
        Ok(&self.buf[at..at + len])
    }

    /// The batch at `pos` if it is whole, its CRC right and its offsets in sequence
    /// (outer error: the file could not be read; inner: why this is not a valid batch).
    fn batch_at(
        &mut self,
        pos: u64,
        next: u64,
        end_bound: Option<u64>,
    ) -> Result<Result<BatchLoc, Invalid>, LogError> {
        if pos + HEADER_BYTES as u64 > self.file_len {
            return Ok(Invalid::cut_short(format!(
                "truncated batch header ({} of {HEADER_BYTES} bytes before the end of the file)",
                self.file_len - pos
            )));
        }
        let h = match batch::parse_header(self.get(pos, HEADER_BYTES)?) {
            Ok(h) => h,
            Err(e) => return Ok(Invalid::bad(e)),
        };
        if pos + h.total_bytes as u64 > self.file_len {
            return Ok(Invalid::cut_short(format!(
                "truncated batch ({} of {} bytes before the end of the file)",
                self.file_len - pos,
                h.total_bytes
            )));
        }
        if let Err(e) = batch::check(self.get(pos, h.total_bytes)?) {
            return Ok(Invalid::bad(e));
        }
        if h.base_offset < next {
            return Ok(Invalid::bad(format!(
                "batch of offsets {}..={} is out of sequence (the previous one ended before {next})",
                h.base_offset,
                h.last_offset()
            )));
        }
        if end_bound.is_some_and(|b| h.next_offset() > b) {
            return Ok(Invalid::bad(format!(
                "batch of offsets {}..={} runs past the next segment's base offset {}",
                h.base_offset,
                h.last_offset(),
                end_bound.unwrap_or(0)
            )));
        }
        Ok(Ok(BatchLoc {
            base_offset: h.base_offset,
            next_offset: h.next_offset(),
            pos,
            len: h.total_bytes as u32,
            max_timestamp: h.max_timestamp,
        }))
    }
}

/// The index entries (relative offset, position) of a `.index` file's bytes, if it is a
/// whole number of entries.
fn index_entries(idx: &[u8]) -> Option<Vec<(u64, u64)>> {
    if idx.len() % INDEX_ENTRY_BYTES != 0 {
        return None;
    }
    Some(
        idx.chunks_exact(INDEX_ENTRY_BYTES)
            .map(|e| {
                let rel = u32::from_be_bytes([e[0], e[1], e[2], e[3]]) as u64;
                let pos = u32::from_be_bytes([e[4], e[5], e[6], e[7]]) as u64;
                (rel, pos)
            })
            .collect(),
    )
}

/// Does the old index say that a batch followed the last valid one, where the file now
/// ends? Indexes are written after the log, so an entry for a batch that is not in the log
/// means the log lost it (a truncation at a batch boundary, which a scan alone cannot
/// tell from an intact log). Only an entry exactly at the end of the valid batches, after
/// entries that all agree with them, counts: a damaged index says nothing.
pub fn index_lists_missing_batch(old_index: &[u8], base: u64, locs: &[BatchLoc]) -> bool {
    let Some(entries) = index_entries(old_index) else {
        return false;
    };
    if entries.len() <= locs.len() {
        return false;
    }
    let agree = locs
        .iter()
        .zip(&entries)
        .all(|(l, &(rel, pos))| l.base_offset == base + rel && l.pos == pos);
    let valid_end = locs.last().map_or(0, |l| l.pos + l.len as u64);
    let next = locs.last().map_or(base, |l| l.next_offset);
    let (rel, pos) = entries[locs.len()];
    agree && pos == valid_end && base + rel >= next
}

/// The `.index` and `.timeindex` bytes for a batch table.
pub fn index_bytes(base: u64, locs: &[BatchLoc]) -> (Vec<u8>, Vec<u8>) {
    let mut index = Vec::with_capacity(locs.len() * INDEX_ENTRY_BYTES);
    let mut time = Vec::with_capacity(locs.len() * TIME_ENTRY_BYTES);
    for loc in locs {
        push_entries(&mut index, &mut time, base, loc);
    }
    (index, time)
}
