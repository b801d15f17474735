//! Differential property test of spilling: an in-memory log that keeps only a few bytes
//! of batches in memory and spills the rest must read exactly like one that keeps
//! everything, through appends, retention, truncation and compaction, while holding no
//! more than its budget (plus the batch being appended) and leaving no file in its folder.

use bytes::Bytes;
use kql_runtime::log::PartitionLog;
use kql_runtime::retention::{compact, delete_old_segments};
use kql_runtime::{ProducerRecord, Settings, Spill};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Append a batch of keyed records with these value sizes.
    Append(Vec<u8>),
    /// Retention by size: keep about this many bytes.
    Retain(u16),
    /// Drop the batches from this fraction (per mille) of the offsets on.
    TruncateFrom(u16),
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => prop::collection::vec(0u8..80, 1..6).prop_map(Op::Append),
        1 => (0u16..3000).prop_map(Op::Retain),
        1 => (0u16..1000).prop_map(Op::TruncateFrom),
        1 => Just(Op::Compact),
    ]
}

fn settings() -> Settings {
    Settings {
        segment_bytes: 400,
        ..Settings::default()
    }
}

fn check(spilling: &PartitionLog, plain: &PartitionLog) {
    assert_eq!(spilling.log_start_offset(), plain.log_start_offset());
    assert_eq!(spilling.log_end_offset(), plain.log_end_offset());
    let all = |l: &PartitionLog| -> Vec<(u64, Option<Bytes>, Option<Bytes>)> {
        l.read(0, u64::MAX, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|r| (r.offset, r.key, r.value))
            .collect()
    };
    assert_eq!(all(spilling), all(plain));
    let (start, end) = (plain.log_start_offset(), plain.log_end_offset());
    for from in [start, (start + end) / 2, end.saturating_sub(1)] {
        let views = |l: &PartitionLog| -> Vec<(u64, Vec<u8>)> {
            l.read_views(from, end, usize::MAX)
                .unwrap()
                .iter()
                .flat_map(|b| b.iter().map(|v| v.unwrap()))
                .map(|v| (v.offset, v.value.unwrap_or_default().to_vec()))
                .collect()
        };
        assert_eq!(views(spilling), views(plain), "batch views from {from}");
    }
}

fn run(keep: u64, ops: Vec<Op>) {
    let d = tempfile::tempdir().unwrap();
    let spill = Spill {
        dir: d.path().to_path_buf(),
        keep_bytes: keep,
    };
    let mut spilling = PartitionLog::in_memory_spilling(settings(), 0, 0, spill);
    let mut plain = PartitionLog::in_memory(settings(), 0, 0);
    let mut n = 0u64;
    for op in ops {
        match op {
            Op::Append(sizes) => {
                let recs: Vec<ProducerRecord> = sizes
                    .iter()
                    .map(|&s| {
                        n += 1;
                        let k = Bytes::from(format!("k{}", n % 7));
                        let v = format!("{n}:{}", "x".repeat(s as usize));
                        ProducerRecord::new(Some(k), Some(Bytes::from(v))).with_timestamp(n as i64)
                    })
                    .collect();
                let (_, batches) = spilling.append_records(recs.clone(), 0, 0).unwrap();
                plain.append_records(recs, 0, 0).unwrap();
                let last = batches.last().map_or(0, |b| b.len() as u64);
                assert!(
                    spilling.bytes_in_memory() <= keep.max(last),
                    "{} bytes in memory, budget {keep}, last batch {last}",
                    spilling.bytes_in_memory()
                );
            }
            Op::Retain(bytes) => {
                for l in [&mut spilling, &mut plain] {
                    let end = l.log_end_offset();
                    delete_old_segments(l, None, Some(bytes as u64), end, 0).unwrap();
                }
            }
            Op::TruncateFrom(per_mille) => {
                let end = plain.log_end_offset();
                let at = end * per_mille as u64 / 1000;
                spilling.truncate_from(at).unwrap();
                plain.truncate_from(at).unwrap();
            }
            Op::Compact => {
                for l in [&mut spilling, &mut plain] {
                    let end = l.log_end_offset();
                    compact(l, 1_000_000, end, 0).unwrap();
                }
            }
        }
        check(&spilling, &plain);
        assert!(spilling.bytes_in_memory() <= plain.bytes_in_memory());
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            0,
            "the spill file is unlinked as soon as it is created"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_spilling_log_reads_like_one_in_memory(
        keep in 0u64..600,
        ops in prop::collection::vec(op(), 1..50),
    ) {
        run(keep, ops);
    }
}

/// Many batches through a small budget: most of the log is in the spill file, and a read
/// from the start sees every record.
#[test]
fn a_long_log_keeps_only_its_budget_in_memory() {
    let d = tempfile::tempdir().unwrap();
    let spill = Spill {
        dir: d.path().to_path_buf(),
        keep_bytes: 4096,
    };
    let mut log = PartitionLog::in_memory_spilling(Settings::default(), 0, 0, spill);
    for i in 0..2000u32 {
        let recs: Vec<ProducerRecord> = (0..10)
            .map(|j| {
                ProducerRecord::new(
                    None,
                    Some(Bytes::from(format!("{i}-{j}-{}", "v".repeat(50)))),
                )
            })
            .collect();
        log.append_records(recs, 0, 0).unwrap();
    }
    assert!(log.size_bytes() > 1_000_000);
    assert!(log.bytes_in_memory() <= 4096, "{}", log.bytes_in_memory());
    let all = log.read(0, u64::MAX, usize::MAX).unwrap();
    assert_eq!(all.len(), 20_000);
    assert_eq!(
        all[12_345].value.as_deref(),
        Some(format!("1234-5-{}", "v".repeat(50)).as_bytes())
    );
}
