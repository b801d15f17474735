//! Wakes readers when records are appended, so a live reader sleeps until there is
//! something to read instead of polling. One signal per cluster, raised once per append
//! batch (never per record); a reader compares the count it last saw and then looks at
//! the high watermarks of the partitions it reads.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub(crate) struct AppendSignal {
    /// Append batches so far (any partition), and wake-ups asked for (`wake`).
    count: Mutex<u64>,
    changed: Condvar,
}

impl AppendSignal {
    /// One more append batch (or a stop request): every waiter wakes.
    pub(crate) fn raise(&self) {
        *self.count.lock().unwrap() += 1;
        self.changed.notify_all();
    }

    pub(crate) fn count(&self) -> u64 {
        *self.count.lock().unwrap()
    }

    /// Blocks until the count differs from `seen` or `timeout` passes; returns the count.
    pub(crate) fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        let mut count = self.count.lock().unwrap();
        while *count == seen {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            count = self.changed.wait_timeout(count, deadline - now).unwrap().0;
        }
        *count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_waiter_wakes_on_the_next_append_not_at_its_timeout() {
        let signal = Arc::new(AppendSignal::default());
        let seen = signal.count();
        let raiser = signal.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            raiser.raise();
        });
        let started = Instant::now();
        let now = signal.wait(seen, Duration::from_secs(10));
        assert_eq!(now, seen + 1);
        assert!(started.elapsed() < Duration::from_secs(5));
        t.join().unwrap();
    }

    #[test]
    fn a_waiter_returns_at_its_timeout_when_nothing_is_appended() {
        let signal = AppendSignal::default();
        let seen = signal.count();
        assert_eq!(signal.wait(seen, Duration::from_millis(10)), seen);
    }
}
