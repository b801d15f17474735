//! A damaged data directory through the command line: damage is reported on stderr and in
//! DESCRIBE TOPIC ... EXTENDED, and a damaged catalog or missing metadata stops kql with a
//! message naming the file, deleting nothing.

mod common;

use std::path::Path;

fn write_script(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// A data directory with a stream `s` over topic `s` holding three rows.
fn populated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let script = write_script(
        dir.path(),
        "write.ksql",
        "CREATE STREAM s (k VARCHAR KEY, n INT) WITH (kafka_topic='s', partitions=1);\n\
         INSERT INTO s (k, n) VALUES ('a', 1);\n\
         INSERT INTO s (k, n) VALUES ('b', 2);\n\
         INSERT INTO s (k, n) VALUES ('c', 3);\n",
    );
    let out = common::kql(&["run", &script, "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    dir
}

fn flip(file: &Path, at: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(file, bytes).unwrap();
}

/// The catalog's segment file on every broker that holds a replica of it.
fn catalog_replicas(data: &Path) -> Vec<std::path::PathBuf> {
    let mut logs: Vec<_> = (1..=9)
        .map(|b| {
            data.join(format!(
                "broker-{b}/_kql_commands-0/00000000000000000000.log"
            ))
        })
        .filter(|p| p.exists())
        .collect();
    logs.sort();
    logs
}

#[test]
fn a_catalog_log_damaged_on_every_replica_stops_kql_instead_of_forgetting_streams() {
    let dir = populated();
    let data = dir.path().join("data");
    let logs = catalog_replicas(&data);
    assert!(!logs.is_empty());
    for log in &logs {
        let len = std::fs::metadata(log).unwrap().len() as usize;
        flip(log, len / 3);
    }
    let script = write_script(dir.path(), "show.ksql", "SHOW STREAMS;\n");
    let out = common::kql(&["run", &script, "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("the catalog log '_kql_commands' of the data directory is damaged"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("_kql_commands-0/00000000000000000000.log"),
        "{}",
        out.stderr
    );
    assert!(logs.iter().all(|l| l.exists()));
}

/// The catalog is kept on up to three brokers: one damaged replica is rebuilt from an
/// intact one, said on stderr, and every stream is still there.
#[test]
fn a_catalog_replica_damaged_alone_is_repaired_from_another_and_nothing_is_forgotten() {
    let dir = populated();
    let data = dir.path().join("data");
    let logs = catalog_replicas(&data);
    assert_eq!(logs.len(), 3, "{logs:?}");
    let len = std::fs::metadata(&logs[0]).unwrap().len() as usize;
    flip(&logs[0], len / 3);
    let script = write_script(dir.path(), "show.ksql", "SHOW STREAMS;\n");
    let out = common::kql(&["run", &script, "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("| S "), "{}", out.stdout);
    assert!(
        out.stderr.contains("_kql_commands")
            && out.stderr.contains("copied again from the intact replica"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_metadata_file_stops_kql_and_deletes_nothing() {
    let dir = populated();
    let data = dir.path().join("data");
    std::fs::remove_file(data.join("cluster.json")).unwrap();
    let out = common::kql(&["topics", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("cluster.json is missing"),
        "{}",
        out.stderr
    );
    assert!(data.join("broker-1/s-0/00000000000000000000.log").exists());
}

#[test]
fn a_cut_torn_tail_is_reported_on_stderr_and_by_describe_topic_extended() {
    let dir = populated();
    let data = dir.path().join("data");
    let log = data.join("broker-1/s-0/00000000000000000000.log");
    let len = std::fs::metadata(&log).unwrap().len();
    // The first 20 bytes of a batch at the end, as a write torn by a crash leaves it.
    let torn = 20;
    let bytes = std::fs::read(&log).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, &bytes[..torn]).unwrap();
    drop(f);
    let script = write_script(dir.path(), "describe.ksql", "DESCRIBE TOPIC s EXTENDED;\n");
    let out = common::kql(&["run", &script, "--data-dir", data.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let warning = format!(
        "warning: topic 's' partition 0 (broker 1): broker-1/s-0/00000000000000000000.log bytes {len}..{}, offsets 3..:",
        len + torn as u64
    );
    assert!(out.stderr.contains(&warning), "{}", out.stderr);
    assert!(
        out.stderr.contains("cut 20 byte(s) of an incomplete write"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("incomplete write"), "{}", out.stdout);
    assert_eq!(std::fs::metadata(&log).unwrap().len(), len);
}

/// Every file of a data directory written by `kql run` (the catalog log, the topic's
/// segments and indexes, `cluster.json`), one random bit flipped or the file truncated at
/// a random byte: the next run never forgets the stream without saying so. It lists it,
/// or it stops with exit code 1 naming what is damaged, or it warns on stderr that the
/// catalog's last write was cut. `KQL_CORRUPTION_CASES` sets the case count (default 12).
#[test]
fn damage_anywhere_never_forgets_a_stream_silently() {
    use proptest::test_runner::{Config, TestRunner};
    let cases = std::env::var("KQL_CORRUPTION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::prelude::any::<usize>(),
        0u32..1_000_000,
        0u8..8,
        proptest::bool::weighted(0.3),
    );
    let r = runner.run(&strategy, |(file, at_ppm, bit, truncate)| {
        let dir = populated();
        let data = dir.path().join("data");
        let mut files: Vec<std::path::PathBuf> = walk(&data)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n != ".lock"))
            .collect();
        files.sort();
        let target = &files[file % files.len()];
        let mut bytes = std::fs::read(target).unwrap();
        if !bytes.is_empty() {
            let at = (bytes.len() as u64 * at_ppm as u64 / 1_000_000) as usize;
            if truncate {
                bytes.truncate(at);
            } else {
                bytes[at] ^= 1 << bit;
            }
        }
        std::fs::write(target, &bytes).unwrap();
        let script = write_script(dir.path(), "show.ksql", "SHOW STREAMS;\n");
        let out = common::kql(&["run", &script, "--data-dir", data.to_str().unwrap()]);
        let listed = out.stdout.contains("| S ");
        let what = format!("{}: {}{}", target.display(), out.stdout, out.stderr);
        proptest::prop_assert!(!out.stderr.contains("panicked"), "{}", what);
        match out.code {
            0 => proptest::prop_assert!(
                listed
                    || out
                        .stderr
                        .contains("warning: topic '_kql_commands' partition 0 (broker 1)"),
                "stream forgotten silently: {}",
                what
            ),
            1 => proptest::prop_assert!(
                out.stderr.contains("cluster.json") || out.stderr.contains("_kql_commands"),
                "{}",
                what
            ),
            _ => proptest::prop_assert!(false, "exit code {}: {}", out.code, what),
        }
        Ok(())
    });
    if let Err(e) = r {
        panic!("{e}");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
