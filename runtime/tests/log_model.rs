//! Model-based property test of one partition log on disk: random appends (rolling
//! segments), reopens, truncation of the last segment file at a random byte, and
//! retention, compared after every step with a `Vec` model.

use bytes::Bytes;
use kql_runtime::log::PartitionLog;
use kql_runtime::retention::delete_old_segments;
use kql_runtime::{ProducerRecord, Settings};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Append a batch of records with these value sizes.
    Append(Vec<u8>),
    Reopen,
    /// Cut the last segment file at this fraction (per mille) of its size, then reopen.
    TruncateTail(u16),
    /// Retention by size: keep about this many bytes.
    Retain(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(0u8..60, 1..5).prop_map(Op::Append),
        1 => Just(Op::Reopen),
        1 => (0u16..1000).prop_map(Op::TruncateTail),
        1 => (0u16..2000).prop_map(Op::Retain),
    ]
}

struct Model {
    /// values[i] is the value at offset i (below `start` it is no longer in the log).
    values: Vec<Bytes>,
    start: u64,
    /// (first offset, byte length) of each batch appended, in order.
    batches: Vec<(u64, usize)>,
}

fn settings() -> Settings {
    Settings {
        segment_bytes: 300,
        ..Settings::default()
    }
}

fn check(log: &PartitionLog, m: &Model) {
    assert_eq!(log.log_end_offset(), m.values.len() as u64);
    assert_eq!(log.log_start_offset(), m.start);
    let got = log.read(0, u64::MAX, usize::MAX).unwrap();
    let want: Vec<(u64, Bytes)> = (m.start..m.values.len() as u64)
        .map(|o| (o, m.values[o as usize].clone()))
        .collect();
    let got: Vec<(u64, Bytes)> = got
        .into_iter()
        .map(|r| (r.offset, r.value.unwrap()))
        .collect();
    assert_eq!(
        got, want,
        "reads equal the model (dense, increasing offsets)"
    );
    // The batch views read the same, from any offset.
    let end = m.values.len() as u64;
    for from in [m.start, (m.start + end) / 2, end.saturating_sub(1)] {
        let views = log.read_views(from, end, usize::MAX).unwrap();
        let got: Vec<(u64, Bytes)> = views
            .iter()
            .flat_map(|b| {
                b.iter()
                    .map(|v| v.unwrap())
                    .map(|v| (v.offset, Bytes::copy_from_slice(v.value.unwrap())))
            })
            .collect();
        let skip = (from.max(m.start) - m.start) as usize;
        assert_eq!(got, want[skip.min(want.len())..].to_vec());
    }
}

fn last_segment(dir: &std::path::Path) -> (u64, std::path::PathBuf) {
    let mut logs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix(".log").map(|s| s.parse::<u64>().unwrap())
        })
        .collect();
    logs.sort();
    let base = *logs.last().unwrap();
    (base, dir.join(format!("{base:020}.log")))
}

fn run(ops: Vec<Op>) {
    let d = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(d.path(), settings(), 0, 0).unwrap();
    let mut m = Model {
        values: Vec::new(),
        start: 0,
        batches: Vec::new(),
    };
    let mut n = 0u64;
    for op in ops {
        match op {
            Op::Append(sizes) => {
                let recs: Vec<ProducerRecord> = sizes
                    .iter()
                    .map(|&s| {
                        n += 1;
                        let v = format!("{n}:{}", "x".repeat(s as usize));
                        ProducerRecord::new(None, Some(Bytes::from(v))).with_timestamp(n as i64)
                    })
                    .collect();
                let vals: Vec<Bytes> = recs.iter().map(|r| r.value.clone().unwrap()).collect();
                let (first, batches) = log.append_records(recs, 0, 0).unwrap();
                assert_eq!(first, m.values.len() as u64);
                let mut at = first;
                for b in &batches {
                    m.batches.push((at, b.len()));
                    at = kql_runtime::batch::check(b).unwrap().next_offset();
                }
                m.values.extend(vals);
            }
            Op::Reopen => {
                drop(log);
                log = PartitionLog::open(d.path(), settings(), 0, 0).unwrap();
            }
            Op::TruncateTail(per_mille) => {
                drop(log);
                let (base, path) = last_segment(d.path());
                let len = std::fs::metadata(&path).unwrap().len();
                let cut = len * per_mille as u64 / 1000;
                let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                f.set_len(cut).unwrap();
                drop(f);
                // The model keeps the batches of the last segment that end before the cut.
                let mut pos = 0u64;
                let mut end = base;
                for &(first, len) in m.batches.iter().filter(|b| b.0 >= base) {
                    if pos + len as u64 > cut {
                        break;
                    }
                    pos += len as u64;
                    end = first + 1;
                    end = m
                        .batches
                        .iter()
                        .find(|b| b.0 > first)
                        .map_or(m.values.len() as u64, |b| b.0)
                        .max(end);
                }
                m.values.truncate(end as usize);
                m.batches.retain(|b| b.0 < end);
                log = PartitionLog::open(d.path(), settings(), 0, 0).unwrap();
                assert_eq!(log.recovered_bytes_cut, cut - pos);
            }
            Op::Retain(bytes) => {
                let end = log.log_end_offset();
                delete_old_segments(&mut log, None, Some(bytes as u64), end, 0).unwrap();
                assert!(log.log_start_offset() >= m.start);
                m.start = log.log_start_offset();
            }
        }
        check(&log, &m);
    }
    drop(log);
    let log = PartitionLog::open(d.path(), settings(), 0, 0).unwrap();
    check(&log, &m);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_log_behaves_like_a_vec(ops in prop::collection::vec(op(), 1..40)) {
        run(ops);
    }
}

/// Compaction model: random keyed appends (some tombstones), compactions and reopens.
/// Every record read is the model's record at that offset, offsets increase, and the
/// latest value of every key is still there (a tombstone until it expires).
fn run_compaction(ops: Vec<(u8, bool, bool)>) {
    use kql_runtime::retention::compact;
    use std::collections::BTreeMap;
    let d = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(d.path(), settings(), 0, 0).unwrap();
    let mut model: Vec<(Bytes, Option<Bytes>)> = Vec::new();
    let mut now = 0i64;
    for (i, (key, tombstone, clean)) in ops.into_iter().enumerate() {
        let k = Bytes::from(format!("k{}", key % 5));
        let v = (!tombstone).then(|| Bytes::from(format!("v{i}")));
        let r = ProducerRecord::new(Some(k.clone()), v.clone()).with_timestamp(i as i64);
        log.append_records(vec![r], 0, 0).unwrap();
        model.push((k, v));
        if clean {
            now = i as i64;
            let end = log.log_end_offset();
            compact(&mut log, 5, end, now).unwrap();
            drop(log);
            log = PartitionLog::open(d.path(), settings(), 0, 0).unwrap();
        }
        let got = log.read(0, u64::MAX, usize::MAX).unwrap();
        assert!(got.windows(2).all(|w| w[0].offset < w[1].offset));
        for r in &got {
            let (k, v) = &model[r.offset as usize];
            assert_eq!((r.key.as_ref(), r.value.as_ref()), (Some(k), v.as_ref()));
        }
        let mut latest: BTreeMap<&Bytes, (usize, &Option<Bytes>)> = BTreeMap::new();
        for (o, (k, v)) in model.iter().enumerate() {
            latest.insert(k, (o, v));
        }
        for (k, (o, v)) in latest {
            let present = got.iter().any(|r| r.offset == o as u64);
            let expired_tombstone = v.is_none() && (o as i64) + 5 <= now;
            assert!(
                present || expired_tombstone,
                "latest of {k:?} at {o} is kept"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn compaction_keeps_the_latest_per_key(
        ops in prop::collection::vec((any::<u8>(), prop::bool::weighted(0.15), prop::bool::weighted(0.1)), 1..60)
    ) {
        run_compaction(ops);
    }
}
