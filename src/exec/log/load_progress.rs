//! How far a source connector's load has gone, and how far the queries reading its topic
//! while it loads have read (`LoadingLog`): the load waits for a reader that falls more
//! than `LOAD_LEAD_BYTES` behind.
//!
//! A connector reads a file faster than most queries process it. Without this, by the
//! end of a large load most of the topic was behind its readers, and a log without a data
//! directory keeps only the newest few MiB of a partition in memory: the readers then read
//! the rest back from the spill file, waiting for the disk, while the connector's core had
//! nothing left to do (a sixth of W4's time at 1M events). Kept within reach of its
//! readers, the load reads what they read from memory, and its thread yields its core.
//!
//! A reader that does not move for `STALL` is not waited for: a query's task blocked by
//! something else (the merge waiting for another task, say) must not hold the load up,
//! which could hold up what it waits for.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long a load waits for a reader that does not move before it goes on.
const STALL: Duration = Duration::from_millis(50);

/// How long a waiting load sleeps before it looks again.
const POLL: Duration = Duration::from_millis(1);

#[derive(Debug, Default)]
pub struct LoadProgress {
    done: AtomicBool,
    /// Each reader's partition and position (the offset its next fetch starts at), for as
    /// long as the reader holds it.
    readers: Mutex<Vec<(u32, Weak<AtomicU64>)>>,
}

impl LoadProgress {
    pub fn new() -> Arc<LoadProgress> {
        Arc::default()
    }

    /// Marks the load ended (its last record appended, or it failed).
    pub fn finish(&self) {
        self.done.store(true, Ordering::Release);
    }

    /// (Acquire: once the end is seen, so is every record appended before it.)
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// A reader of `partition` from `position` on: it stores where it has read to in the
    /// cell returned, and is forgotten when it drops the cell.
    pub fn follow(&self, partition: u32, position: u64) -> Arc<AtomicU64> {
        let cell = Arc::new(AtomicU64::new(position));
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        readers.retain(|(_, r)| r.strong_count() > 0);
        readers.push((partition, Arc::downgrade(&cell)));
        cell
    }

    /// The position of the reader of `partition` furthest behind; None without readers.
    pub(crate) fn slowest(&self, partition: u32) -> Option<u64> {
        let readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        (readers.iter())
            .filter(|(p, _)| *p == partition)
            .filter_map(|(_, r)| r.upgrade())
            .map(|cell| cell.load(Ordering::Relaxed))
            .min()
    }

    /// Waits while a reader of `partition` is more than `lead` records behind `end` (the
    /// partition's end offset), unless that reader stops moving.
    pub fn wait_for_readers(&self, partition: u32, end: u64, lead: u64) {
        let mut seen = None;
        let mut moved = Instant::now();
        while let Some(at) = self.slowest(partition) {
            if end.saturating_sub(at) <= lead {
                return;
            }
            if seen != Some(at) {
                seen = Some(at);
                moved = Instant::now();
            } else if moved.elapsed() >= STALL {
                return;
            }
            std::thread::sleep(POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_waits_for_a_reader_behind_until_it_catches_up() {
        let progress = LoadProgress::new();
        let reader = progress.follow(0, 0);
        let started = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                for at in (0..=900).step_by(100) {
                    std::thread::sleep(Duration::from_millis(5));
                    reader.store(at, Ordering::Relaxed);
                }
            });
            progress.wait_for_readers(0, 1000, 100);
        });
        // It went on once the reader was within 100 records of the end, not before.
        assert_eq!(reader.load(Ordering::Relaxed), 900);
        assert!(started.elapsed() >= Duration::from_millis(45));
    }

    #[test]
    fn a_load_goes_on_without_readers_past_a_reader_that_stopped_or_left() {
        let progress = LoadProgress::new();
        // Another partition's reader, or none at all: no wait.
        let other = progress.follow(1, 0);
        let started = Instant::now();
        progress.wait_for_readers(0, 1_000_000, 10);
        assert!(started.elapsed() < STALL);
        // A reader that does not move is waited for STALL, not for ever.
        let stuck = progress.follow(0, 0);
        progress.wait_for_readers(0, 1_000_000, 10);
        assert!(started.elapsed() >= STALL);
        // A reader that is gone is forgotten.
        drop((stuck, other));
        let again = Instant::now();
        progress.wait_for_readers(0, 1_000_000, 10);
        assert!(again.elapsed() < STALL);
    }
}
