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

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// The folder it was created in, for error messages.
    dir: PathBuf,
}

/// The end of a spill file still in memory: `bytes[..len]` goes at `start`; everything
/// before `start` is in the file.
struct Tail {
    /// `capacity` bytes from `at`, `at` chosen so that they are block-aligned in memory.
    buf: Vec<u8>,
    at: usize,
    capacity: usize,
    len: usize,
    start: u64,
}

impl Tail {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.at..self.at + self.len]
    }
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
                        }),
                        dir: dir.to_path_buf(),
                    }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(spill_error(dir, e)),
            }
        }
    }

    /// Appends `batch` to the file; returns its position.
    pub(crate) fn write(&self, batch: &[u8]) -> Result<u64, LogError> {
        // Only the partition's writer (holding the log mutably) appends.
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let pos = tail.start + tail.len as u64;
        let mut rest = batch;
        while !rest.is_empty() {
            let n = (tail.capacity - tail.len).min(rest.len());
            let at = tail.at + tail.len;
            tail.buf[at..at + n].copy_from_slice(&rest[..n]);
            tail.len += n;
            rest = &rest[n..];
            if tail.len == tail.capacity {
                self.write_tail(&mut tail)?;
            }
        }
        Ok(pos)
    }

    /// Writes the full buffer at its place in the file.
    fn write_tail(&self, tail: &mut Tail) -> Result<(), LogError> {
        let bytes = &tail.buf[tail.at..tail.at + tail.capacity];
        let result = match self.file.write_all_at(bytes, tail.start) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && self.fall_back() => {
                self.file.write_all_at(bytes, tail.start)
            }
            r => r,
        };
        result.map_err(|e| spill_error(&self.dir, e))?;
        tail.start += tail.capacity as u64;
        tail.len = 0;
        Ok(())
    }

    /// The file system refused a direct read or write: go on through the page cache.
    /// True when that is a change (so the operation is worth retrying).
    fn fall_back(&self) -> bool {
        self.direct.swap(false, Ordering::Relaxed) && set_direct(&self.file, false)
    }

    /// The `len` bytes at `pos`.
    pub(crate) fn read(&self, pos: u64, len: usize) -> Result<Bytes, LogError> {
        let end = pos + len as u64;
        // What is past the written part is copied from the buffer, under its lock.
        let (written, buffered) = {
            let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
            if pos >= tail.start {
                let from = (pos - tail.start) as usize;
                return Ok(Bytes::copy_from_slice(&tail.bytes()[from..from + len]));
            }
            let buffered = match end.checked_sub(tail.start) {
                Some(n) if n > 0 => tail.bytes()[..n as usize].to_vec(),
                _ => Vec::new(),
            };
            (tail.start, buffered)
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
