//! What the benches measure of a run: its wall time and the CPU time of the whole process
//! (every thread, user and system), and the medians of same-run pairs.

use std::time::Instant;

/// Wall and CPU seconds of one run.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub wall: f64,
    pub cpu: f64,
}

/// CPU seconds this process has used so far, all threads, user and system.
fn process_cpu_secs() -> f64 {
    // SAFETY: getrusage writes the struct it is given and nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// Runs `f` and says what it cost.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Cost) {
    let (t, c) = (Instant::now(), process_cpu_secs());
    let out = f();
    let cost = Cost {
        wall: t.elapsed().as_secs_f64(),
        cpu: process_cpu_secs() - c,
    };
    (out, cost)
}

/// The median of some figures.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Same-run pairs (baseline, kql): the medians of kql's speed as a share of the
/// baseline's (baseline wall / kql wall) and of kql's CPU over the baseline's.
pub fn pair_ratios(pairs: &[(Cost, Cost)]) -> (f64, f64) {
    (
        median(pairs.iter().map(|(b, k)| b.wall / k.wall).collect()),
        median(pairs.iter().map(|(b, k)| k.cpu / b.cpu).collect()),
    )
}
