#![cfg(unix)]
//! `kql consume --group`: two members of one group, separate processes, share a topic's
//! partitions; each prints its assignment at every rebalance and the records of its
//! partitions (with their headers); their commits show in DESCRIBE CONSUMER GROUP, or in
//! the group's committed offsets on the cluster. On one data directory, on a real Apache
//! Kafka cluster (scripts/kafka-up), and on `kql serve`.

mod common;
mod kafka;
mod serve_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use kql::kafka::{KafkaLog, KafkaSettings};

const WAIT: Duration = Duration::from_secs(20);

/// A running `kql consume`, its stdout and stderr lines arriving on channels.
struct Member {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
}

impl Member {
    fn start(topic: &str, group: &str, data_dir: &str) -> Member {
        Member::spawn(&[topic, "--group", group, "--data-dir", data_dir])
    }

    /// `kql consume ARGS`.
    fn spawn(args: &[&str]) -> Member {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .arg("consume")
            .args(args)
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

    /// Waits for a stderr line containing `text`, failing with what came instead; the line.
    fn expect_status(&self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.err.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no status line with {text:?} within {WAIT:?}: {seen:?}"),
            }
        }
    }

    /// The next `n` records printed, as JSON.
    fn expect_lines(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .out
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("expected {n} record(s), got {got:?}"));
            got.push(serde_json::from_str(&line).unwrap());
        }
        got
    }

    /// The next `n` records printed, as (partition, offset, value).
    fn expect_records(&self, n: usize) -> Vec<(u64, u64, serde_json::Value)> {
        self.expect_lines(n)
            .into_iter()
            .map(|j| {
                (
                    j["partition"].as_u64().unwrap(),
                    j["offset"].as_u64().unwrap(),
                    j["value"].clone(),
                )
            })
            .collect()
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
        out.stderr
            .contains("kql consume needs --data-dir or --bootstrap-servers"),
        "{}",
        out.stderr
    );
    let out = common::kql(&["consume", "clicks", "--data-dir", "."]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("kql consume on a data directory needs --group"),
        "{}",
        out.stderr
    );
}

#[test]
fn two_members_on_kafka_share_the_partitions_and_print_headers() {
    two_members_over_the_wire(&kafka::one_node());
}

#[test]
fn two_members_on_kql_serve_share_the_partitions_and_print_headers() {
    let served = serve_support::Served::start(1, &[]);
    two_members_over_the_wire(served.bootstrap());
}

/// Appends `{"n": n}` to `partition` of `topic`, with a text header and a binary one.
fn produce_over_the_wire(log: &KafkaLog, topic: &str, n: u32, partition: u32) {
    use kql::exec::log::{Acks, Header, Produce, ProducerRecord};
    let mut record = ProducerRecord::new(None, Some(format!("{{\"n\":{n}}}").into()));
    record.partition = Some(partition);
    record.headers = vec![
        Header {
            name: "origin".into(),
            value: Some(format!("test-{n}").into()),
        },
        Header {
            name: "raw".into(),
            value: Some(vec![0xff, n as u8].into()),
        },
    ];
    log.produce(topic, record, Acks::All).unwrap();
}

/// The generation a `Generation N: ...` line names.
fn generation(line: &str) -> u64 {
    let rest = line
        .strip_prefix("Generation ")
        .unwrap_or_else(|| panic!("{line}"));
    rest.split(':').next().unwrap().parse().unwrap()
}

/// The partition a `Generation N: partition P of ...` line names.
fn single_partition(line: &str) -> u64 {
    let rest = line
        .split(": partition ")
        .nth(1)
        .unwrap_or_else(|| panic!("{line}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// Two `kql consume --bootstrap-servers` members of one group, on a Kafka cluster or kql
/// serve at `bootstrap`: the partitions are shared, records come with their headers, and
/// what the members printed is what the group committed.
fn two_members_over_the_wire(bootstrap: &str) {
    use kql::exec::log::{GroupOffsets, Topics};
    let log = KafkaLog::connect(KafkaSettings::new(bootstrap)).unwrap();
    let topic = kafka::unique("clicks");
    let group = kafka::unique("dashboard");
    let config = kql_runtime::TopicConfig {
        partitions: 2,
        ..Default::default()
    };
    log.create_topic(&topic, config).unwrap();
    for (n, p) in [(1, 0), (2, 1), (3, 0), (4, 1)] {
        produce_over_the_wire(&log, &topic, n, p);
    }
    let args = [
        topic.as_str(),
        "--group",
        &group,
        "--bootstrap-servers",
        bootstrap,
    ];

    // Alone, the first member has both partitions and reads all four records.
    let first = Member::spawn(&args);
    let alone = generation(&first.expect_status(&format!(
        ": partitions 0, 1 of '{topic}' (group '{group}', member kql-consume-"
    )));
    assert!(alone >= 1, "a group's first generation is 1");
    let mut lines = first.expect_lines(4);
    lines.sort_by_key(|j| (j["partition"].as_u64(), j["offset"].as_u64()));
    let values: Vec<i64> = lines
        .iter()
        .map(|j| j["value"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(values, vec![1, 3, 2, 4]);
    assert_eq!(
        lines[0]["headers"],
        serde_json::json!([{"key": "origin", "value": "test-1"}, {"key": "raw", "value": "0xff01"}])
    );

    // A second member joins: each gets one partition, in the group's next generation,
    // which both print (the coordinator's number, not a count of what each member saw).
    let second = Member::spawn(&args);
    let their_line = second.expect_status(": partition ");
    let my_line = first.expect_status(": partition ");
    let (theirs, mine) = (single_partition(&their_line), single_partition(&my_line));
    assert_eq!(theirs + mine, 1, "one partition each");
    let shared = generation(&their_line);
    assert!(shared > alone, "{their_line} after generation {alone}");
    assert_eq!(generation(&my_line), shared, "{my_line} / {their_line}");

    // Each new record goes to the member that owns its partition.
    produce_over_the_wire(&log, &topic, 5, mine as u32);
    produce_over_the_wire(&log, &topic, 6, theirs as u32);
    let firsts = first.records_until(5);
    assert!(firsts.iter().all(|&(p, _)| p == mine), "{firsts:?}");
    let seconds = second.records_until(6);
    assert!(seconds.iter().all(|&(p, _)| p == theirs), "{seconds:?}");

    // The second leaves: the first has both partitions again.
    let (code, status) = second.interrupt();
    assert_eq!(code, 0, "{status:?}");
    let left = format!("from '{topic}'; left group '{group}'");
    assert!(
        status
            .iter()
            .any(|l| l.starts_with("Consumed ") && l.ends_with(&left)),
        "{status:?}"
    );
    let again = generation(&first.expect_status(": partitions 0, 1 of"));
    assert!(again > shared, "generation {again} after {shared}");
    let (code, status) = first.interrupt();
    assert_eq!(code, 0, "{status:?}");

    // What both committed: every record of both partitions.
    for p in 0..2 {
        assert_eq!(log.committed_offset(&group, &topic, p).unwrap(), Some(3));
    }
}

#[test]
fn without_a_group_every_partition_is_read_and_nothing_committed() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let topic = kafka::unique("clicks");
    let config = kql_runtime::TopicConfig {
        partitions: 2,
        ..Default::default()
    };
    kql::exec::log::Topics::create_topic(&log, &topic, config).unwrap();
    produce_over_the_wire(&log, &topic, 1, 1);
    let reader = Member::spawn(&[&topic, "--bootstrap-servers", &bootstrap]);
    reader.expect_status(&format!(
        "Reading partitions 0, 1 of '{topic}' (no group: nothing is committed)"
    ));
    assert_eq!(reader.records_until(1), vec![(1, 1)]);
    let (code, status) = reader.interrupt();
    assert_eq!(code, 0, "{status:?}");
    assert!(
        status
            .iter()
            .any(|l| l == &format!("Consumed 1 record from '{topic}'")),
        "{status:?}"
    );
}
