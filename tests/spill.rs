//! A run without `--data-dir` whose topics outgrow what a partition keeps in memory: the
//! older batches are spilled to an unlinked temporary file, and everything a user can
//! read from the beginning of a topic is still there, in order. Nothing is left in the
//! temporary folder afterwards.

use std::process::Command;

/// 150,000 records of about 100 bytes: 15 MB in one partition, several times what a
/// partition keeps in memory.
const RECORDS: u64 = 150_000;

/// Writes `RECORDS` lines of `{"k":..,"n":..,"pad":..}` to `dir/events.jsonl`.
fn write_events(dir: &std::path::Path) {
    let mut lines = String::new();
    for n in 0..RECORDS {
        lines.push_str(&format!(
            "{{\"k\":\"k-{}\",\"n\":{n},\"pad\":\"{}\"}}\n",
            n % 100,
            "x".repeat(64)
        ));
    }
    std::fs::write(dir.join("events.jsonl"), lines).unwrap();
}

#[test]
fn topics_larger_than_memory_are_read_from_the_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_events(dir.path());
    let script = dir.path().join("q.ksql");
    std::fs::write(
        &script,
        "CREATE STREAM events (k VARCHAR KEY, n BIGINT, pad VARCHAR)
           WITH (kafka_topic='events', partitions=1, value_format='JSON');
         CREATE SOURCE CONNECTOR load WITH ('connector.class'='FileStreamSource',
           'file'='events.jsonl', 'topic'='events', 'key'='k');
         CREATE STREAM every_50000th AS SELECT k, n FROM events WHERE n % 50000 = 0;
         PRINT 'events' FROM BEGINNING LIMIT 2;
         SELECT n FROM events WHERE n = 1 OR n = 149999 EMIT CHANGES;
         SELECT k, n FROM every_50000th EMIT CHANGES;\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(["run", script.to_str().unwrap(), "--format", "json"])
        .current_dir(dir.path())
        .env("TMPDIR", tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    // PRINT: the first two records, long since spilled.
    for (i, printed) in lines[..2].iter().enumerate() {
        assert_eq!(printed["offset"], i as u64, "{stdout}");
        assert_eq!(printed["key"], format!("k-{i}"), "{stdout}");
        assert_eq!(printed["value"]["n"], i as u64, "{stdout}");
    }
    let rows: Vec<String> = lines[2..].iter().map(|v| v.to_string()).collect();
    assert_eq!(
        rows,
        [
            r#"{"N":1}"#,
            r#"{"N":149999}"#,
            r#"{"K":"k-0","N":0}"#,
            r#"{"K":"k-0","N":50000}"#,
            r#"{"K":"k-0","N":100000}"#,
        ],
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "the spill files are gone with the process"
    );
}

#[test]
fn a_temporary_folder_that_cannot_be_written_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    write_events(dir.path());
    let script = dir.path().join("load.ksql");
    std::fs::write(
        &script,
        "CREATE STREAM events (k VARCHAR KEY, n BIGINT, pad VARCHAR)
           WITH (kafka_topic='events', partitions=1, value_format='JSON');
         CREATE SOURCE CONNECTOR load WITH ('connector.class'='FileStreamSource',
           'file'='events.jsonl', 'topic'='events', 'key'='k');\n",
    )
    .unwrap();
    let missing = dir.path().join("no-such-folder");
    let out = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(["run", script.to_str().unwrap()])
        .current_dir(dir.path())
        .env("TMPDIR", &missing)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "spills older records to a temporary file in {} (the temporary folder, TMPDIR)",
            missing.display()
        )),
        "{stderr}"
    );
}
