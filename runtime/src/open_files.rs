//! The open file budget of a durable cluster. Each replica's segment keeps its log file
//! open (its indexes are opened only to be written), so a data directory needs about one
//! file descriptor per segment. Opening raises the process's soft limit to its hard limit,
//! and creating a topic first checks that its partitions fit in what is left, so that a
//! large partition count fails with a message instead of "Too many open files" half-way.

use crate::error::LogError;

/// Descriptors kept free for everything else (sockets, stdio, files a query reads).
const RESERVE: u64 = 256;

/// Raises the soft open file limit to the hard one; returns the soft limit now in force.
pub fn raise_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct we own, nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur as u64
}

/// How many descriptors the process has open (0 where `/proc/self/fd` cannot be read).
fn in_use() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// Checks that `more` descriptors can still be opened; `what` says what needs them.
pub fn check(more: u64, what: &str) -> Result<(), LogError> {
    let limit = raise_limit();
    let used = in_use();
    let free = limit.saturating_sub(used).saturating_sub(RESERVE);
    if more > free {
        return Err(LogError::InvalidConfig(format!(
            "{what} needs {more} open files (one per replica's segment) but only {free} are \
             available (the open file limit is {limit}, {used} in use, {RESERVE} kept free): \
             use fewer partitions or replicas, or raise the limit (ulimit -n)"
        )));
    }
    Ok(())
}
