//! Rebuilding a damaged replica from the intact batches of every replica: when no replica
//! of a partition is intact (each lost some region), the leader's log is written again,
//! batch by batch in offset order, taking each batch from the leader where its copy is
//! intact and from another replica where not, so a record is lost only where every
//! replica lost it. Replicas hold the same batches byte for byte (followers copy the
//! leader's encoded batches), so a batch found intact anywhere is the one the leader had.
//!
//! The new log is written beside the old one (`{dir}.rebuild`), then swapped in by two
//! renames; the old directory is removed last. A crash before the swap leaves the old log
//! (the leftover is removed as a stray on the next open); a crash between the renames
//! leaves no leader log, and the partition is rebuilt from the other replicas.

use std::path::{Path, PathBuf};

use crate::error::LogError;
use crate::index::BatchLoc;
use crate::log::PartitionLog;

impl PartitionLog {
    /// The first valid batch whose base offset is `at` or more.
    pub fn next_batch_from(&self, at: u64) -> Option<BatchLoc> {
        let i = self
            .segments
            .partition_point(|s| s.next_offset() <= at)
            .min(self.segments.len());
        self.segments[i..].iter().find_map(|s| {
            let j = s.locs().partition_point(|b| b.base_offset < at);
            s.locs().get(j).copied()
        })
    }

    /// Writes this (file) log again from the valid batches of itself and of `others`, in
    /// offset order, preferring its own; returns the offset ranges no log held (lost).
    pub fn rebuild_from(
        &mut self,
        others: &[&PartitionLog],
        now_ms: i64,
    ) -> Result<Vec<(u64, u64)>, LogError> {
        let Some(dir) = self.dir().map(Path::to_path_buf) else {
            return Ok(Vec::new());
        };
        let start = self.log_start_offset();
        let end = others
            .iter()
            .map(|l| l.log_end_offset())
            .fold(self.log_end_offset(), u64::max);
        let tmp = sibling(&dir, "rebuild");
        remove_dir_if_present(&tmp)?;
        let mut holes = Vec::new();
        {
            let mut new = PartitionLog::open(&tmp, self.settings.clone(), start, now_ms)?;
            let logs: Vec<&PartitionLog> = std::iter::once(&*self)
                .chain(others.iter().copied())
                .collect();
            let mut at = start;
            loop {
                // The batch with the lowest base offset from `at` on; ties go to the
                // first log (this one).
                let next = logs
                    .iter()
                    .filter_map(|l| l.next_batch_from(at).map(|b| (b, *l)))
                    .min_by_key(|(b, _)| b.base_offset);
                let Some((loc, log)) = next else { break };
                if loc.base_offset > at {
                    holes.push((at, loc.base_offset));
                }
                let bytes = log.read_batches(loc.base_offset, 1, 1)?;
                let b = bytes.first().ok_or_else(|| {
                    LogError::Corrupt(format!(
                        "{}: batch {} vanished",
                        log.name(),
                        loc.base_offset
                    ))
                })?;
                new.append_batch(b, now_ms)?;
                at = loc.next_offset;
            }
            if at < end {
                holes.push((at, end));
            }
            new.flush(now_ms)?;
        }
        let old = sibling(&dir, "damaged");
        remove_dir_if_present(&old)?;
        std::fs::rename(&dir, &old)?;
        std::fs::rename(&tmp, &dir)?;
        if let Some(parent) = dir.parent() {
            std::fs::File::open(parent)?.sync_all()?;
        }
        let reopened = PartitionLog::open(&dir, self.settings.clone(), start, now_ms)?;
        let mut replaced = std::mem::replace(self, reopened);
        // Its files are gone: nothing of it may be written on drop.
        replaced.segments.clear();
        drop(replaced);
        remove_dir_if_present(&old)?;
        Ok(holes)
    }
}

fn sibling(dir: &Path, what: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{what}"));
    dir.with_file_name(name)
}

fn remove_dir_if_present(d: &Path) -> Result<(), LogError> {
    match std::fs::remove_dir_all(d) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
