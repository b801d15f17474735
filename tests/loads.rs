//! Source connectors load while the statements after them run (`kql run`): persistent
//! queries process a file as it is loaded, and what they write is exactly what they
//! write when every load has ended first. Files of several chunks, event times that go
//! back across chunks, a windowed aggregation with a grace period (late records
//! dropped), a stream-table join whose table is loaded by a second connector, and a
//! global-table join.

mod common;

use common::kql;

/// Events with times that go back by up to 40 s every 1,000 events, and a pad, so that the
/// file spans several of the connector's chunks (2 MiB). A table of labels whose rows
/// come at the time of the 30,000th event.
fn inputs(dir: &std::path::Path) -> String {
    let mut lines = String::new();
    for n in 0..60_000u64 {
        let back = if n % 1000 < 10 { 40_000 } else { 0 };
        let ts = 1_700_000_000_000 + n * 100 - back;
        lines.push_str(&format!(
            "{{\"k\":\"k-{}\",\"n\":{n},\"ts\":{ts},\"pad\":\"{}\"}}\n",
            n % 97,
            "x".repeat(40)
        ));
    }
    let mut table = String::new();
    for k in 0..97u64 {
        let ts = 1_700_000_000_000 + 3_000_000 + k * 10;
        table.push_str(&format!(
            "{{\"k\":\"k-{k}\",\"label\":\"L{k}\",\"ts\":{ts}}}\n"
        ));
    }
    std::fs::write(dir.join("labels.jsonl"), table).unwrap();
    lines
}

const DECLARATIONS: &str = "
CREATE STREAM events (k VARCHAR KEY, n BIGINT, ts BIGINT, pad VARCHAR)
  WITH (kafka_topic='events', partitions=3, value_format='JSON', timestamp='ts');
CREATE SOURCE CONNECTOR events_src WITH ('connector.class'='FileStreamSource',
  'file'='events.jsonl', 'topic'='events', 'key'='k');
CREATE TABLE labels (k VARCHAR PRIMARY KEY, label VARCHAR, ts BIGINT)
  WITH (kafka_topic='labels', partitions=3, value_format='JSON', timestamp='ts');
CREATE GLOBAL TABLE all_labels (k VARCHAR PRIMARY KEY, label VARCHAR, ts BIGINT)
  WITH (kafka_topic='labels', partitions=3, value_format='JSON', timestamp='ts');
CREATE SOURCE CONNECTOR labels_src WITH ('connector.class'='FileStreamSource',
  'file'='labels.jsonl', 'topic'='labels', 'key'='k');
";

/// (the joins first: queries run in turn, and one that waits for the load would let the
/// next see it whole)
const QUERIES: &str = "
CREATE STREAM labelled AS SELECT e.k, e.n, l.label FROM events e
  LEFT JOIN labels l ON e.k = l.k;
CREATE STREAM looked_up AS SELECT e.k, e.n, g.label FROM events e
  JOIN all_labels g ON e.k = g.k;
CREATE STREAM odd AS SELECT k, n FROM events WHERE n % 2 = 1;
CREATE TABLE counts AS SELECT k, COUNT(*) AS c FROM events
  WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 5 SECONDS) GROUP BY k EMIT FINAL;
";

const PRINTS: &str = "
PRINT 'ODD' FROM BEGINNING;
PRINT 'COUNTS' FROM BEGINNING;
PRINT 'LABELLED' FROM BEGINNING;
PRINT 'LOOKED_UP' FROM BEGINNING;
";

fn run(dir: &std::path::Path, name: &str, text: &str) -> common::RunOutput {
    let script = dir.join(name);
    std::fs::write(&script, text).unwrap();
    kql(&["--format", "json", "run", script.to_str().unwrap()])
}

/// The events come through a named pipe: the first third, then (once the queries have
/// read it and are waiting) the rest. A query that stopped at the end of what was loaded
/// would join the later events with labels that come after them.
#[test]
fn queries_that_run_while_files_load_write_what_they_write_after_the_loads() {
    let dir = tempfile::tempdir().unwrap();
    let events = inputs(dir.path());
    std::fs::write(dir.path().join("events.jsonl"), &events).unwrap();
    // SHOW TOPICS waits for the loads: the queries start on whole topics.
    let after = run(
        dir.path(),
        "after.ksql",
        &format!("{DECLARATIONS}SHOW TOPICS;\n{QUERIES}{PRINTS}"),
    );
    let piped = dir.path().join("piped");
    std::fs::create_dir(&piped).unwrap();
    let fifo = piped.join("events.jsonl");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::copy(dir.path().join("labels.jsonl"), piped.join("labels.jsonl")).unwrap();
    let script = piped.join("alongside.ksql");
    std::fs::write(&script, format!("{DECLARATIONS}{QUERIES}{PRINTS}")).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(["--format", "json", "run", script.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        let cut = events.match_indices('\n').nth(19_999).unwrap().0 + 1;
        w.write_all(&events.as_bytes()[..cut]).unwrap();
        w.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        w.write_all(&events.as_bytes()[cut..]).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let alongside = common::RunOutput {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    };
    assert_eq!(alongside.code, 0, "{}", alongside.stderr);
    assert_eq!(after.code, 0, "{}", after.stderr);
    let records = |out: &common::RunOutput, topic: &str| -> Vec<String> {
        out.stdout
            .lines()
            .filter(|l| l.starts_with(&format!("{{\"topic\":\"{topic}\"")))
            .map(str::to_string)
            .collect()
    };
    for topic in ["ODD", "COUNTS", "LABELLED", "LOOKED_UP"] {
        let (a, b) = (records(&alongside, topic), records(&after, topic));
        assert!(!a.is_empty(), "{topic}: nothing written");
        // Every record, its partition and offset included.
        assert!(a == b, "{topic}: {} records against {}", a.len(), b.len());
    }
    assert_eq!(records(&alongside, "ODD").len(), 30_000);
    // Late records were dropped (the same ones): the times do go back past the grace.
    assert!(
        alongside.stderr.contains("late record(s)"),
        "{}",
        alongside.stderr
    );
    // The queries started before the events were loaded, and are said to.
    let said = |out: &common::RunOutput, what: &str| out.stderr.find(what).unwrap();
    let created = "Created query with ID CSAS_LABELLED";
    let loaded = "Created connector EVENTS_SRC (60000 records";
    assert!(said(&alongside, created) < said(&alongside, loaded));
    assert!(said(&after, loaded) < said(&after, created));
}

#[test]
fn a_load_that_fails_while_queries_run_stops_the_run_at_its_connector() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for n in 0..100_000u64 {
        lines.push_str(&format!("{{\"k\":\"k{}\",\"n\":{n}}}\n", n % 7));
    }
    // A line longer than the longest record, far into the file.
    lines.push_str(&format!(
        "{{\"k\":\"k\",\"pad\":\"{}\"}}\n",
        "x".repeat(9 << 20)
    ));
    std::fs::write(dir.path().join("events.jsonl"), lines).unwrap();
    let out = run(
        dir.path(),
        "q.ksql",
        "CREATE STREAM events (k VARCHAR KEY, n BIGINT)
           WITH (kafka_topic='events', partitions=2, value_format='JSON');
         CREATE SOURCE CONNECTOR events_src WITH ('connector.class'='FileStreamSource',
           'file'='events.jsonl', 'topic'='events', 'key'='k');
         CREATE STREAM big AS SELECT k, n FROM events WHERE n > 10;\n",
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("connector EVENTS_SRC:") && out.stderr.contains(":100001:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("while loading this file"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

/// Records stamped with the time they are loaded at (no 'timestamp.field', no timestamp
/// column) are stamped in the order of their connectors, as if each load ended before the
/// next began: every event finds the label loaded before it, even the table's last rows.
#[test]
fn loads_stamped_with_their_load_time_keep_the_order_of_their_connectors() {
    let dir = tempfile::tempdir().unwrap();
    let labels: String = (0..200_000)
        .map(|i| format!("{{\"k\":\"k{i}\",\"label\":\"L{i}\"}}\n"))
        .collect();
    std::fs::write(dir.path().join("labels.jsonl"), labels).unwrap();
    let events: String = (0..50_000)
        .map(|n| format!("{{\"k\":\"k{}\",\"n\":{n}}}\n", 199_999 - n % 1000))
        .collect();
    std::fs::write(dir.path().join("events.jsonl"), events).unwrap();
    let out = run(
        dir.path(),
        "q.ksql",
        "CREATE TABLE labels (k VARCHAR PRIMARY KEY, label VARCHAR)
           WITH (kafka_topic='labels', partitions=2, value_format='JSON');
         CREATE STREAM events (k VARCHAR KEY, n BIGINT)
           WITH (kafka_topic='events', partitions=2, value_format='JSON');
         CREATE SOURCE CONNECTOR labels_src WITH ('connector.class'='FileStreamSource',
           'file'='labels.jsonl', 'topic'='labels', 'key'='k');
         CREATE SOURCE CONNECTOR events_src WITH ('connector.class'='FileStreamSource',
           'file'='events.jsonl', 'topic'='events', 'key'='k');
         CREATE STREAM joined AS SELECT e.k, e.n, l.label FROM events e
           JOIN labels l ON e.k = l.k;
         PRINT 'JOINED' FROM BEGINNING;\n",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let joined = out
        .stdout
        .lines()
        .filter(|l| l.contains("\"JOINED\""))
        .count();
    assert_eq!(joined, 50_000);
}
