//! The corruption campaign: random batches written to a durable cluster, then one random
//! bit flipped or one file truncated at a random byte, anywhere in the data directory
//! (segment logs, indexes, time indexes, the metadata file), and the cluster opened again.
//! Whatever the damage: no panic; every record is read back intact or reported lost (topic,
//! partition, offset range); nothing is read back wrong; a damaged metadata file is refused
//! with its name. With three replicas and one damaged, nothing is lost at all.
//!
//! `KQL_CORRUPTION_CASES=N` runs N cases (default 100, about ten seconds in a debug build);
//! the figures are printed at the end (`cargo test --test corruption -- --nocapture`).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use kql_runtime::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Debug, Clone)]
struct Case {
    replicas: u32,
    /// Per produce call: partition and value sizes.
    batches: Vec<(u32, Vec<usize>)>,
    /// Which file (an index into the sorted file list, modulo its length), where (a
    /// fraction of its length in per-million), and how: flip a bit, or truncate there.
    file: usize,
    at_ppm: u32,
    bit: u8,
    truncate: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![Just(1u32), Just(3u32)],
        prop::collection::vec((0u32..2, prop::collection::vec(0usize..40, 1..6)), 1..30),
        any::<usize>(),
        0u32..1_000_000,
        0u8..8,
        prop::bool::weighted(0.3),
    )
        .prop_map(|(replicas, batches, file, at_ppm, bit, truncate)| Case {
            replicas,
            batches,
            file,
            at_ppm,
            bit,
            truncate,
        })
}

const PARTITIONS: u32 = 2;

fn settings() -> Settings {
    Settings {
        segment_bytes: 400,
        ..Settings::default()
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != ".lock") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[derive(Default, Debug)]
struct Figures {
    cases: usize,
    /// The damage was found (a report, or a refusal to open).
    detected: usize,
    /// Reports of damage repaired with nothing lost (from a replica, or an index rebuilt).
    repaired: usize,
    /// Cases that lost records, all reported.
    lost: usize,
    /// Opens refused (a damaged metadata file).
    refused: usize,
    /// Records reported lost.
    records_lost: usize,
}

/// Parses a report's offset range (`a..b`, or `a..` to the end).
fn range(r: &StorageReport) -> (u64, u64) {
    let (a, b) = r
        .offsets
        .split_once("..")
        .expect("a lost range has offsets");
    (a.parse().unwrap(), b.parse().unwrap_or(u64::MAX))
}

fn run(c: &Case, fig: &mut Figures) -> Result<(), TestCaseError> {
    let d = tempfile::tempdir().unwrap();
    // What was written: (partition, offset) -> value.
    let mut written: Vec<Vec<Bytes>> = vec![Vec::new(); PARTITIONS as usize];
    {
        let cl = Cluster::open(d.path(), 3, settings()).unwrap();
        let cfg = TopicConfig {
            partitions: PARTITIONS,
            replicas: c.replicas,
            ..Default::default()
        };
        cl.create_topic("t", cfg).unwrap();
        for (p, sizes) in &c.batches {
            let recs: Vec<ProducerRecord> = sizes
                .iter()
                .map(|&n| {
                    let at = written[*p as usize].len();
                    let v = Bytes::from(format!("{p}:{at}:{}", "v".repeat(n)));
                    written[*p as usize].push(v.clone());
                    ProducerRecord::new(Some(Bytes::from(format!("k{at}"))), Some(v))
                })
                .collect();
            cl.produce_batch("t", *p, recs, Acks::All).unwrap();
        }
    }
    let all = files(d.path());
    let target = &all[c.file % all.len()];
    let mut bytes = std::fs::read(target).unwrap();
    let changed = if bytes.is_empty() {
        false
    } else {
        let at = (bytes.len() as u64 * c.at_ppm as u64 / 1_000_000) as usize;
        if c.truncate {
            bytes.truncate(at);
        } else {
            bytes[at] ^= 1 << c.bit;
        }
        true
    };
    std::fs::write(target, &bytes).unwrap();
    fig.cases += 1;
    let is_meta = target.file_name().is_some_and(|n| n == "cluster.json");
    let cl = match Cluster::open(d.path(), 3, settings()) {
        Ok(cl) => cl,
        Err(e) => {
            // Only the metadata file may stop an open, and the error names it.
            prop_assert!(
                is_meta,
                "open failed on a damaged {}: {e}",
                target.display()
            );
            prop_assert!(e.to_string().contains("cluster.json"), "{e}");
            fig.detected += 1;
            fig.refused += 1;
            return Ok(());
        }
    };
    let reports = cl.storage_reports();
    if !reports.is_empty() {
        fig.detected += 1;
    }
    fig.repaired += reports.iter().filter(|r| !r.lost).count();
    if reports.iter().any(|r| r.lost) {
        fig.lost += 1;
    }
    for r in &reports {
        prop_assert_eq!(&r.topic, "t", "{}", r);
        if c.replicas == 3 {
            prop_assert!(!r.lost, "lost with 3 replicas: {}", r);
        }
    }
    for p in 0..PARTITIONS {
        let (start, hw, _) = cl.offsets("t", p).unwrap();
        let got = cl.fetch("t", p, start, usize::MAX);
        let got = match got {
            Ok(g) => g,
            Err(e) => return Err(TestCaseError::fail(format!("read of partition {p}: {e}"))),
        };
        let lost: Vec<(u64, u64)> = reports
            .iter()
            .filter(|r| r.lost && r.partition == p && !r.offsets.is_empty())
            .map(range)
            .collect();
        let reported = |o: u64| lost.iter().any(|&(a, b)| a <= o && o < b);
        let mut seen = vec![false; written[p as usize].len()];
        for r in &got {
            let want = written[p as usize].get(r.offset as usize);
            prop_assert_eq!(
                r.value.as_ref(),
                want,
                "partition {} offset {}",
                p,
                r.offset
            );
            seen[r.offset as usize] = true;
        }
        for (o, s) in seen.iter().enumerate() {
            if !s {
                prop_assert!(
                    reported(o as u64),
                    "partition {p} offset {o} missing and not reported (hw {hw}, reports {reports:?})"
                );
                fig.records_lost += 1;
            }
        }
    }
    let _ = changed;
    Ok(())
}

#[test]
fn every_damage_is_detected_repaired_or_reported() {
    let cases: u32 = std::env::var("KQL_CORRUPTION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let fig = std::cell::RefCell::new(Figures::default());
    let r = runner.run(&case(), |c| run(&c, &mut fig.borrow_mut()));
    println!("corruption campaign: {:?}", fig.borrow());
    if let Err(e) = r {
        panic!("{e}");
    }
}
