#![cfg(unix)]
//! `kql consume --group`: two members of one group, separate processes on one data
//! directory, share a topic's partitions; each prints its assignment at every rebalance
//! and the records of its partitions; their commits show in DESCRIBE CONSUMER GROUP.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// A running `kql consume`, its stdout and stderr lines arriving on channels.
struct Member {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
}

impl Member {
    fn start(topic: &str, group: &str, data_dir: &str) -> Member {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["consume", topic, "--group", group, "--data-dir", data_dir])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = |r: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let out = lines(Box::new(child.stdout.take().unwrap()));
        let err = lines(Box::new(child.stderr.take().unwrap()));
        Member { child, out, err }
    }

    /// Waits for a stderr line containing `text`, failing with what came instead.
    fn expect_status(&self, text: &str) {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.err.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no status line with {text:?} within {WAIT:?}: {seen:?}"),
            }
        }
    }

    /// The next `n` records printed, as (partition, offset, value).
    fn expect_records(&self, n: usize) -> Vec<(u64, u64, serde_json::Value)> {
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .out
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("expected {n} record(s), got {got:?}"));
            let j: serde_json::Value = serde_json::from_str(&line).unwrap();
            got.push((
                j["partition"].as_u64().unwrap(),
                j["offset"].as_u64().unwrap(),
                j["value"].clone(),
            ));
        }
        got
    }

    /// Records printed up to the one whose value has `n`, as (partition, n).
    fn records_until(&self, n: i64) -> Vec<(u64, i64)> {
        let mut got = Vec::new();
        loop {
            let (partition, _, value) = self.expect_records(1).remove(0);
            let m = value["n"].as_i64().unwrap();
            got.push((partition, m));
            if m == n {
                return got;
            }
        }
    }

    /// Ctrl-C; the exit code and the rest of stderr.
    fn interrupt(mut self) -> (i32, Vec<String>) {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        // The member has exited: its stderr ends, and with it this iteration.
        let status = self.err.iter().collect();
        (code, status)
    }
}

/// A failed assertion does not leave the member running.
impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn produce(data_dir: &str, lines: &str) {
    let out = common::produce(data_dir, "clicks", lines, &["--partitions", "2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn two_members_share_the_partitions_and_commit_their_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    produce(
        d,
        "{\"value\":{\"n\":1},\"partition\":0}\n{\"value\":{\"n\":2},\"partition\":1}\n\
         {\"value\":{\"n\":3},\"partition\":0}\n{\"value\":{\"n\":4},\"partition\":1}\n",
    );

    // Alone, the first member has both partitions and reads all four records.
    let first = Member::start("clicks", "dashboard", d);
    first.expect_status("Generation 1: partitions 0, 1 of 'clicks' (group 'dashboard'");
    let mut read = first.expect_records(4);
    read.sort_by_key(|r| (r.0, r.1));
    let values: Vec<i64> = read.iter().map(|r| r.2["n"].as_i64().unwrap()).collect();
    assert_eq!(values, vec![1, 3, 2, 4]);

    // A second member joins through the first one's socket: the group rebalances.
    let second = Member::start("clicks", "dashboard", d);
    second.expect_status("Generation 2: partition 1 of 'clicks'");
    first.expect_status("Generation 2: partition 0 of 'clicks'");

    // Each new record goes to the member that owns its partition. (A member that joins
    // while the other is between a poll and its commit re-reads from the last commit:
    // records may come twice, never be lost, as with Kafka.)
    produce(
        d,
        "{\"value\":{\"n\":5},\"partition\":0}\n{\"value\":{\"n\":6},\"partition\":1}\n",
    );
    let firsts = first.records_until(5);
    assert!(firsts.iter().all(|&(p, _)| p == 0), "{firsts:?}");
    let seconds = second.records_until(6);
    assert!(seconds.iter().all(|&(p, _)| p == 1), "{seconds:?}");

    // The second leaves: the first has both partitions again.
    let (code, status) = second.interrupt();
    assert_eq!(code, 0, "{status:?}");
    assert!(
        status
            .iter()
            .any(|l| l.starts_with("Consumed ")
                && l.ends_with("from 'clicks'; left group 'dashboard'")),
        "{status:?}"
    );
    first.expect_status("Generation 3: partitions 0, 1 of 'clicks'");
    let (code, status) = first.interrupt();
    assert_eq!(code, 0, "{status:?}");

    // What both committed: every record of both partitions.
    let script = dir.path().join("describe.ksql");
    std::fs::write(&script, "DESCRIBE CONSUMER GROUP dashboard;\n").unwrap();
    let out = common::run_json(&script, d);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let committed: Vec<(u64, u64)> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|j| {
            (
                j["Partition"].as_u64().unwrap(),
                j["Committed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(committed, vec![(0, 3), (1, 3)], "{}", out.stdout);
}

#[test]
fn consume_without_a_data_dir_says_what_to_give() {
    let out = common::kql(&["consume", "clicks", "--group", "g"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("kql consume needs --data-dir"),
        "{}",
        out.stderr
    );
}
