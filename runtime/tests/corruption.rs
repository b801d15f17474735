//! The corruption campaign: random batches written to a durable cluster, then damage (bits
//! flipped, files truncated at a random byte) anywhere in the data directory (segment logs,
//! indexes, time indexes, the metadata file), and the cluster opened again. One test puts
//! one fault per case; the other puts two or three at once: in one replica, in the same
//! file of two or three replicas (at the same byte, so the same offsets, or elsewhere), in a
//! segment and its index, a flip and a truncation, and faults under an open cluster while
//! a stopped broker's replicas are copied to a spare.
//!
//! Whatever the damage: no panic; every record is read back intact or reported lost (topic,
//! partition, offset range); nothing is read back wrong; a damaged metadata file is refused
//! with its name. A record is lost only if every replica of its partition was damaged, and
//! each of them reports damage over its offset: a partition with one untouched replica loses
//! nothing. Repairs last: a second open reads back everything the first one did.
//!
//! `KQL_CORRUPTION_CASES=N` runs N cases of each test (default 60 and 40, a few seconds in a
//! debug build); the figures are printed at the end (`cargo test --test corruption --
//! --nocapture`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use kql_runtime::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const PARTITIONS: u32 = 2;

/// Where a fault goes, relative to the files of the directory and to the fault before it.
#[derive(Debug, Clone)]
enum Place {
    /// Any file (an index into the sorted file list, modulo its length).
    AnyFile(usize),
    /// Another file of the replica the previous fault hit (its `broker-N/t-P` directory).
    SameReplica(usize),
    /// The `.index` (or, with false, the `.timeindex`) of the segment the previous fault hit.
    ItsIndex(bool),
    /// The file the previous fault hit, on another replica of the same partition: at the
    /// same byte (so the same offsets: the files of replicas are alike byte for byte), or
    /// at a position of its own.
    OtherReplica { pick: usize, same_byte: bool },
}

#[derive(Debug, Clone)]
struct Fault {
    place: Place,
    /// Where in the file, as a fraction of its length in per-million.
    at_ppm: u32,
    bit: u8,
    /// Truncate there rather than flip a bit.
    truncate: bool,
}

#[derive(Debug, Clone)]
struct Case {
    replicas: u32,
    /// Per produce call: partition and value sizes.
    batches: Vec<(u32, Vec<usize>)>,
    /// Faults put under an open cluster, before broker `stop` is stopped (its replicas
    /// are then copied to the spare broker from what remains).
    live: Vec<Fault>,
    stop: Option<u32>,
    /// Faults put in the closed directory before it is opened again.
    at_rest: Vec<Fault>,
}

fn fault(first: bool) -> impl Strategy<Value = Fault> {
    let place = if first {
        any::<usize>().prop_map(Place::AnyFile).boxed()
    } else {
        prop_oneof![
            any::<usize>().prop_map(Place::AnyFile),
            any::<usize>().prop_map(Place::SameReplica),
            any::<bool>().prop_map(Place::ItsIndex),
            (any::<usize>(), any::<bool>())
                .prop_map(|(pick, same_byte)| Place::OtherReplica { pick, same_byte }),
        ]
        .boxed()
    };
    (place, 0u32..1_000_000, 0u8..8, prop::bool::weighted(0.3)).prop_map(
        |(place, at_ppm, bit, truncate)| Fault {
            place,
            at_ppm,
            bit,
            truncate,
        },
    )
}

fn faults(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<Fault>> {
    (fault(true), prop::collection::vec(fault(false), n)).prop_map(|(first, rest)| {
        let mut v = vec![first];
        v.extend(rest);
        v
    })
}

fn batches() -> impl Strategy<Value = Vec<(u32, Vec<usize>)>> {
    prop::collection::vec(
        (0u32..PARTITIONS, prop::collection::vec(0usize..40, 1..6)),
        1..30,
    )
}

fn replicas() -> impl Strategy<Value = u32> {
    prop_oneof![Just(1u32), Just(3u32)]
}

/// One fault per case, in a closed directory.
fn one_fault() -> impl Strategy<Value = Case> {
    (replicas(), batches(), faults(0..=0)).prop_map(|(replicas, batches, at_rest)| Case {
        replicas,
        batches,
        live: Vec::new(),
        stop: None,
        at_rest,
    })
}

/// Two or three faults in a closed directory, or one or two under an open cluster while a
/// broker's replicas are re-created elsewhere (then perhaps one more at rest).
fn several_faults() -> impl Strategy<Value = Case> {
    let at_rest =
        (replicas(), batches(), faults(1..=2)).prop_map(|(replicas, batches, at_rest)| Case {
            replicas,
            batches,
            live: Vec::new(),
            stop: None,
            at_rest,
        });
    let live = (
        batches(),
        faults(0..=1),
        1u32..=BROKERS,
        prop::collection::vec(fault(true), 0..=1),
    )
        .prop_map(|(batches, live, stop, at_rest)| Case {
            replicas: 3,
            batches,
            live,
            stop: Some(stop),
            at_rest,
        });
    prop_oneof![3 => at_rest, 1 => live]
}

/// Four brokers: a partition of three replicas has a spare to be copied to.
const BROKERS: u32 = 4;

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
            } else if p
                .file_name()
                .is_some_and(|n| n != ".lock" && n != "kql.sock")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The replica directory (`broker-N/t-P`) a file belongs to, relative to `dir`.
fn replica_of(dir: &Path, file: &Path) -> Option<(u32, u32)> {
    let rel = file.strip_prefix(dir).ok()?;
    let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
    let broker = parts.next()?.strip_prefix("broker-")?.parse().ok()?;
    let partition = parts.next()?.strip_prefix("t-")?.parse().ok()?;
    Some((broker, partition))
}

/// What the faults did: every file they touched, and what they changed.
#[derive(Default)]
struct Damaged {
    files: Vec<PathBuf>,
    /// The previous fault's file and byte.
    prev: Option<(PathBuf, usize)>,
}

impl Damaged {
    /// Replicas (broker, partition) with a damaged file.
    fn replicas(&self, dir: &Path) -> BTreeSet<(u32, u32)> {
        self.files
            .iter()
            .filter_map(|f| replica_of(dir, f))
            .collect()
    }

    fn touched_metadata(&self) -> bool {
        self.files
            .iter()
            .any(|f| f.file_name().is_some_and(|n| n == "cluster.json"))
    }

    fn target(&self, dir: &Path, place: &Place) -> (PathBuf, Option<usize>) {
        let all = files(dir);
        let any = |i: usize| all[i % all.len()].clone();
        let Some((prev, prev_at)) = &self.prev else {
            let i = match place {
                Place::AnyFile(i) | Place::SameReplica(i) => *i,
                Place::OtherReplica { pick, .. } => *pick,
                Place::ItsIndex(_) => 0,
            };
            return (any(i), None);
        };
        let replica_dir = prev.parent().filter(|_| replica_of(dir, prev).is_some());
        match (place, replica_dir) {
            (Place::AnyFile(i), _) => (any(*i), None),
            (Place::SameReplica(i), Some(rd)) => {
                let mine: Vec<&PathBuf> = all.iter().filter(|f| f.parent() == Some(rd)).collect();
                (mine[i % mine.len()].clone(), None)
            }
            (Place::ItsIndex(index), Some(_)) => {
                let ext = if *index { "index" } else { "timeindex" };
                (prev.with_extension(ext), None)
            }
            (Place::OtherReplica { pick, same_byte }, Some(_)) => {
                let (broker, partition) = replica_of(dir, prev).unwrap();
                let name = prev.file_name().unwrap();
                let others: Vec<PathBuf> = (1..=BROKERS)
                    .filter(|&b| b != broker)
                    .map(|b| dir.join(format!("broker-{b}/t-{partition}")).join(name))
                    .filter(|p| p.exists())
                    .collect();
                if others.is_empty() {
                    return (any(*pick), None);
                }
                let at = same_byte.then_some(*prev_at);
                (others[pick % others.len()].clone(), at)
            }
            (Place::SameReplica(i) | Place::OtherReplica { pick: i, .. }, None) => (any(*i), None),
            (Place::ItsIndex(_), None) => (prev.clone(), None),
        }
    }

    /// Puts `f` into the directory (under an open cluster too: the files are changed in
    /// place, as a disk would).
    fn apply(&mut self, dir: &Path, f: &Fault) {
        let (target, at) = self.target(dir, &f.place);
        let Ok(mut bytes) = std::fs::read(&target) else {
            return; // an index a segment never wrote
        };
        let at = at.unwrap_or((bytes.len() as u64 * f.at_ppm as u64 / 1_000_000) as usize);
        if bytes.is_empty() || at >= bytes.len() {
            self.prev = Some((target, at));
            return;
        }
        if f.truncate {
            bytes.truncate(at);
        } else {
            bytes[at] ^= 1 << f.bit;
        }
        // Written in place (not replaced), so an open cluster's file handles see it.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .unwrap();
        use std::os::unix::fs::FileExt;
        file.write_all_at(&bytes, 0).unwrap();
        file.set_len(bytes.len() as u64).unwrap();
        self.files.push(target.clone());
        self.prev = Some((target, at));
    }
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
    /// Cases with every replica of a partition damaged (multi-fault only).
    all_replicas_damaged: usize,
    /// Brokers stopped (their replicas copied to the spare) under damage.
    stops: usize,
}

/// Parses a report's offset range (`a..b`, or `a..` to the end).
fn range(r: &StorageReport) -> (u64, u64) {
    let (a, b) = r
        .offsets
        .split_once("..")
        .expect("a lost range has offsets");
    (a.parse().unwrap(), b.parse().unwrap_or(u64::MAX))
}

fn covers(r: &StorageReport, o: u64) -> bool {
    if r.offsets.is_empty() {
        return false;
    }
    let (a, b) = range(r);
    a <= o && o < b
}

/// Writes the case's batches; returns what was written, per partition, by offset.
fn write(dir: &Path, c: &Case) -> Vec<Vec<Bytes>> {
    let mut written: Vec<Vec<Bytes>> = vec![Vec::new(); PARTITIONS as usize];
    let cl = Cluster::open(dir, BROKERS, settings()).unwrap();
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
    written
}

/// Reads every partition of an open cluster: what came back must be what was written.
/// Returns the offsets read, per partition.
fn read_back(cl: &Cluster, written: &[Vec<Bytes>]) -> Result<Vec<BTreeSet<u64>>, TestCaseError> {
    let mut out = Vec::new();
    for p in 0..PARTITIONS {
        let (start, _, _) = cl.offsets("t", p).unwrap();
        let got = cl
            .fetch("t", p, start, usize::MAX)
            .map_err(|e| TestCaseError::fail(format!("read of partition {p}: {e}")))?;
        let mut seen = BTreeSet::new();
        for r in &got {
            let want = written[p as usize].get(r.offset as usize);
            prop_assert_eq!(
                r.value.as_ref(),
                want,
                "partition {} offset {}",
                p,
                r.offset
            );
            seen.insert(r.offset);
        }
        out.push(seen);
    }
    Ok(out)
}

fn run(c: &Case, fig: &mut Figures) -> Result<(), TestCaseError> {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let written = write(dir, c);
    let mut damaged = Damaged::default();
    if let Some(stop) = c.stop {
        let cl = Cluster::open(dir, BROKERS, settings()).unwrap();
        for f in &c.live {
            damaged.apply(dir, f);
        }
        fig.stops += 1;
        // Stopping a broker copies its replicas to the spare from the remaining ones: a
        // copy that meets damage takes another in-sync replica's batches, or leaves the
        // partition under-replicated with a report; the stop itself succeeds.
        if let Err(e) = cl.stop_broker(stop) {
            return Err(TestCaseError::fail(format!("stop_broker({stop}): {e}")));
        }
        // Under the open cluster, a read either fails on damage or reads back true records.
        for p in 0..PARTITIONS {
            if let Ok((start, _, _)) = cl.offsets("t", p) {
                if let Ok(got) = cl.fetch("t", p, start, usize::MAX) {
                    for r in &got {
                        let want = written[p as usize].get(r.offset as usize);
                        prop_assert_eq!(r.value.as_ref(), want, "live read, partition {}", p);
                    }
                }
            }
        }
    }
    // Replicas whose files were damaged while they were replicas of the partition.
    let live_damaged = damaged.replicas(dir);
    damaged.prev = None;
    for f in &c.at_rest {
        damaged.apply(dir, f);
    }
    fig.cases += 1;
    let cl = match Cluster::open(dir, BROKERS, settings()) {
        Ok(cl) => cl,
        Err(e) => {
            // Only the metadata file may stop an open, and the error names it.
            prop_assert!(
                damaged.touched_metadata(),
                "open failed on damaged {:?}: {e}",
                damaged.files
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
    let mut hurt = damaged.replicas(dir);
    hurt.extend(live_damaged);
    let mut every_replica_hurt = false;
    let seen = read_back(&cl, &written)?;
    for p in 0..PARTITIONS {
        let replicas = cl.describe_topic("t").unwrap().partitions[p as usize]
            .replicas
            .clone();
        let all_hurt = replicas.iter().all(|&b| hurt.contains(&(b, p)));
        every_replica_hurt |= all_hurt && c.replicas > 1;
        for r in reports.iter().filter(|r| r.partition == p) {
            prop_assert_eq!(&r.topic, "t", "{}", r);
            prop_assert!(!r.lost || all_hurt, "lost with an undamaged replica: {}", r);
        }
        let lost: Vec<&StorageReport> = reports
            .iter()
            .filter(|r| r.lost && r.partition == p)
            .collect();
        for o in 0..written[p as usize].len() as u64 {
            if seen[p as usize].contains(&o) {
                continue;
            }
            prop_assert!(
                lost.iter().any(|r| covers(r, o)),
                "partition {p} offset {o} missing and not reported (reports {reports:?})"
            );
            // Lost only if every replica was damaged there.
            for &b in &replicas {
                prop_assert!(
                    reports
                        .iter()
                        .any(|r| r.partition == p && r.broker == b && covers(r, o)),
                    "partition {p} offset {o} lost, but broker {b} reported no damage there \
                     (reports {reports:?})"
                );
            }
            fig.records_lost += 1;
        }
    }
    if every_replica_hurt {
        fig.all_replicas_damaged += 1;
    }
    // Repairs last: the next open reads back all that this one did.
    drop(cl);
    let again = Cluster::open(dir, BROKERS, settings())
        .map_err(|e| TestCaseError::fail(format!("second open: {e}")))?;
    let seen_again = read_back(&again, &written)?;
    for p in 0..PARTITIONS as usize {
        let gone: Vec<&u64> = seen[p].difference(&seen_again[p]).collect();
        prop_assert!(
            gone.is_empty(),
            "partition {p}: {gone:?} read once, then not"
        );
    }
    Ok(())
}

fn campaign(name: &str, default_cases: u32, strategy: impl Strategy<Value = Case>) {
    let cases: u32 = std::env::var("KQL_CORRUPTION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // Each case opens a directory several times: keep shrinking short.
        max_shrink_iters: 300,
        ..Config::default()
    });
    let fig = std::cell::RefCell::new(Figures::default());
    let r = runner.run(&strategy, |c| run(&c, &mut fig.borrow_mut()));
    println!("corruption campaign, {name}: {:?}", fig.borrow());
    if let Err(e) = r {
        panic!("{e}");
    }
}

#[test]
fn every_damage_is_detected_repaired_or_reported() {
    campaign("one fault", 60, one_fault());
}

#[test]
fn several_faults_at_once_lose_only_what_every_replica_lost() {
    campaign("several faults", 40, several_faults());
}
