//! Append and read throughput of a durable cluster, each as a ratio to a raw sequential
//! file write (or read) of the same number of bytes measured in the same run. Reads are
//! measured through `fetch` (a `Record` per record) and `fetch_batches` (borrowed views).
//!
//!     cargo run --release -p kql-runtime --example bench [records]
//!
//! Appends: batches of 100 records (100-byte values, 8-byte keys) with `produce_batch`,
//! for acks none/leader/all and fsync never/every 100 ms/always. The raw baseline writes
//! the log file's own bytes (read into memory first, as the records are), once per
//! replica, in chunks of one batch, with the same fsync cadence. Reads: `fetch` of 1000 records at a time from a warm page cache against
//! `read` of the same file in 1 MiB chunks.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kql_runtime::*;

const BATCH: usize = 100;
const VALUE_BYTES: usize = 100;

fn records(n: usize) -> Vec<Vec<ProducerRecord>> {
    let value = Bytes::from(vec![b'v'; VALUE_BYTES]);
    (0..n)
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(|c| {
            c.iter()
                .map(|i| {
                    let key = Bytes::from((*i as u64).to_be_bytes().to_vec());
                    ProducerRecord::new(Some(key), Some(value.clone())).with_timestamp(*i as i64)
                })
                .collect()
        })
        .collect()
}

fn dir_bytes(p: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            n += dir_bytes(&e.path());
        } else if e.path().extension().is_some_and(|x| x == "log") {
            n += e.metadata().unwrap().len();
        }
    }
    n
}

/// Appends every batch; returns the time and the bytes of log files written.
fn append(
    n: usize,
    fsync: FsyncPolicy,
    acks: Acks,
    replicas: u32,
) -> (Duration, u64, tempfile::TempDir) {
    let d = tempfile::tempdir().unwrap();
    let settings = Settings {
        segment_bytes: 256 * 1024 * 1024,
        fsync,
        ..Settings::default()
    };
    let c = Cluster::open(d.path(), replicas, settings).unwrap();
    let cfg = TopicConfig {
        replicas,
        ..Default::default()
    };
    c.create_topic("bench", cfg).unwrap();
    let batches = records(n);
    let t = Instant::now();
    for b in batches {
        c.produce_batch("bench", 0, b, acks).unwrap();
    }
    c.flush().unwrap();
    let el = t.elapsed();
    let bytes = dir_bytes(d.path());
    (el, bytes, d)
}

/// Writes `data` (the log's own bytes, already in memory) to `copies` fresh files in
/// chunks of `chunk`, fsyncing as `fsync` says.
fn raw_write(data: &[u8], copies: u32, chunk: usize, fsync: FsyncPolicy) -> Duration {
    let d = tempfile::tempdir().unwrap();
    let t = Instant::now();
    for c in 0..copies {
        let mut f = File::create(d.path().join(format!("raw{c}"))).unwrap();
        let mut last_sync = Instant::now();
        for piece in data.chunks(chunk) {
            f.write_all(piece).unwrap();
            match fsync {
                FsyncPolicy::Always => f.sync_data().unwrap(),
                FsyncPolicy::EveryMs(ms) if last_sync.elapsed() >= Duration::from_millis(ms) => {
                    f.sync_data().unwrap();
                    last_sync = Instant::now();
                }
                _ => {}
            }
        }
        if fsync != FsyncPolicy::Never {
            f.sync_data().unwrap();
        }
    }
    t.elapsed()
}

fn raw_read(path: &Path) -> (Duration, u64) {
    let mut buf = vec![0u8; 1024 * 1024];
    let t = Instant::now();
    let mut f = File::open(path).unwrap();
    let mut total = 0u64;
    let mut sum = 0u64;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
        sum = sum.wrapping_add(buf[n - 1] as u64);
    }
    std::hint::black_box(sum);
    (t.elapsed(), total)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300_000);
    let n_sync = (n / 30).max(BATCH);
    println!("records: {n} ({VALUE_BYTES}-byte values, batches of {BATCH}); fsync=always runs use {n_sync}");
    println!(
        "{:<38} {:>10} {:>10} {:>8}",
        "case", "MB/s", "raw MB/s", "ratio"
    );
    let cases: Vec<(&str, FsyncPolicy, Acks, u32, usize)> = vec![
        (
            "append acks=none  fsync=never  rf=1",
            FsyncPolicy::Never,
            Acks::None,
            1,
            n,
        ),
        (
            "append acks=leader fsync=never rf=1",
            FsyncPolicy::Never,
            Acks::Leader,
            1,
            n,
        ),
        (
            "append acks=all   fsync=never  rf=1",
            FsyncPolicy::Never,
            Acks::All,
            1,
            n,
        ),
        (
            "append acks=all   fsync=never  rf=3",
            FsyncPolicy::Never,
            Acks::All,
            3,
            n,
        ),
        (
            "append acks=all   fsync=100ms  rf=1",
            FsyncPolicy::EveryMs(100),
            Acks::All,
            1,
            n,
        ),
        (
            "append acks=all   fsync=always rf=1",
            FsyncPolicy::Always,
            Acks::All,
            1,
            n_sync,
        ),
    ];
    let only = std::env::var("KQL_BENCH_ONLY").unwrap_or_default();
    // Best of `runs` for each side (the machine is shared): KQL_BENCH_RUNS, default 3.
    let runs: usize = std::env::var("KQL_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut keep = None;
    for (name, fsync, acks, rf, count) in cases {
        if !only.is_empty() && !name.contains(&only) {
            continue;
        }
        // Alternate the two so both see the same page-cache and writeback state.
        let (mut el, bytes, d) = append(count, fsync, acks, rf);
        let chunk = (bytes / rf as u64 / (count as u64 / BATCH as u64)) as usize;
        let data = std::fs::read(find_log(d.path()).unwrap()).unwrap();
        drop(d);
        let mut raw = raw_write(&data, rf, chunk, fsync);
        let mut d = None;
        for _ in 1..runs {
            let (e, _, d2) = append(count, fsync, acks, rf);
            el = el.min(e);
            d = Some(d2);
            raw = raw.min(raw_write(&data, rf, chunk, fsync));
        }
        let d = d.unwrap();
        report(name, bytes, el, raw);
        if rf == 1 && fsync == FsyncPolicy::Never && acks == Acks::All {
            keep = Some(d);
        }
    }
    // In memory: what the log costs without the file system.
    {
        let c = Cluster::in_memory(1);
        c.create_topic("bench", TopicConfig::default()).unwrap();
        let batches = records(n);
        let t = Instant::now();
        for b in batches {
            c.produce_batch("bench", 0, b, Acks::All).unwrap();
        }
        let el = t.elapsed();
        println!(
            "append in memory: {:.0} ns/record, {:.1} M records/s",
            el.as_nanos() as f64 / n as f64,
            n as f64 / el.as_secs_f64() / 1e6
        );
    }
    // Reads: the acks=all rf=1 log, warm in the page cache.
    let Some(d) = keep else { return };
    let c = Cluster::open(d.path(), 1, Settings::default()).unwrap();
    let log = find_log(d.path()).unwrap();
    let _ = raw_read(&log);
    let (mut raw, bytes) = raw_read(&log);
    let mut el = Duration::MAX;
    for _ in 0..runs {
        raw = raw.min(raw_read(&log).0);
        let t = Instant::now();
        let mut at = 0;
        let mut seen = 0usize;
        loop {
            let rs = c.fetch("bench", 0, at, 1000).unwrap();
            let Some(last) = rs.last() else { break };
            at = last.offset + 1;
            seen += rs.len();
            std::hint::black_box(&rs);
        }
        el = el.min(t.elapsed());
        assert_eq!(seen, n);
    }
    report("read fetch(1000)", bytes, el, raw);
    // The batch-view read path: no allocation or reference count per record.
    let mut el = Duration::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let mut at = 0;
        let mut seen = 0usize;
        let mut sum = 0usize;
        loop {
            let bs = c.fetch_batches("bench", 0, at, 1000).unwrap();
            let Some(last) = bs.last() else { break };
            at = last.next_offset();
            for b in &bs {
                for v in b.iter() {
                    let v = v.unwrap();
                    seen += 1;
                    sum += v.key.map_or(0, |k| k.len()) + v.value.map_or(0, |v| v.len());
                }
            }
        }
        std::hint::black_box(sum);
        el = el.min(t.elapsed());
        assert_eq!(seen, n);
    }
    report("read fetch_batches(1000)", bytes, el, raw);
}

fn find_log(p: &Path) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(p).ok()? {
        let e = e.ok()?;
        if e.file_type().ok()?.is_dir() {
            if let Some(f) = find_log(&e.path()) {
                return Some(f);
            }
        } else if e.path().extension().is_some_and(|x| x == "log") {
            return Some(e.path());
        }
    }
    None
}

fn report(name: &str, bytes: u64, el: Duration, raw: Duration) {
    let mbs = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    println!(
        "{name:<38} {:>10.1} {:>10.1} {:>7.2}x",
        mbs(el),
        mbs(raw),
        el.as_secs_f64() / raw.as_secs_f64()
    );
}
