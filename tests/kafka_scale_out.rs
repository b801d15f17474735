//! Two `kql run --follow` processes of one application share two persistent queries (a
//! projection and a count per key) over a 6-partition topic through each query's consumer
//! group; one is killed (SIGKILL) while records flow, the other takes its partitions over
//! (with the counts' state, from the changelog), and the sinks end with a result for every
//! input record and the right count for every key.
//!
//! Under exactly-once (`processing.guarantee=exactly_once_v2`, Kafka transactions) no row
//! is written twice: neither a projected row nor an update of a count. Under at-least-once
//! the duplicates (rows the dead process wrote after its last commit, written again by its
//! successor) are counted and bounded, never a missing row.

mod kafka;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kql::exec::log::{Acks, Fetch, GroupOffsets, Produce, ProducerRecord, Topics};
use kql::kafka::{KafkaLog, KafkaSettings};
use kql_runtime::TopicConfig;

const PARTITIONS: u32 = 6;
/// The group notices a killed member after its session timeout (10 s in kql).
const TAKEOVER_WAIT: Duration = Duration::from_secs(90);

/// A `kql run --follow` process; its stderr lines arrive on `status`.
struct Member {
    child: Child,
    status: Receiver<String>,
    seen: Vec<String>,
}

impl Member {
    /// Starts the process and waits until it follows `queries` persistent queries.
    fn start(file: &str, bootstrap: &str, app: &str, queries: &str) -> Member {
        Member::start_with(file, bootstrap, app, queries, &[])
    }

    /// `start` with more options (`--config FILE`).
    fn start_with(file: &str, bootstrap: &str, app: &str, queries: &str, more: &[&str]) -> Member {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["run", file, "--follow", "--bootstrap-servers", bootstrap])
            .args(["--application-id", app, "--format", "json"])
            .args(more)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, status) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut m = Member {
            child,
            status,
            seen: Vec::new(),
        };
        m.wait_for(&format!("Following {queries} (Ctrl-C stops)"));
        m
    }

    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.seen.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.status.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no '{text}' from kql run; it said: {:?}", self.seen),
            }
        }
    }

    /// Ctrl-C; the exit code.
    fn interrupt(mut self) -> i32 {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        self.seen.extend(self.status.try_iter());
        assert_eq!(code, 0, "{:?}", self.seen);
        code
    }
}

const KEYS: u32 = 60;

/// Records `from..to` of the input: key `i % KEYS` (an INT key), value `{"V": i}`.
fn produce(log: &KafkaLog, topic: &str, from: u32, to: u32) {
    for i in from..to {
        let key = ((i % KEYS) as i32).to_be_bytes();
        let record = ProducerRecord::new(
            Some(Bytes::copy_from_slice(&key)),
            Some(Bytes::from(format!("{{\"V\": {i}}}"))),
        );
        log.produce(topic, record, Acks::All).unwrap();
    }
}

/// Every record of a topic's partitions, in offset order per partition, as (key, value).
fn records(log: &KafkaLog, topic: &str) -> Vec<(Vec<u8>, serde_json::Value)> {
    let mut out = Vec::new();
    for p in 0..log.partition_count(topic).unwrap_or(0) {
        let end = log.offsets(topic, p).unwrap().high_watermark;
        let mut at = 0;
        while at < end {
            let mut fetched = log.fetch(topic, p, at, end, 10_000).unwrap();
            while let Some(r) = fetched.next_record() {
                let r = r.unwrap();
                let value = serde_json::from_slice(r.value.unwrap()).unwrap();
                out.push((r.key.unwrap_or_default().to_vec(), value));
            }
            at = fetched.resume_at().unwrap_or(end);
        }
    }
    out
}

/// How many times each `W` is in the projection's sink.
fn sink_counts(log: &KafkaLog, topic: &str) -> BTreeMap<u32, usize> {
    let mut counts = BTreeMap::new();
    for (_, value) in records(log, topic) {
        *counts
            .entry(value["W"].as_u64().unwrap() as u32)
            .or_insert(0) += 1;
    }
    counts
}

/// The latest count of each key in the table's sink.
fn latest_counts(log: &KafkaLog, topic: &str) -> BTreeMap<Vec<u8>, u64> {
    records(log, topic)
        .into_iter()
        .map(|(key, value)| (key, value["N"].as_u64().unwrap()))
        .collect()
}

/// Every count each key's updates carried, in the order written (one per input record).
fn count_updates(log: &KafkaLog, topic: &str) -> BTreeMap<Vec<u8>, Vec<u64>> {
    let mut updates: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
    for (key, value) in records(log, topic) {
        updates
            .entry(key)
            .or_default()
            .push(value["N"].as_u64().unwrap());
    }
    updates
}

/// Waits until the sink has a row for each of `0..n` (as `W = 2 * V`).
fn wait_for_sink(log: &KafkaLog, topic: &str, n: u32, wait: Duration) -> BTreeMap<u32, usize> {
    let deadline = Instant::now() + wait;
    loop {
        let counts = sink_counts(log, topic);
        if (0..n).all(|i| counts.contains_key(&(2 * i))) || Instant::now() > deadline {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The group's members and how many partitions each holds.
fn members(log: &KafkaLog, group: &str) -> Vec<usize> {
    log.describe_group(group)
        .map(|g| g.members.iter().map(|m| m.assignment.len()).collect())
        .unwrap_or_default()
}

fn wait_for_members(log: &KafkaLog, group: &str, want: &[usize]) {
    let deadline = Instant::now() + TAKEOVER_WAIT;
    loop {
        let mut got = members(log, group);
        got.sort();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {group}: members hold {got:?} partitions, want {want:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn exactly_once_the_survivor_of_a_kill_writes_every_result_once() {
    let (duplicates, updates) = two_processes_and_a_kill("exactly_once_v2");
    assert_eq!(duplicates, 0, "rows written twice under exactly-once");
    // Each key's count went 1, 2, ..., 10, each update once, in order.
    for (key, counts) in &updates {
        assert_eq!(*counts, (1..=10).collect::<Vec<u64>>(), "key {key:?}");
    }
}

#[test]
fn at_least_once_the_survivor_of_a_kill_writes_again_what_was_not_committed() {
    let (duplicates, updates) = two_processes_and_a_kill("at_least_once");
    // Only what the killed process wrote after its last commit (1 s apart) comes twice.
    assert!(
        duplicates <= 400,
        "{duplicates} duplicate rows: more than the killed process could have written"
    );
    let repeated: usize = updates.values().map(|c| c.len() - 10).sum();
    eprintln!(
        "scale-out at least once: 600 inputs, {duplicates} duplicate row(s) and {repeated} repeated count update(s) after the kill"
    );
}

/// Runs the scenario under `guarantee`; the projection's duplicate rows and every count
/// update per key, once nothing is missing.
fn two_processes_and_a_kill(guarantee: &str) -> (usize, BTreeMap<Vec<u8>, Vec<u64>>) {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let input = kafka::unique("scale-in");
    let output = kafka::unique("scale-out");
    let counted = kafka::unique("scale-counts");
    let app = kafka::unique("scale");
    let config = TopicConfig {
        partitions: PARTITIONS,
        ..TopicConfig::default()
    };
    log.create_topic(&input, config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doubled.ksql");
    std::fs::write(
        &file,
        format!(
            "CREATE STREAM IF NOT EXISTS readings (ID INT KEY, V INT) \
             WITH (kafka_topic='{input}', value_format='JSON');\n\
             CREATE STREAM IF NOT EXISTS doubled WITH (kafka_topic='{output}') AS \
             SELECT ID, V * 2 AS W FROM readings EMIT CHANGES;\n\
             CREATE TABLE IF NOT EXISTS counts WITH (kafka_topic='{counted}') AS \
             SELECT ID, COUNT(*) AS N FROM readings GROUP BY ID EMIT CHANGES;\n"
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let config = dir.path().join("client.properties");
    std::fs::write(&config, format!("processing.guarantee={guarantee}\n")).unwrap();
    let more = ["--config", config.to_str().unwrap()];
    let group = format!("{app}-CSAS_DOUBLED_1");
    let count_group = format!("{app}-CTAS_COUNTS_2");

    let mut first = Member::start_with(file, &bootstrap, &app, "2 persistent queries", &more);
    first.wait_for(&format!("consumer group '{group}'"));
    let mut second = Member::start_with(file, &bootstrap, &app, "2 persistent queries", &more);
    assert!(
        second.seen.iter().any(|l| l.contains("Restored")),
        "the second process finds the query in the command topic: {:?}",
        second.seen
    );
    wait_for_members(&log, &group, &[3, 3]);
    wait_for_members(&log, &count_group, &[3, 3]);

    produce(&log, &input, 0, 300);
    let counts = wait_for_sink(&log, &output, 300, Duration::from_secs(60));
    assert_eq!(counts.len(), 300, "both halves computed: {counts:?}");

    // One of two dies while records flow; its partitions go to the other.
    produce(&log, &input, 300, 400);
    second.child.kill().unwrap(); // SIGKILL: no goodbye to the group
    second.child.wait().unwrap();
    produce(&log, &input, 400, 600);
    wait_for_members(&log, &group, &[6]);
    wait_for_members(&log, &count_group, &[6]);
    wait_for_sink(&log, &output, 600, TAKEOVER_WAIT);
    // The counts catch up too: every key has its 10 records counted, none twice.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut latest = latest_counts(&log, &counted);
    while latest.values().any(|n| *n != 10) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        latest = latest_counts(&log, &counted);
    }
    first.interrupt();
    // Everything the survivor wrote, its last commit included.
    let counts = sink_counts(&log, &output);
    assert_eq!(latest.len(), KEYS as usize, "{latest:?}");
    assert!(latest.values().all(|n| *n == 10), "{latest:?}");

    let missing: Vec<u32> = (0..600)
        .filter(|i| !counts.contains_key(&(2 * i)))
        .collect();
    assert!(missing.is_empty(), "inputs without a result: {missing:?}");
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    assert!(log.committed_offset(&group, &input, 0).unwrap().is_some());
    (duplicates, count_updates(&log, &counted))
}

#[test]
fn a_join_runs_whole_in_each_process_and_says_so() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let (orders, users) = (kafka::unique("orders"), kafka::unique("users"));
    for topic in [&orders, &users] {
        let config = TopicConfig {
            partitions: 2,
            ..TopicConfig::default()
        };
        log.create_topic(topic, config).unwrap();
    }
    let app = kafka::unique("joins");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("enrich.ksql");
    std::fs::write(
        &file,
        format!(
            "CREATE STREAM IF NOT EXISTS orders (ID INT KEY, AMOUNT INT) \
             WITH (kafka_topic='{orders}', value_format='JSON');\n\
             CREATE TABLE IF NOT EXISTS users (ID INT PRIMARY KEY, NAME VARCHAR) \
             WITH (kafka_topic='{users}', value_format='JSON');\n\
             CREATE STREAM IF NOT EXISTS enriched AS SELECT o.ID, o.AMOUNT, u.NAME \
             FROM orders o JOIN users u ON o.ID = u.ID EMIT CHANGES;\n"
        ),
    )
    .unwrap();
    let mut member = Member::start(
        file.to_str().unwrap(),
        &bootstrap,
        &app,
        "1 persistent query",
    );
    member.wait_for(
        "runs whole in this process (a join's state does not move between processes yet)",
    );
    assert!(
        !member
            .seen
            .iter()
            .any(|l| l.contains("shares the partitions")),
        "{:?}",
        member.seen
    );
    // A second process, which replays the query from the command topic, says it too.
    let mut second = Member::start(
        file.to_str().unwrap(),
        &bootstrap,
        &app,
        "1 persistent query",
    );
    second.wait_for("query CSAS_ENRICHED_2 runs whole in this process");
    second.interrupt();
    member.interrupt();
    // It is not a member of the query's group: it holds every partition itself.
    let group = format!("{app}-CSAS_ENRICHED_2");
    assert!(
        members(&log, &group).is_empty(),
        "{:?}",
        members(&log, &group)
    );
}
