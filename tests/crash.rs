//! A real `kql produce` process is killed with SIGKILL while it writes to a `--data-dir`
//! log; reopening the directory must find every record whose offset the process printed
//! (it prints an offset only once the record is acknowledged with acks=all).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn records_acknowledged_before_a_sigkill_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args([
            "produce",
            "events",
            "-",
            "--data-dir",
            &data_dir,
            "--partitions",
            "3",
            "--print-offsets",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..200_000u64 {
            let line = format!(
                "{{\"key\":\"k-{}\",\"value\":{{\"n\":{i}}},\"timestamp\":{i}}}\n",
                i % 97
            );
            if stdin.write_all(line.as_bytes()).is_err() {
                break; // the process is gone
            }
        }
    });
    let mut acked: Vec<(u32, u64)> = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 2_000 {
        let line = lines.next().expect("kql produce printed offsets").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        acked.push((
            v["partition"].as_u64().unwrap() as u32,
            v["offset"].as_u64().unwrap(),
        ));
    }
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    drop(lines);
    let _ = writer.join();

    // Reopen the directory: every acknowledged offset is there.
    let out = common::kql(&["topics", "--data-dir", &data_dir]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut end = [0u64; 3];
    for line in out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("partition"))
    {
        // "  partition P: offsets S..E (high watermark H), ..."
        let p: usize = line.trim_start()["partition ".len()..]
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let hw: u64 = line
            .split("high watermark ")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        end[p] = hw;
    }
    for (p, offset) in &acked {
        assert!(
            *offset < end[*p as usize],
            "acknowledged offset {offset} of partition {p} was lost (high watermark {})",
            end[*p as usize]
        );
    }
    // And the log is readable through the language after the crash.
    let script = dir.path().join("count.ksql");
    std::fs::write(&script, "CREATE STREAM events (k VARCHAR KEY, n BIGINT) WITH (kafka_topic='events');\nSELECT k, n FROM events WHERE n = 0 EMIT CHANGES;\n").unwrap();
    let out = common::kql(&[
        "run",
        script.to_str().unwrap(),
        "--data-dir",
        &data_dir,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "{\"K\":\"k-0\",\"N\":0}\n");
}

/// A persistent query is killed (SIGKILL) at a different moment in each round; the next
/// run on the same data directory restores it from the command topic and its committed
/// offsets. Whatever the moment, the sink ends with every expected row exactly once.
#[test]
fn a_persistent_query_killed_at_any_moment_resumes_without_gap_or_duplicate() {
    const EVENTS: u64 = 60_000;
    for (round, delay_ms) in [30u64, 120, 250].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let lines: String = (0..EVENTS)
            .map(|i| format!("{{\"id\":{i},\"n\":{}}}\n", i % 7))
            .collect();
        std::fs::write(dir.path().join("events.jsonl"), lines).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        };
        let setup = write(
            "setup.ksql",
            "CREATE STREAM events (id BIGINT, n INT) WITH (kafka_topic='events', partitions=2);\n\
             CREATE SOURCE CONNECTOR load WITH ('connector.class'='FileStreamSource', 'file'='events.jsonl', 'topic'='events');\n",
        );
        let csas = write(
            "csas.ksql",
            "CREATE STREAM odd AS SELECT id, n FROM events WHERE n % 2 = 1;\n",
        );
        let check = write("check.ksql", "CREATE STREAM IF NOT EXISTS odd AS SELECT id, n FROM events WHERE n % 2 = 1;\nSELECT id FROM odd EMIT CHANGES;\n");
        let data = dir.path().join("log");
        let data = data.to_str().unwrap();
        assert_eq!(common::kql(&["run", &setup, "--data-dir", data]).code, 0);

        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["run", &csas, "--data-dir", data])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();

        let out = common::kql(&["run", &check, "--data-dir", data, "--format", "json"]);
        assert_eq!(out.code, 0, "round {round}: {}", out.stderr);
        let mut ids: Vec<u64> = out
            .stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["ID"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        let written = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            written,
            "round {round} (kill after {delay_ms} ms): duplicates in the sink"
        );
        let expected: Vec<u64> = (0..EVENTS).filter(|i| (i % 7) % 2 == 1).collect();
        assert_eq!(
            ids.len(),
            expected.len(),
            "round {round} (kill after {delay_ms} ms): rows missing"
        );
        assert_eq!(ids, expected);
    }
}

/// The same for an aggregation, whose state comes back from its changelog: whatever the
/// moment of the kill, the table's final counts are exact (no record counted twice or
/// missed) once the query has caught up after the restart.
#[test]
fn a_killed_aggregation_restores_its_state_and_counts_every_record_once() {
    const EVENTS: u64 = 60_000;
    for (round, delay_ms) in [40u64, 150, 300].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let lines: String = (0..EVENTS)
            .map(|i| format!("{{\"k\":\"k{}\",\"n\":{i}}}\n", i % 7))
            .collect();
        std::fs::write(dir.path().join("events.jsonl"), lines).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        };
        let setup = write(
            "setup.ksql",
            "CREATE STREAM events (k VARCHAR KEY, n BIGINT) WITH (kafka_topic='events', partitions=2);\n\
             CREATE SOURCE CONNECTOR load WITH ('connector.class'='FileStreamSource', 'file'='events.jsonl', 'topic'='events', 'key'='k');\n",
        );
        let ctas = write("ctas.ksql", "CREATE TABLE counts AS SELECT k, COUNT(*) AS c, SUM(n) AS total FROM events GROUP BY k EMIT CHANGES;\n");
        let check = write("check.ksql", "SELECT k, c, total FROM counts;\n");
        let data = dir.path().join("log");
        let data = data.to_str().unwrap();
        assert_eq!(common::kql(&["run", &setup, "--data-dir", data]).code, 0);
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["run", &ctas, "--data-dir", data])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        // The first restart may find the query not yet declared (killed before its
        // statement was recorded): declare it then.
        let out = common::kql(&["run", &check, "--data-dir", data, "--format", "json"]);
        let out = if out.code != 0 {
            assert!(
                out.stderr.contains("COUNTS"),
                "round {round}: {}",
                out.stderr
            );
            assert_eq!(common::kql(&["run", &ctas, "--data-dir", data]).code, 0);
            common::kql(&["run", &check, "--data-dir", data, "--format", "json"])
        } else {
            out
        };
        assert_eq!(out.code, 0, "round {round}: {}", out.stderr);
        let mut got: Vec<(String, u64, u64)> = out
            .stdout
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["K"].as_str().unwrap().to_string(),
                    v["C"].as_u64().unwrap(),
                    v["TOTAL"].as_u64().unwrap(),
                )
            })
            .collect();
        got.sort();
        let expected: Vec<(String, u64, u64)> = (0..7u64)
            .map(|k| {
                let ns: Vec<u64> = (0..EVENTS).filter(|i| i % 7 == k).collect();
                (format!("k{k}"), ns.len() as u64, ns.iter().sum())
            })
            .collect();
        assert_eq!(got, expected, "round {round} (kill after {delay_ms} ms)");
    }
}

/// A persistent stream-table join killed at several moments: after the restart the sink
/// holds every joined row once (the join reads its table from the beginning again, and
/// rows already written after the last commit are not written twice).
#[test]
fn a_killed_join_resumes_without_gap_or_duplicate() {
    const EVENTS: u64 = 40_000;
    for (round, delay_ms) in [60u64, 200].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let events: String = (0..EVENTS)
            .map(|i| format!("{{\"id\":{i},\"k\":\"k{}\"}}\n", i % 5))
            .collect();
        let table: String = (0..4)
            .map(|k| format!("{{\"k\":\"k{k}\",\"label\":\"L{k}\"}}\n"))
            .collect();
        std::fs::write(dir.path().join("events.jsonl"), events).unwrap();
        std::fs::write(dir.path().join("labels.jsonl"), table).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        };
        let setup = write(
            "setup.ksql",
            "CREATE STREAM events (k VARCHAR KEY, id BIGINT) WITH (kafka_topic='events', partitions=2);\n\
             CREATE TABLE labels (k VARCHAR PRIMARY KEY, label VARCHAR) WITH (kafka_topic='labels', partitions=2);\n\
             CREATE SOURCE CONNECTOR l WITH ('connector.class'='FileStreamSource', 'file'='labels.jsonl', 'topic'='labels', 'key'='k');\n\
             CREATE SOURCE CONNECTOR e WITH ('connector.class'='FileStreamSource', 'file'='events.jsonl', 'topic'='events', 'key'='k');\n",
        );
        let join = "CREATE STREAM {IF} labelled AS SELECT e.k, e.id, l.label FROM events e JOIN labels l ON e.k = l.k;\n";
        let csas = write("csas.ksql", &join.replace("{IF}", ""));
        let check = write(
            "check.ksql",
            &(join.replace("{IF}", "IF NOT EXISTS") + "SELECT id FROM labelled EMIT CHANGES;\n"),
        );
        let data = dir.path().join("log");
        let data = data.to_str().unwrap();
        assert_eq!(common::kql(&["run", &setup, "--data-dir", data]).code, 0);
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["run", &csas, "--data-dir", data])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        let out = common::kql(&["run", &check, "--data-dir", data, "--format", "json"]);
        assert_eq!(out.code, 0, "round {round}: {}", out.stderr);
        let mut ids: Vec<u64> = out
            .stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["ID"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        let written = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), written, "round {round}: duplicates in the sink");
        let expected: Vec<u64> = (0..EVENTS).filter(|i| i % 5 != 4).collect();
        assert_eq!(ids, expected, "round {round}: rows missing");
    }
}

/// An aggregation that repartitions (GROUP BY a value column) writes an internal topic
/// before it aggregates: records written there after the last commit are not written
/// again after a kill, so no record is counted twice.
#[test]
fn a_killed_repartitioning_aggregation_counts_every_record_once() {
    const EVENTS: u64 = 40_000;
    for (round, delay_ms) in [80u64, 250].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let lines: String = (0..EVENTS)
            .map(|i| format!("{{\"k\":\"k{}\",\"g\":\"g{}\"}}\n", i % 11, i % 3))
            .collect();
        std::fs::write(dir.path().join("events.jsonl"), lines).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        };
        let setup = write(
            "setup.ksql",
            "CREATE STREAM events (k VARCHAR KEY, g VARCHAR) WITH (kafka_topic='events', partitions=2);\n\
             CREATE SOURCE CONNECTOR load WITH ('connector.class'='FileStreamSource', 'file'='events.jsonl', 'topic'='events', 'key'='k');\n",
        );
        let ctas = "CREATE TABLE {IF} per_g AS SELECT g, COUNT(*) AS c FROM events GROUP BY g EMIT CHANGES;\n";
        let first = write("ctas.ksql", &ctas.replace("{IF}", ""));
        let check = write(
            "check.ksql",
            &(ctas.replace("{IF}", "IF NOT EXISTS") + "SELECT g, c FROM per_g;\n"),
        );
        let data = dir.path().join("log");
        let data = data.to_str().unwrap();
        assert_eq!(common::kql(&["run", &setup, "--data-dir", data]).code, 0);
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["run", &first, "--data-dir", data])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        let out = common::kql(&["run", &check, "--data-dir", data, "--format", "json"]);
        assert_eq!(out.code, 0, "round {round}: {}", out.stderr);
        let mut got: Vec<(String, u64)> = out
            .stdout
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["G"].as_str().unwrap().to_string(),
                    v["C"].as_u64().unwrap(),
                )
            })
            .collect();
        got.sort();
        let expected: Vec<(String, u64)> = (0..3u64)
            .map(|g| {
                (
                    format!("g{g}"),
                    (0..EVENTS).filter(|i| i % 3 == g).count() as u64,
                )
            })
            .collect();
        assert_eq!(got, expected, "round {round} (kill after {delay_ms} ms)");
    }
}
