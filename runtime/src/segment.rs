//! One segment of a partition log: batches in offset order, in a `{base_offset:020}.log`
//! file with a `.index` (relative offset -> file position, one entry per batch) and a
//! `.timeindex` (batch max timestamp, relative offset), or in memory as a list of batches.
//! Opening a segment checks every batch of its log, reports the regions that hold no valid
//! batch, cuts only a torn tail of the active segment, and rebuilds indexes that disagree.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use bytes::Bytes;

use crate::batch::{self, BatchHeader, HEADER_BYTES};
use crate::damage::{Damage, DamageAction};
use crate::error::LogError;
pub use crate::index::BatchLoc;
use crate::index::{index_bytes, index_lists_missing_batch, push_entries, scan, BadRegion};
use crate::spill::SpillFile;

enum Store {
    Memory(MemoryBatches),
    File(Files),
}

/// The batches of an in-memory segment, the older ones perhaps spilled to the log's spill
/// file (`spill.rs`): `batches[..ram_from]` may be spilled, the rest are in memory.
#[derive(Default)]
struct MemoryBatches {
    batches: Vec<Held>,
    spill: Option<Arc<SpillFile>>,
    ram_from: usize,
    ram_bytes: u64,
}

enum Held {
    Ram(Bytes),
    /// Written to the spill file at this position (its length is the batch's `BatchLoc`).
    Spilled(u64),
}

/// A segment in files. Only the log file stays open: the indexes are opened when entries
/// are written (at sync, roll and close), so a segment holds one file descriptor, and a
/// data directory of thousands of partitions stays within the open file limit.
struct Files {
    log: File,
    log_path: PathBuf,
    index_path: PathBuf,
    time_path: PathBuf,
    /// Index entries not yet written: indexes are rebuilt on recovery, so they are written
    /// at sync, roll and close rather than once per batch.
    index_pending: Vec<u8>,
    time_pending: Vec<u8>,
    /// Entries written since the indexes were last synced.
    index_unsynced: bool,
}

impl Files {
    fn new(log: File, log_path: PathBuf, index_path: PathBuf, time_path: PathBuf) -> Files {
        Files {
            log,
            log_path,
            index_path,
            time_path,
            index_pending: Vec::new(),
            time_pending: Vec::new(),
            index_unsynced: false,
        }
    }
}

/// Appends `bytes` to the file at `path` (created if missing; emptied first with
/// `replace`), and syncs it with `fsync`.
fn write_index(path: &Path, bytes: &[u8], replace: bool, fsync: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = OpenOptions::new()
        .create(true)
        .append(!replace)
        .write(true)
        .truncate(replace)
        .open(path)?;
    f.write_all(bytes)?;
    if fsync {
        f.sync_data()?;
    }
    Ok(())
}

/// A file's bytes, or none if it does not exist.
fn read_or_empty(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        r => r,
    }
}

pub struct Segment {
    base_offset: u64,
    next_offset: u64,
    size_bytes: u64,
    locs: Vec<BatchLoc>,
    created_ms: i64,
    store: Store,
}

pub fn file_stem(base_offset: u64) -> String {
    format!("{base_offset:020}")
}

/// Are the `len` bytes at `pos` all zero?
fn zeros(file: &File, pos: u64, len: u64) -> Result<bool, LogError> {
    let mut buf = vec![0u8; len.min(1 << 20) as usize];
    let mut at = pos;
    while at < pos + len {
        let n = ((pos + len - at) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], at)?;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn paths(dir: &Path, base_offset: u64) -> (PathBuf, PathBuf, PathBuf) {
    let s = file_stem(base_offset);
    (
        dir.join(format!("{s}.log")),
        dir.join(format!("{s}.index")),
        dir.join(format!("{s}.timeindex")),
    )
}

impl Segment {
    pub fn in_memory(base_offset: u64, now_ms: i64) -> Segment {
        Segment {
            base_offset,
            next_offset: base_offset,
            size_bytes: 0,
            locs: Vec::new(),
            created_ms: now_ms,
            store: Store::Memory(MemoryBatches::default()),
        }
    }

    /// Creates a new, empty segment's files in `dir`.
    pub fn create(dir: &Path, base_offset: u64, now_ms: i64) -> Result<Segment, LogError> {
        let (l, i, t) = paths(dir, base_offset);
        let open = |p: &Path| {
            OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(p)
        };
        let log = open(&l)?;
        write_index(&i, &[], true, false)?;
        write_index(&t, &[], true, false)?;
        let files = Files::new(log, l, i, t);
        Ok(Segment {
            base_offset,
            next_offset: base_offset,
            size_bytes: 0,
            locs: Vec::new(),
            created_ms: now_ms,
            store: Store::File(files),
        })
    }

    /// Opens an existing segment and checks every batch of its log (`index::scan`): CRC,
    /// length, offsets in sequence and, for a sealed segment, below `end_bound` (the next
    /// segment's base offset). A region that holds no valid batch is reported, never
    /// silently dropped; the file is cut only at the end of the active segment (a torn
    /// write), as Kafka's recovery does; a sealed segment is never cut. The indexes are
    /// derived from the scan and rewritten when they disagree.
    pub fn open(
        dir: &Path,
        base_offset: u64,
        active: bool,
        end_bound: Option<u64>,
        now_ms: i64,
    ) -> Result<(Segment, Vec<Damage>), LogError> {
        let (l, i, t) = paths(dir, base_offset);
        let open = |p: &Path| {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(p)
        };
        let log = open(&l)?;
        let file_len = log.metadata()?.len();
        let bound = if active { None } else { end_bound };
        let (locs, bad) = scan(&log, base_offset, file_len, bound)?;
        let old_index = read_or_empty(&i)?;
        let old_time = read_or_empty(&t)?;
        let tail_is_bad = bad.last().is_some_and(|r| r.pos + r.len == file_len);
        // Only an incomplete write at the end of the active segment is cut (what a crash
        // leaves, or zeros a file system left after a power loss); a whole batch that fails
        // its checksum there is damage, kept like any other so that it is reported again
        // until a replica replaces it.
        let torn = |r: &BadRegion| {
            active
                && r.pos + r.len == file_len
                && (r.incomplete || zeros(&log, r.pos, r.len).unwrap_or(false))
        };
        let cut_tail = bad.last().is_some_and(torn);
        let mut damage: Vec<Damage> = bad
            .iter()
            .map(|r| {
                let cut = torn(r);
                Damage {
                    file: l.clone(),
                    byte_pos: r.pos,
                    byte_len: r.len,
                    first_offset: r.first_offset,
                    end_offset: r.end_offset,
                    reason: r.reason.clone(),
                    action: if cut {
                        DamageAction::CutTornTail
                    } else {
                        DamageAction::Skipped
                    },
                }
            })
            .collect();
        let next_offset = locs.last().map_or(base_offset, |b| b.next_offset);
        if !tail_is_bad && index_lists_missing_batch(&old_index, base_offset, &locs) {
            damage.push(Damage {
                file: l.clone(),
                byte_pos: file_len,
                byte_len: 0,
                first_offset: next_offset,
                end_offset: bound,
                reason: "the file ends where its index lists another batch (it was truncated)"
                    .into(),
                action: DamageAction::Missing,
            });
        }
        let mut size_bytes = file_len;
        if cut_tail {
            size_bytes = bad.last().map_or(file_len, |r| r.pos);
            log.set_len(size_bytes)?;
            log.sync_all()?;
        }
        let (want_index, want_time) = index_bytes(base_offset, &locs);
        let indexes_ok = old_index == want_index && old_time == want_time;
        // Indexes are written after the log, so after a crash they may lack the last
        // entries: that is expected. Anything else means the index files were damaged.
        let lagging = want_index.starts_with(&old_index) && want_time.starts_with(&old_time);
        if !indexes_ok && !lagging && damage.is_empty() {
            damage.push(Damage {
                file: i.clone(),
                byte_pos: first_difference(&old_index, &want_index) as u64,
                byte_len: 0,
                first_offset: base_offset,
                end_offset: Some(base_offset),
                reason: "the index files disagree with the log".into(),
                action: DamageAction::IndexRebuilt,
            });
        }
        let mut seg = Segment {
            base_offset,
            next_offset,
            size_bytes,
            locs,
            created_ms: now_ms,
            store: Store::File(Files::new(log, l, i.clone(), t)),
        };
        if !indexes_ok {
            seg.rewrite_indexes()?;
        }
        Ok((seg, damage))
    }

    /// The segment's log file (None in memory).
    pub fn file(&self) -> Option<&Path> {
        match &self.store {
            Store::File(f) => Some(&f.log_path),
            Store::Memory(_) => None,
        }
    }

    pub fn base_offset(&self) -> u64 {
        self.base_offset
    }
    /// One past the last offset this segment holds (its base offset when empty).
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }
    pub fn is_empty(&self) -> bool {
        self.locs.is_empty()
    }
    /// Are the batches held in memory (never written to a file and read back)?
    pub fn is_in_memory(&self) -> bool {
        matches!(self.store, Store::Memory(_))
    }
    pub fn locs(&self) -> &[BatchLoc] {
        &self.locs
    }
    pub fn max_timestamp(&self) -> Option<i64> {
        self.locs.iter().map(|b| b.max_timestamp).max()
    }

    /// Appends one encoded, checked batch whose base offset is at least `next_offset`.
    pub fn append(&mut self, batch: &Bytes, h: &BatchHeader) -> Result<(), LogError> {
        if h.base_offset < self.next_offset || h.total_bytes != batch.len() {
            return Err(LogError::Corrupt(format!(
                "batch of offsets {}..={} ({} bytes) does not follow offset {}",
                h.base_offset,
                h.last_offset(),
                batch.len(),
                self.next_offset
            )));
        }
        let loc = BatchLoc {
            base_offset: h.base_offset,
            next_offset: h.next_offset(),
            pos: self.size_bytes,
            len: batch.len() as u32,
            max_timestamp: h.max_timestamp,
        };
        match &mut self.store {
            Store::Memory(m) => {
                m.batches.push(Held::Ram(batch.clone()));
                m.ram_bytes += batch.len() as u64;
            }
            Store::File(f) => {
                f.log.write_all_at(batch, loc.pos)?;
                push_entries(
                    &mut f.index_pending,
                    &mut f.time_pending,
                    self.base_offset,
                    &loc,
                );
            }
        }
        self.size_bytes += batch.len() as u64;
        self.next_offset = loc.next_offset;
        self.locs.push(loc);
        Ok(())
    }

    /// Writes pending index entries and, with `fsync`, forces the files to disk.
    pub fn flush(&mut self, fsync: bool) -> Result<(), LogError> {
        if let Store::File(f) = &mut self.store {
            if !f.index_pending.is_empty() || (fsync && f.index_unsynced) {
                write_index(&f.index_path, &f.index_pending, false, fsync)?;
                f.index_pending.clear();
                write_index(&f.time_path, &f.time_pending, false, fsync)?;
                f.time_pending.clear();
                f.index_unsynced = !fsync;
            }
            if fsync {
                f.log.sync_data()?;
            }
        }
        Ok(())
    }

    /// Only the log file to disk (the hot path of fsync=always; indexes are rebuildable).
    pub fn sync_log(&mut self) -> Result<(), LogError> {
        if let Store::File(f) = &mut self.store {
            f.log.sync_data()?;
        }
        Ok(())
    }

    /// The encoded batches that hold offsets at or after `from`, starting with the one
    /// holding `from`, at most about `max_bytes` and no more batches than it takes to hold
    /// `max_records` (always at least one batch if any).
    pub fn read_batches(
        &self,
        from: u64,
        max_bytes: usize,
        max_records: usize,
    ) -> Result<Vec<Bytes>, LogError> {
        Ok(self.read_batches_held(from, max_bytes, max_records)?.0)
    }

    /// `read_batches`, and whether every batch came from memory (none from a file, so
    /// none needs its CRC checked again: docs/runtime.md).
    pub fn read_batches_held(
        &self,
        from: u64,
        max_bytes: usize,
        max_records: usize,
    ) -> Result<(Vec<Bytes>, bool), LogError> {
        let start = self.locs.partition_point(|b| b.next_offset <= from);
        if start >= self.locs.len() {
            return Ok((Vec::new(), true));
        }
        let mut end = start + 1;
        let mut bytes = self.locs[start].len as usize;
        let mut records =
            (self.locs[start].next_offset - from.max(self.locs[start].base_offset)) as usize;
        // One read of adjacent batches: it stops before a skipped (damaged) region.
        while end < self.locs.len()
            && records < max_records
            && bytes + self.locs[end].len as usize <= max_bytes
            && self.locs[end].pos == self.locs[end - 1].pos + self.locs[end - 1].len as u64
        {
            bytes += self.locs[end].len as usize;
            records += (self.locs[end].next_offset - self.locs[end].base_offset) as usize;
            end += 1;
        }
        match &self.store {
            Store::Memory(m) => m.read(&self.locs, start, end),
            Store::File(f) => {
                let pos = self.locs[start].pos;
                let buf = Bytes::from(read_at_uninit(&f.log, bytes, pos)?);
                self.locs[start..end]
                    .iter()
                    .map(|b| {
                        let at = (b.pos - pos) as usize;
                        let slice = buf.slice(at..at + b.len as usize);
                        // The other side of the index: the batch is where it says.
                        let h = batch::parse_header(&slice).map_err(LogError::Corrupt)?;
                        if h.base_offset != b.base_offset || h.total_bytes != slice.len() {
                            return Err(LogError::Corrupt(format!(
                                "{}: index says offset {} at byte {}, found offset {}",
                                f.log_path.display(),
                                b.base_offset,
                                b.pos,
                                h.base_offset
                            )));
                        }
                        Ok(slice)
                    })
                    .collect::<Result<_, _>>()
                    .map(|v| (v, false))
            }
        }
    }

    /// The header of the `i`th batch.
    pub fn header(&self, i: usize) -> Result<BatchHeader, LogError> {
        let loc = self.locs[i];
        let h = match &self.store {
            Store::Memory(m) => match &m.batches[i] {
                Held::Ram(b) => batch::parse_header(b),
                Held::Spilled(pos) => {
                    batch::parse_header(&m.spill_file()?.read(*pos, HEADER_BYTES)?)
                }
            },
            Store::File(f) => {
                let mut buf = [0u8; HEADER_BYTES];
                f.log.read_exact_at(&mut buf, loc.pos)?;
                batch::parse_header(&buf)
            }
        };
        h.map_err(LogError::Corrupt)
    }

    /// Drops the batches from the `i`th on, and any damaged bytes after the batches kept.
    pub fn truncate_batches(&mut self, i: usize) -> Result<(), LogError> {
        let i = i.min(self.locs.len());
        let pos = i
            .checked_sub(1)
            .map_or(0, |k| self.locs[k].pos + self.locs[k].len as u64);
        if i == self.locs.len() && pos == self.size_bytes {
            return Ok(());
        }
        if let Store::Memory(m) = &mut self.store {
            m.truncate(&self.locs, i);
        }
        self.locs.truncate(i);
        self.size_bytes = pos;
        self.next_offset = self.locs.last().map_or(self.base_offset, |b| b.next_offset);
        match &mut self.store {
            Store::Memory(_) => {}
            Store::File(f) => {
                f.log.set_len(pos)?;
                self.rewrite_indexes()?;
            }
        }
        Ok(())
    }

    fn rewrite_indexes(&mut self) -> Result<(), LogError> {
        let base = self.base_offset;
        if let Store::File(f) = &mut self.store {
            f.index_pending.clear();
            f.time_pending.clear();
            for loc in &self.locs {
                push_entries(&mut f.index_pending, &mut f.time_pending, base, loc);
            }
            write_index(&f.index_path, &f.index_pending, true, false)?;
            f.index_pending.clear();
            write_index(&f.time_path, &f.time_pending, true, false)?;
            f.time_pending.clear();
            f.index_unsynced = true;
        }
        Ok(())
    }

    /// Deletes the segment's files (the segment must not be used afterwards).
    pub fn delete_files(&mut self) -> Result<(), LogError> {
        if let Store::File(f) = &self.store {
            let dir = f.log_path.parent().unwrap_or(Path::new("."));
            let (l, i, t) = paths(dir, self.base_offset);
            for p in [l, i, t] {
                match std::fs::remove_file(&p) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

impl Segment {
    /// Bytes of this segment's batches held in memory (0 for a segment in files).
    pub(crate) fn ram_bytes(&self) -> u64 {
        match &self.store {
            Store::Memory(m) => m.ram_bytes,
            Store::File(_) => 0,
        }
    }

    /// Writes the oldest batch still in memory to `file` (the partition log's one spill
    /// file) and drops it from memory; returns its size (0 if no batch is in memory).
    pub(crate) fn spill_oldest(&mut self, file: &Arc<SpillFile>) -> Result<u64, LogError> {
        let Store::Memory(m) = &mut self.store else {
            return Ok(0);
        };
        while m.ram_from < m.batches.len() {
            let i = m.ram_from;
            m.ram_from += 1;
            if let Held::Ram(b) = &m.batches[i] {
                let pos = file.write(b)?;
                let len = b.len() as u64;
                m.batches[i] = Held::Spilled(pos);
                m.spill = Some(file.clone());
                m.ram_bytes -= len;
                return Ok(len);
            }
        }
        Ok(0)
    }
}

impl MemoryBatches {
    fn spill_file(&self) -> Result<&SpillFile, LogError> {
        self.spill
            .as_deref()
            .ok_or_else(|| LogError::Corrupt("a spilled batch without its spill file".into()))
    }

    /// Batches `start..end`; a run of spilled batches is one read (they were spilled in
    /// order, so they are adjacent in the file unless compaction rewrote the segment).
    fn read(
        &self,
        locs: &[BatchLoc],
        start: usize,
        end: usize,
    ) -> Result<(Vec<Bytes>, bool), LogError> {
        let mut out = Vec::with_capacity(end - start);
        let mut i = start;
        while i < end {
            match &self.batches[i] {
                Held::Ram(b) => {
                    out.push(b.clone());
                    i += 1;
                }
                Held::Spilled(pos) => {
                    let mut j = i + 1;
                    let mut len = locs[i].len as u64;
                    while j < end && matches!(self.batches[j], Held::Spilled(p) if p == pos + len) {
                        len += locs[j].len as u64;
                        j += 1;
                    }
                    let buf = self.spill_file()?.read(*pos, len as usize)?;
                    let mut at = 0usize;
                    for loc in &locs[i..j] {
                        out.push(buf.slice(at..at + loc.len as usize));
                        at += loc.len as usize;
                    }
                    i = j;
                }
            }
        }
        let all_in_memory = self.batches[start..end]
            .iter()
            .all(|h| matches!(h, Held::Ram(_)));
        Ok((out, all_in_memory))
    }

    /// Keeps the first `i` batches (`locs` still lists them all).
    fn truncate(&mut self, locs: &[BatchLoc], i: usize) {
        for (h, loc) in self.batches[i.min(self.batches.len())..]
            .iter()
            .zip(&locs[i..])
        {
            match h {
                Held::Ram(b) => self.ram_bytes -= b.len() as u64,
                Held::Spilled(pos) => {
                    if let Some(f) = &self.spill {
                        f.release(*pos, loc.len as u64);
                    }
                }
            }
        }
        self.batches.truncate(i);
        self.ram_from = self.ram_from.min(i);
    }
}

impl Drop for Segment {
    /// A dropped segment (deleted by retention, rewritten by compaction, cut by a
    /// truncation) gives back the spill file's space its batches took.
    fn drop(&mut self) {
        if let Store::Memory(m) = &self.store {
            if let Some(f) = &m.spill {
                for (h, loc) in m.batches.iter().zip(&self.locs) {
                    if let Held::Spilled(pos) = h {
                        f.release(*pos, loc.len as u64);
                    }
                }
            }
        }
    }
}

/// Reads `len` bytes at `pos` into a fresh buffer without zeroing it first (the read path
/// would otherwise write every byte twice).
pub(crate) fn read_at_uninit(file: &File, len: usize, pos: u64) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::with_capacity(len);
    read_at_into(file, &mut v, len, pos)?;
    Ok(v)
}

/// Appends `len` bytes read at `pos` to `buf`, without zeroing them first. (A spill file's
/// direct read gives a `buf` with room for them whose end is block-aligned in memory.)
pub(crate) fn read_at_into(
    file: &File,
    buf: &mut Vec<u8>,
    len: usize,
    pos: u64,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    buf.reserve(len);
    let start = buf.len();
    let mut done = 0;
    while done < len {
        // SAFETY: pread writes at most `len - done` bytes into the vector's spare capacity
        // (reserved above) through a raw pointer; only the bytes it reports
        // written are exposed by set_len.
        let n = unsafe {
            libc::pread(
                file.as_raw_fd(),
                buf.as_mut_ptr().add(start + done) as *mut libc::c_void,
                len - done,
                (pos + done as u64) as libc::off_t,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        done += n as usize;
        // SAFETY: the first `start + done` bytes are initialised (by the caller and the
        // reads so far).
        unsafe { buf.set_len(start + done) };
    }
    Ok(())
}
