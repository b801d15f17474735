//! `kql serve` with the Python clients from PyPI: confluent-kafka (librdkafka) and
//! kafka-python. Each creates a topic, produces keyed records with acks=all, consumes half
//! in a group and commits, then a new consumer of the group resumes from the committed
//! offsets; after a restart of the server (same data directory) the offsets are still
//! there. confluent-kafka also produces with each `compression.type`. Run
//! scripts/clients-up first.

mod serve_support;

use std::process::Command;
use std::time::Duration;

use kql_runtime::partitioner::partition_for_key;
use serve_support::*;

const RECORDS: usize = 30;

fn roundtrip(
    script: &str,
    module: &str,
    served: &Served,
    topic: &str,
    group: &str,
) -> serde_json::Value {
    require_python_module(module);
    let path = root().join("tests/serve_clients").join(script);
    let out = run(
        Command::new("python3").args([
            path.to_str().unwrap(),
            served.bootstrap(),
            topic,
            group,
            &RECORDS.to_string(),
        ]),
        "",
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_str(text(&out.stdout).lines().last().unwrap_or("")).unwrap()
}

/// Every key is on the partition Kafka's default partitioner gives (3 partitions).
fn assert_kafka_placement(summary: &serde_json::Value) {
    for pair in summary["placement"].as_array().unwrap() {
        let key = pair[0].as_str().unwrap();
        let partition = pair[1].as_u64().unwrap() as u32;
        assert_eq!(partition, partition_for_key(key.as_bytes(), 3), "key {key}");
    }
}

/// The group's committed offsets and the log ends of the partitions it committed for, as
/// kql's DESCRIBE CONSUMER GROUP shows them; each row's lag is checked on the way.
fn committed_total(dir: &std::path::Path, data: &std::path::Path, group: &str) -> (i64, i64) {
    let describe = write_file(
        dir,
        "d.ksql",
        &format!("DESCRIBE CONSUMER GROUP `{group}`;\n"),
    );
    let rows = kql_json(&describe, data);
    for r in &rows {
        let (committed, end, lag) = (
            r["Committed"].as_i64().unwrap(),
            r["Log end"].as_i64().unwrap(),
            r["Lag"].as_i64().unwrap(),
        );
        assert_eq!(lag, end - committed, "{r}");
    }
    let sum = |c: &str| rows.iter().map(|r| r[c].as_i64().unwrap_or(0)).sum();
    (sum("Committed"), sum("Log end"))
}

#[test]
fn confluent_kafka_produces_with_acks_all_and_a_group_resumes_from_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let served = Served::start(3, &["--data-dir", data.to_str().unwrap()]);
    let s = roundtrip(
        "confluent_roundtrip.py",
        "confluent_kafka",
        &served,
        "py-events",
        "py-group",
    );
    assert_eq!(
        (s["acked"].as_u64(), s["errors"].as_u64()),
        (Some(RECORDS as u64), Some(0))
    );
    assert_eq!(s["first"].as_u64(), Some(RECORDS as u64 / 2));
    assert_eq!(
        s["second"].as_u64(),
        Some(RECORDS as u64 / 2),
        "the second consumer starts where the first committed: {s}"
    );
    assert_eq!(s["extra"].as_u64(), Some(0), "nothing is read twice");
    assert_eq!(s["distinct_keys"].as_u64(), Some(RECORDS as u64));
    assert_kafka_placement(&s);
    drop(served);
    // The first consumer committed half; the second did not commit.
    assert_eq!(
        committed_total(dir.path(), &data, "py-group").0,
        RECORDS as i64 / 2
    );
}

#[test]
fn kafka_python_produces_with_acks_all_and_a_group_resumes_from_its_commit_which_survives_a_restart(
) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let served = Served::start(1, &["--data-dir", data.to_str().unwrap()]);
    let s = roundtrip(
        "kafka_python_roundtrip.py",
        "kafka",
        &served,
        "kp-events",
        "kp-group",
    );
    assert_eq!(s["acked"].as_u64(), Some(RECORDS as u64));
    assert_eq!(s["first"].as_u64(), Some(RECORDS as u64 / 2));
    assert_eq!(s["second"].as_u64(), Some(RECORDS as u64 / 2), "{s}");
    assert_eq!(s["distinct"].as_u64(), Some(RECORDS as u64));
    assert_kafka_placement(&s);
    drop(served);
    assert_eq!(
        committed_total(dir.path(), &data, "kp-group").0,
        RECORDS as i64 / 2
    );
}

#[test]
fn confluent_kafka_batches_compressed_with_every_compression_type_are_taken_and_read_back() {
    require_python_module("confluent_kafka");
    let served = Served::start(1, &[]);
    let path = root().join("tests/serve_clients/confluent_compression.py");
    let out = run(
        Command::new("python3").args([path.to_str().unwrap(), served.bootstrap(), "zipped", "200"]),
        "",
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let s: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().last().unwrap_or("")).unwrap();
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        assert_eq!(s[codec]["errors"], serde_json::json!([]), "{codec}: {s}");
        assert_eq!(s[codec]["acked"].as_u64(), Some(200), "{codec}: {s}");
        assert_eq!(s[codec]["read_back_equal"], true, "{codec}: {s}");
    }
}
