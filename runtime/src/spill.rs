//! Spilling of an in-memory log: a partition keeps only its newest batches in memory
//! (`Spill::keep_bytes`) and writes older ones to a file of its own in a temporary
//! folder. The file is unlinked as soon as it is created, so it lives exactly as long as
//! the process holds it open: nothing is left behind at exit, even after a crash or a
//! kill. Spilled batches are read back with `pread` and their CRC is checked on every
//! read, as for any batch read from a file. This keeps a log without a data directory
//! bounded in memory by partitions, not by records (docs/runtime.md).
//!
//! Where the file system allows it, the file bypasses the page cache (`O_DIRECT`): spilled
//! batches are gathered into a block-aligned buffer and written a whole buffer at a time,
//! and read back in whole blocks. Through the page cache every spilled byte was copied
//! into a fresh cache page and its write-back throttled the writer: about 2 CPU-seconds
//! a gigabyte on the machine measured, against a tenth of that direct
//! (docs/performance.md).
//!
//! A direct write waits for the disk, and the appender that fills a buffer holds its
//! partition while it does (readers of the partition wait too). So a full buffer is
//! handed to the process's spill writer thread, and the appender goes on with another:
//! at most `IN_FLIGHT_MAX` full buffers of a file wait to be written, and until they are,
//! reads of their range are served from them.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;

use crate::error::LogError;
use crate::segment::read_at_into;

/// Where and how much an in-memory cluster spills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spill {
    /// The folder the partitions' spill files are created (and at once unlinked) in.
    pub dir: PathBuf,
    /// Bytes of batches each partition log keeps in memory; older batches are spilled.
    /// A partition holds at most this plus the batch being appended (and, once it
    /// spills, its write buffer: `write_buffer_bytes`).
    pub keep_bytes: u64,
}

/// The alignment of direct reads and writes: a multiple of every common logical block size.
const BLOCK: usize = 4096;

/// The largest write buffer of a spill file.
const WRITE_BUFFER_BYTES_MAX: usize = 1 << 20;

/// Full buffers of a file that wait for the spill writer at most; an appender with more
/// waits for one to be written.
const IN_FLIGHT_MAX: usize = 4;

impl Spill {
    /// What a log without a data directory uses: the system's temporary folder, and 4 MiB
    /// per partition (a few batches, so a reader that follows the writer closely reads
    /// from memory).
    pub fn in_temp_dir() -> Spill {
        Spill {
            dir: std::env::temp_dir(),
            keep_bytes: 4 * 1024 * 1024,
        }
    }

    /// The write buffer of a spill file: a quarter of what the partition keeps in memory,
    /// in whole blocks, from one block to 1 MiB.
    pub fn write_buffer_bytes(&self) -> usize {
        let quarter = (self.keep_bytes / 4).min(WRITE_BUFFER_BYTES_MAX as u64) as usize;
        (quarter / BLOCK).max(1) * BLOCK
    }
}

/// One partition log's spill file: written at its end, read anywhere.
pub(crate) struct SpillFile {
    file: File,
    /// Opened to bypass the page cache: every read and write is of whole aligned blocks.
    direct: AtomicBool,
    /// The batches not written yet, the file's tail (a file that bypasses the page cache
    /// is written a whole buffer at a time).
    tail: Mutex<Tail>,
    /// Signalled each time the spill writer has written a buffer.
    written: Condvar,
    /// The folder it was created in, for error messages.
    dir: PathBuf,
    /// Set when its whole log goes: its space then goes with it, when it is closed.
    closing: AtomicBool,
}

/// The end of a spill file still in memory: the full buffers waiting for the spill
/// writer, then `bytes[..len]`, which goes at `start`. Everything before the first
/// buffer waiting (or `start`) is in the file.
struct Tail {
    /// `capacity` bytes from `at`, `at` chosen so that they are block-aligned in memory.
    buf: Vec<u8>,
    at: usize,
    capacity: usize,
    len: usize,
    start: u64,
    /// Full buffers handed to the spill writer, oldest first.
    in_flight: VecDeque<InFlight>,
    /// Buffers written, for the next ones (no fresh pages to fault in).
    spare: Vec<(Vec<u8>, usize)>,
    /// The first write that failed: every later write and read of the file reports it.
    failed: Option<String>,
}

/// A full buffer and where it goes in the file.
struct InFlight {
    pos: u64,
    /// The buffer and the offset of its aligned part (`capacity` bytes).
    buf: Arc<(Vec<u8>, usize)>,
}

impl Tail {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.at..self.at + self.len]
    }

    /// Where the part of the file still in memory begins.
    fn in_file(&self) -> u64 {
        self.in_flight.front().map_or(self.start, |f| f.pos)
    }

    /// The bytes of `from..to`, all at or after `in_file()`, copied out of the buffers.
    fn copy(&self, from: u64, to: u64, out: &mut Vec<u8>) {
        let pieces = self
            .in_flight
            .iter()
            .map(|f| (f.pos, &f.buf.0[f.buf.1..f.buf.1 + self.capacity]))
            .chain(std::iter::once((self.start, self.bytes())));
        for (pos, bytes) in pieces {
            let end = pos + bytes.len() as u64;
            let (a, b) = (from.max(pos), to.min(end));
            if a < b {
                out.extend_from_slice(&bytes[(a - pos) as usize..(b - pos) as usize]);
            }
        }
    }

    fn check(&self, dir: &Path) -> Result<(), LogError> {
        match &self.failed {
            Some(e) => Err(spill_error(dir, std::io::Error::other(e.clone()))),
            None => Ok(()),
        }
    }
}

/// The process's spill writer: a thread that writes the full buffers handed to it, each
/// file's in order. None when no thread could be started (files are then written by
/// their appenders).
fn spill_writer() -> Option<&'static Mutex<Sender<Arc<SpillFile>>>> {
    static WRITER: OnceLock<Option<Mutex<Sender<Arc<SpillFile>>>>> = OnceLock::new();
    WRITER
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Arc<SpillFile>>();
            std::thread::Builder::new()
                .name("kql-spill".into())
                .spawn(move || {
                    for file in rx {
                        file.write_oldest();
                    }
                })
                .ok()
                .map(|_| Mutex::new(tx))
        })
        .as_ref()
}

/// An I/O error of a spill file, naming its folder: the user's data is not where the
/// error happened, the temporary folder is.
fn spill_error(dir: &Path, e: std::io::Error) -> LogError {
    LogError::Io(format!(
        "the log without a data directory spills older records to a temporary file in {} \
         (the temporary folder, TMPDIR), and that failed: {e}",
        dir.display()
    ))
}

/// A zeroed buffer of at least `len` bytes whose part from the returned offset is
/// block-aligned in memory.
fn aligned_buffer(len: usize) -> (Vec<u8>, usize) {
    let buf = vec![0u8; len + BLOCK];
    let at = buf.as_ptr().align_offset(BLOCK);
    (buf, at)
}

impl SpillFile {
    /// Creates a file in `dir` and unlinks it, keeping it open; writes go through a
    /// buffer of `buffer_bytes` (a multiple of `BLOCK`).
    pub(crate) fn create(dir: &Path, buffer_bytes: usize) -> Result<Arc<SpillFile>, LogError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        debug_assert!(buffer_bytes > 0 && buffer_bytes % BLOCK == 0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".kql-spill-{}-{n}", std::process::id()));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => {
                    std::fs::remove_file(&path).map_err(|e| spill_error(dir, e))?;
                    let direct = set_direct(&file, true);
                    let (buf, at) = aligned_buffer(buffer_bytes);
                    return Ok(Arc::new(SpillFile {
                        file,
                        direct: AtomicBool::new(direct),
                        tail: Mutex::new(Tail {
                            buf,
                            at,
                            capacity: buffer_bytes,
                            len: 0,
                            start: 0,
                            in_flight: VecDeque::new(),
                            spare: Vec::new(),
                            failed: None,
                        }),
                        written: Condvar::new(),
                        dir: dir.to_path_buf(),
                        closing: AtomicBool::new(false),
                    }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(spill_error(dir, e)),
            }
        }
    }

    /// Appends `batch` to the file; returns its position.
    pub(crate) fn write(self: &Arc<Self>, batch: &[u8]) -> Result<u64, LogError> {
        // Only the partition's writer (holding the log mutably) appends.
        let mut tail = self.lock();
        tail.check(&self.dir)?;
        let pos = tail.start + tail.len as u64;
        let mut rest = batch;
        while !rest.is_empty() {
            let n = (tail.capacity - tail.len).min(rest.len());
            let at = tail.at + tail.len;
            tail.buf[at..at + n].copy_from_slice(&rest[..n]);
            tail.len += n;
            rest = &rest[n..];
            if tail.len == tail.capacity {
                tail = self.hand_over(tail)?;
            }
        }
        Ok(pos)
    }

    fn lock(&self) -> MutexGuard<'_, Tail> {
        self.tail.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands the full buffer to the spill writer (waiting while `IN_FLIGHT_MAX` are
    /// waiting), and goes on with another; without a spill writer, writes it.
    fn hand_over<'a>(
        self: &'a Arc<Self>,
        mut tail: MutexGuard<'a, Tail>,
    ) -> Result<MutexGuard<'a, Tail>, LogError> {
        let Some(writer) = spill_writer() else {
            let bytes = &tail.buf[tail.at..tail.at + tail.capacity];
            self.write_at(bytes, tail.start)
                .map_err(|e| spill_error(&self.dir, e))?;
            tail.start += tail.capacity as u64;
            tail.len = 0;
            return Ok(tail);
        };
        while tail.in_flight.len() >= IN_FLIGHT_MAX {
            tail = self.written.wait(tail).unwrap_or_else(|e| e.into_inner());
        }
        tail.check(&self.dir)?;
        let capacity = tail.capacity;
        let (buf, at) = tail.spare.pop().unwrap_or_else(|| aligned_buffer(capacity));
        let full = (
            std::mem::replace(&mut tail.buf, buf),
            std::mem::replace(&mut tail.at, at),
        );
        let pos = tail.start;
        tail.in_flight.push_back(InFlight {
            pos,
            buf: Arc::new(full),
        });
        tail.start += capacity as u64;
        tail.len = 0;
        // (the writer's thread ends only with the process)
        let _ = writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(self.clone());
        Ok(tail)
    }

    /// The spill writer's work: writes the oldest full buffer at its place in the file,
    /// without holding the file's lock while the disk works.
    fn write_oldest(&self) {
        let (pos, buf, capacity) = {
            let tail = self.lock();
            match tail.in_flight.front() {
                Some(f) => (f.pos, f.buf.clone(), tail.capacity),
                None => return,
            }
        };
        let result = self.write_at(&buf.0[buf.1..buf.1 + capacity], pos);
        drop(buf);
        let mut tail = self.lock();
        if let Err(e) = result {
            tail.failed.get_or_insert_with(|| e.to_string());
        }
        if let Some(done) = tail.in_flight.pop_front() {
            if let Ok(buf) = Arc::try_unwrap(done.buf) {
                if tail.spare.len() < 2 {
                    tail.spare.push(buf);
                }
            }
        }
        drop(tail);
        self.written.notify_all();
    }

    /// Writes whole blocks at `pos`, through the page cache if the file system refuses
    /// a direct write.
    fn write_at(&self, bytes: &[u8], pos: u64) -> std::io::Result<()> {
        match self.file.write_all_at(bytes, pos) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && self.fall_back() => {
                self.file.write_all_at(bytes, pos)
            }
            r => r,
        }
    }

    /// The file system refused a direct read or write: go on through the page cache.
    /// True when that is a change (so the operation is worth retrying).
    fn fall_back(&self) -> bool {
        self.direct.swap(false, Ordering::Relaxed) && set_direct(&self.file, false)
    }

    /// Says that the whole log is going, and this file with it: its segments need not give
    /// their space back one by one as they are dropped. A hole punched per spilled batch
    /// took 0.7 s to drop W4's log after 10M events; closing the file frees it at once.
    pub(crate) fn close_with_log(&self) {
        self.closing.store(true, Ordering::Relaxed);
    }

    /// The `len` bytes at `pos`.
    pub(crate) fn read(&self, pos: u64, len: usize) -> Result<Bytes, LogError> {
        let end = pos + len as u64;
        // What is past the written part is copied from the buffers, under their lock.
        let (written, buffered) = {
            let tail = self.lock();
            tail.check(&self.dir)?;
            let written = tail.in_file();
            let mut buffered = Vec::new();
            if pos >= written {
                tail.copy(pos, end, &mut buffered);
                return Ok(Bytes::from(buffered));
            }
            if end > written {
                tail.copy(written, end, &mut buffered);
            }
            (written, buffered)
        };
        // The written part is read in whole blocks (it ends at a block, `written`).
        let first = pos - pos % BLOCK as u64;
        let last = end.min(written).next_multiple_of(BLOCK as u64).min(written);
        let total = (last - first) as usize + buffered.len();
        let mut buf: Vec<u8> = Vec::with_capacity(total + BLOCK);
        let at = buf.as_ptr().align_offset(BLOCK);
        buf.resize(at, 0);
        let read =
            |buf: &mut Vec<u8>| read_at_into(&self.file, buf, (last - first) as usize, first);
        match read(&mut buf) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && self.fall_back() => read(&mut buf),
            r => r,
        }
        .map_err(|e| spill_error(&self.dir, e))?;
        buf.extend_from_slice(&buffered);
        let from = at + (pos - first) as usize;
        Ok(Bytes::from(buf).slice(from..from + len))
    }

    /// Gives the disk space of `len` bytes at `pos` back (batches deleted by retention,
    /// compaction or truncation). Failing to is harmless: the file goes at exit anyway.
    pub(crate) fn release(&self, pos: u64, len: u64) {
        if self.closing.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: fallocate on a descriptor this struct owns; no memory is passed.
        unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                pos as libc::off_t,
                len as libc::off_t,
            );
        }
    }
}

/// Turns bypassing the page cache on or off for `file`; false when the file system
/// refuses.
fn set_direct(file: &File, on: bool) -> bool {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor `file` owns; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return false;
        }
        let flags = if on {
            flags | libc::O_DIRECT
        } else {
            flags & !libc::O_DIRECT
        };
        libc::fcntl(fd, libc::F_SETFL, flags) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches of many sizes through a one-block buffer: each reads back as written, and
    /// so do ranges across batches, blocks and the part still in the buffer, whether the
    /// file bypasses the page cache or not.
    #[test]
    fn reads_back_what_was_written_from_the_file_and_from_the_buffer() {
        for direct in [true, false] {
            let d = tempfile::tempdir().unwrap();
            let f = SpillFile::create(d.path(), BLOCK).unwrap();
            if !direct {
                f.fall_back();
            }
            let mut written = Vec::new();
            let mut batches = Vec::new();
            for i in 0..200usize {
                let batch: Vec<u8> = (0..i * 37 % 5000).map(|j| (i + j) as u8).collect();
                let pos = f.write(&batch).unwrap();
                assert_eq!(pos, written.len() as u64);
                batches.push((pos, batch.len()));
                written.extend(batch);
            }
            let total = written.len();
            let ranges = [(0, total), (1, total - 1), (total - 5000, 5000), (4095, 2)];
            for (pos, len) in batches
                .into_iter()
                .chain(ranges.map(|(p, l)| (p as u64, l)))
            {
                let at = pos as usize;
                assert_eq!(
                    f.read(pos, len).unwrap(),
                    &written[at..at + len],
                    "{pos}+{len}"
                );
            }
            assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
        }
    }
}
