//! Spilling of an in-memory log: a partition keeps only its newest batches in memory
//! (`Spill::keep_bytes`) and writes older ones to a file of its own in a temporary
//! folder. The file is unlinked as soon as it is created, so it lives exactly as long as
//! the process holds it open: nothing is left behind at exit, even after a crash or a
//! kill. Spilled batches are read back with `pread` and their CRC is checked on every
//! read, as for any batch read from a file. This keeps a log without a data directory
//! bounded in memory by partitions, not by records (docs/runtime.md).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::error::LogError;

/// Where and how much an in-memory cluster spills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spill {
    /// The folder the partitions' spill files are created (and at once unlinked) in.
    pub dir: PathBuf,
    /// Bytes of batches each partition log keeps in memory; older batches are spilled.
    /// A partition holds at most this plus the batch being appended.
    pub keep_bytes: u64,
}

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
}

/// One partition log's spill file: written at its end, read anywhere.
pub(crate) struct SpillFile {
    file: File,
    end: AtomicU64,
    /// The folder it was created in, for error messages.
    dir: PathBuf,
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

impl SpillFile {
    /// Creates a file in `dir` and unlinks it, keeping it open.
    pub(crate) fn create(dir: &Path) -> Result<Arc<SpillFile>, LogError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
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
                    return Ok(Arc::new(SpillFile {
                        file,
                        end: AtomicU64::new(0),
                        dir: dir.to_path_buf(),
                    }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(spill_error(dir, e)),
            }
        }
    }

    /// Writes `batch` at the end of the file; returns its position.
    pub(crate) fn write(&self, batch: &[u8]) -> Result<u64, LogError> {
        // Only the partition's writer (holding the log mutably) appends.
        let pos = self.end.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.file
            .write_all_at(batch, pos)
            .map_err(|e| spill_error(&self.dir, e))?;
        Ok(pos)
    }

    /// The `len` bytes at `pos`.
    pub(crate) fn read(&self, pos: u64, len: usize) -> Result<Bytes, LogError> {
        crate::segment::read_at_uninit(&self.file, len, pos)
            .map(Bytes::from)
            .map_err(|e| spill_error(&self.dir, e))
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
