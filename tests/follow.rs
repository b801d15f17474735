//! `kql run --follow` as a user runs it: in the background on a data directory, fed by
//! `kql produce` from other processes, stopped with Ctrl-C (SIGINT) or killed (SIGKILL).
//! Rows must appear while it runs, Ctrl-C must stop it with exit 0 and its work
//! committed, and a restart must go on without duplicating a row or losing an
//! acknowledged record.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// How long a row may take to show up on a loaded machine (the design target is 100 ms).
const ROW_WAIT: Duration = Duration::from_secs(20);

const PIPELINE: &str = "\
CREATE STREAM IF NOT EXISTS readings (sensor VARCHAR KEY, temp DOUBLE)
  WITH (kafka_topic='readings', value_format='JSON', partitions=2);
CREATE STREAM IF NOT EXISTS hot AS SELECT sensor, temp FROM readings WHERE temp > 30 EMIT CHANGES;
SELECT sensor, temp FROM hot EMIT CHANGES;
";

/// The pipeline without its push query.
fn declarations() -> String {
    PIPELINE.replace("SELECT sensor, temp FROM hot EMIT CHANGES;\n", "")
}

struct Following {
    child: Child,
    rows: Receiver<String>,
}

impl Following {
    /// Starts `kql run FILE --follow --data-dir DIR --format json`; stdout lines arrive on
    /// `rows`.
    fn start(file: &str, data_dir: &str) -> Following {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args([
                "run",
                file,
                "--follow",
                "--data-dir",
                data_dir,
                "--format",
                "json",
            ])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rows) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // The run serves the directory once it owns it: then other processes may write.
        let socket = std::path::Path::new(data_dir).join("kql.sock");
        let deadline = Instant::now() + ROW_WAIT;
        while !socket.exists() {
            assert!(Instant::now() < deadline, "kql run did not open {data_dir}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Following { child, rows }
    }

    /// The next `n` rows, or a failure naming what came.
    fn expect_rows(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + ROW_WAIT;
        let mut got = Vec::new();
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rows.recv_timeout(left) {
                Ok(line) => got.push(serde_json::from_str(&line).unwrap()),
                Err(_) => panic!("expected {n} row(s) within {ROW_WAIT:?}, got {got:?}"),
            }
        }
        got
    }

    /// The exit code and stderr of a run that ends by itself (LIMIT).
    fn child_exit(mut self) -> (i32, String) {
        self.child.wait_with_output_after_stdout_taken()
    }

    /// Ctrl-C, then the exit code and stderr.
    fn interrupt(mut self) -> (i32, String) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait_with_output_after_stdout_taken()
    }
}

trait WaitTaken {
    fn wait_with_output_after_stdout_taken(&mut self) -> (i32, String);
}

impl WaitTaken for Child {
    fn wait_with_output_after_stdout_taken(&mut self) -> (i32, String) {
        let mut stderr = String::new();
        if let Some(mut e) = self.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.wait().unwrap();
        (status.code().unwrap_or(-1), stderr)
    }
}

/// `kql produce TOPIC - --data-dir DIR --print-offsets` with these JSON lines; the
/// offsets it printed.
fn produce(data_dir: &str, topic: &str, lines: &[&str]) -> Vec<(u64, u64)> {
    let out = common::produce(
        data_dir,
        topic,
        &(lines.join("\n") + "\n"),
        &["--print-offsets"],
    );
    assert_eq!(out.code, 0, "kql produce failed: {}", out.stderr);
    offsets(&out.stdout)
}

/// The rows of `kql run` over `text` (bounded, JSON lines).
fn rows_of(dir: &std::path::Path, data_dir: &str, text: &str) -> Vec<serde_json::Value> {
    let check = dir.join("check.ksql");
    std::fs::write(&check, text).unwrap();
    let out = common::run_json(&check, data_dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn offsets(stdout: &str) -> Vec<(u64, u64)> {
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["partition"].as_u64().unwrap(),
                v["offset"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn sensors(rows: &[serde_json::Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["SENSOR"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_followed_run_shows_records_from_another_process_and_resumes_after_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("log").to_str().unwrap().to_string();
    let file = dir.path().join("hot.ksql");
    std::fs::write(&file, PIPELINE).unwrap();
    let file = file.to_str().unwrap();

    let run = Following::start(file, &data_dir);
    produce(
        &data_dir,
        "readings",
        &[
            r#"{"key":"s-1","value":{"temp":35.5}}"#,
            r#"{"key":"s-2","value":{"temp":12.0}}"#,
        ],
    );
    assert_eq!(sensors(&run.expect_rows(1)), ["s-1"]);
    produce(
        &data_dir,
        "readings",
        &[r#"{"key":"s-3","value":{"temp":31.0}}"#],
    );
    assert_eq!(sensors(&run.expect_rows(1)), ["s-3"]);
    let (code, stderr) = run.interrupt();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Stopped"), "{stderr}");

    // A restart replays the catalog, resumes the persistent query where it committed, and
    // its push query shows the sink from the beginning: each row once.
    let run = Following::start(file, &data_dir);
    assert_eq!(sensors(&run.expect_rows(2)), ["s-1", "s-3"]);
    produce(
        &data_dir,
        "readings",
        &[r#"{"key":"s-4","value":{"temp":40.0}}"#],
    );
    assert_eq!(sensors(&run.expect_rows(1)), ["s-4"]);
    let (code, stderr) = run.interrupt();
    assert_eq!(code, 0, "{stderr}");

    let rows = rows_of(
        dir.path(),
        &data_dir,
        "SELECT sensor FROM hot EMIT CHANGES;\n",
    );
    assert_eq!(sensors(&rows), ["s-1", "s-3", "s-4"]);
}

#[test]
fn a_push_query_with_limit_ends_a_followed_run_without_persistent_queries() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("log").to_str().unwrap().to_string();
    let file = dir.path().join("limit.ksql");
    std::fs::write(
        &file,
        "CREATE STREAM IF NOT EXISTS clicks (user VARCHAR KEY, page VARCHAR)
           WITH (kafka_topic='clicks', value_format='JSON');
         SELECT user, page FROM clicks EMIT CHANGES LIMIT 2;\n",
    )
    .unwrap();
    let mut run = Following::start(file.to_str().unwrap(), &data_dir);
    produce(
        &data_dir,
        "clicks",
        &[r#"{"key":"u1","value":{"page":"a"}}"#],
    );
    produce(
        &data_dir,
        "clicks",
        &[r#"{"key":"u2","value":{"page":"b"}}"#],
    );
    let rows = run.expect_rows(2);
    assert_eq!(rows[1]["PAGE"], "b");
    let (code, stderr) = run.child.wait_with_output_after_stdout_taken();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Limit Reached (2 rows)"), "{stderr}");
}

/// The owner of the data directory (a following run) is killed with SIGKILL while
/// another process appends through it: every record the producer saw acknowledged is in
/// the log afterwards, the next process takes the directory over, and the persistent
/// query's sink holds each matching record exactly once.
#[test]
fn records_acknowledged_through_a_following_run_survive_its_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("log").to_str().unwrap().to_string();
    let file = dir.path().join("hot.ksql");
    std::fs::write(&file, declarations()).unwrap();
    let file = file.to_str().unwrap();
    let mut run = Following::start(file, &data_dir);
    // Wait until the run owns the directory and serves it: a first record gets through.
    produce(
        &data_dir,
        "readings",
        &[r#"{"key":"s-0","value":{"n":0,"temp":50}}"#],
    );

    let mut producer = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args([
            "produce",
            "readings",
            "-",
            "--data-dir",
            &data_dir,
            "--print-offsets",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 1..200_000u64 {
            let temp = if i % 2 == 0 { 40 } else { 10 };
            let line = format!("{{\"key\":\"s-{i}\",\"value\":{{\"n\":{i},\"temp\":{temp}}}}}\n");
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    let mut acked = 1usize;
    let mut lines = BufReader::new(producer.stdout.take().unwrap()).lines();
    while acked < 3_000 {
        lines.next().expect("kql produce printed offsets").unwrap();
        acked += 1;
    }
    run.child.kill().unwrap(); // SIGKILL
    run.child.wait().unwrap();
    // Offsets acknowledged before the owner died (the producer fails once it is gone).
    for l in lines.map_while(Result::ok) {
        let _: serde_json::Value = serde_json::from_str(&l).unwrap();
        acked += 1;
    }
    let _ = producer.wait();
    let _ = writer.join();

    // The next process recovers the directory: every acknowledged record is there.
    let out = common::kql(&["topics", "--data-dir", &data_dir]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let readings: u64 = out
        .stdout
        .split("readings:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take(2)
        .map(|l| {
            l.split("high watermark ")
                .nth(1)
                .unwrap()
                .split(')')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert!(
        readings >= acked as u64,
        "{readings} records in the log, {acked} acknowledged"
    );

    // The query resumes: each hot reading in its sink exactly once.
    let text = format!("{}SELECT sensor FROM hot EMIT CHANGES;\n", declarations());
    let mut got: Vec<u64> = rows_of(dir.path(), &data_dir, &text)
        .iter()
        .map(|v| v["SENSOR"].as_str().unwrap()[2..].parse().unwrap())
        .collect();
    let rows = got.len();
    got.sort_unstable();
    got.dedup();
    assert_eq!(got.len(), rows, "a row was written twice");
    let expected: Vec<u64> = (0..readings).filter(|i| i % 2 == 0).collect();
    assert_eq!(got, expected);
}

/// While a followed run holds the data directory, a second shell and a second run work
/// through it: the shell inserts and controls brokers, the run's push query sees the
/// holder's persistent query's output live, and neither runs the holder's query again.
#[test]
fn a_second_shell_and_run_work_through_the_process_that_holds_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("log").to_str().unwrap().to_string();
    let file = dir.path().join("hot.ksql");
    std::fs::write(&file, declarations()).unwrap();
    let holder = Following::start(file.to_str().unwrap(), &data_dir);
    // The holder serves the directory before its file has run: wait for its sink.
    let deadline = Instant::now() + ROW_WAIT;
    loop {
        let shown = common::kql_with_input(&["--data-dir", &data_dir], "SHOW STREAMS;\n");
        if shown.stdout.contains("HOT") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the holder never declared HOT: {}{}",
            shown.stdout,
            shown.stderr
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let shell = common::kql_with_input(
        &["--data-dir", &data_dir],
        "INSERT INTO readings (sensor, temp) VALUES ('s-1', 35.5);\n\
         INSERT INTO readings (sensor, temp) VALUES ('s-2', 12.0);\n\
         SHOW QUERIES;\n",
    );
    assert_eq!(shell.code, 0, "{}{}", shell.stdout, shell.stderr);
    let said = format!("{}{}", shell.stdout, shell.stderr);
    assert!(
        said.contains("persistent queries run in the process that holds it"),
        "{said}"
    );
    assert!(
        !said.contains("CSAS_HOT"),
        "the shell runs no query: {said}"
    );
    assert!(
        said.contains("The queries of the process that holds the data directory run there"),
        "{said}"
    );

    let watch = dir.path().join("watch.ksql");
    std::fs::write(
        &watch,
        "SELECT sensor, temp FROM hot EMIT CHANGES LIMIT 1;\n",
    )
    .unwrap();
    let second = Following::start(watch.to_str().unwrap(), &data_dir);
    assert_eq!(sensors(&second.expect_rows(1)), ["s-1"]);
    let (code, stderr) = second.child_exit();
    assert_eq!(code, 0, "{stderr}");

    let brokers = common::kql_with_input(
        &["--data-dir", &data_dir],
        "STOP BROKER 2;\nSHOW BROKERS;\nSTOP BROKER 2;\nSTART BROKER 2;\n",
    );
    assert_eq!(brokers.code, 0, "{}{}", brokers.stdout, brokers.stderr);
    let said = format!("{}{}", brokers.stdout, brokers.stderr);
    assert!(said.contains("Broker 2 stopped"), "{said}");
    assert!(said.contains("Broker 2 is already stopped"), "{said}");
    assert!(said.contains("Broker 2 started"), "{said}");

    let (code, stderr) = holder.interrupt();
    assert_eq!(code, 0, "{stderr}");
    // The sink holds the row once: only the holder ran the query.
    let rows = rows_of(
        dir.path(),
        &data_dir,
        &(declarations() + "SELECT sensor FROM hot EMIT CHANGES;\n"),
    );
    assert_eq!(sensors(&rows), ["s-1"]);
}
