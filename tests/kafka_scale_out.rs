//! Two `kql run --follow` processes of one application share three persistent queries (a
//! projection, a windowed count per key, and a stream-table join) over a 6-partition topic
//! through each query's consumer group; one is killed (SIGKILL) while records flow, the
//! other takes its partitions over (with the counts' and the join's state, from their
//! changelogs), and the sinks are compared with the same results computed from the input
//! topic: a result for every input record and the right count for every key.
//!
//! Under exactly-once (`processing.guarantee=exactly_once_v2`, Kafka transactions) no row
//! is written twice: neither a projected row, nor a joined row, nor an update of a count.
//! Under at-least-once the duplicates (rows the dead process wrote after its last commit,
//! written again by its successor) are counted and bounded, never a missing row.

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

/// Creates each topic with `partitions` partitions.
fn create_topics(log: &KafkaLog, topics: &[&String], partitions: u32) {
    for topic in topics {
        let config = TopicConfig {
            partitions,
            ..TopicConfig::default()
        };
        log.create_topic(topic, config).unwrap();
    }
}

const KEYS: u32 = 60;

/// The event time of input record 0: the start of the previous hour, so that every input
/// record (one millisecond apart) falls in one window of an hour, and the table's rows
/// (a second earlier) are in place before any of them.
fn base_time() -> i64 {
    const HOUR: i64 = 3_600_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now / HOUR - 1) * HOUR
}

/// Records `from..to` of the input: key `i % KEYS` (an INT key), value `{"V": i}`, time
/// `base + i`.
fn produce(log: &KafkaLog, topic: &str, base: i64, from: u32, to: u32) {
    for i in from..to {
        let key = ((i % KEYS) as i32).to_be_bytes();
        let record = ProducerRecord::new(
            Some(Bytes::copy_from_slice(&key)),
            Some(Bytes::from(format!("{{\"V\": {i}}}"))),
        )
        .with_timestamp(base + i as i64);
        log.produce(topic, record, Acks::All).unwrap();
    }
}

/// The table the join reads: a name for every key, written before the input.
fn produce_users(log: &KafkaLog, topic: &str, base: i64) {
    for k in 0..KEYS {
        let record = ProducerRecord::new(
            Some(Bytes::copy_from_slice(&(k as i32).to_be_bytes())),
            Some(Bytes::from(format!("{{\"NAME\": \"user-{k}\"}}"))),
        )
        .with_timestamp(base - 1000);
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

/// Every joined row of the join's sink, as (ID, V, NAME), with how many times it is there.
fn joined_rows(log: &KafkaLog, topic: &str) -> BTreeMap<(i64, i64, String), usize> {
    let mut rows = BTreeMap::new();
    for (key, value) in records(log, topic) {
        let id = i32::from_be_bytes(key[..4].try_into().unwrap()) as i64;
        let row = (
            id,
            value["V"].as_i64().unwrap(),
            value["NAME"].as_str().unwrap().to_string(),
        );
        *rows.entry(row).or_insert(0) += 1;
    }
    rows
}

/// The join's rows computed from the topics themselves: each input record with the name
/// its key has in the table.
fn expected_joined(log: &KafkaLog, input: &str, users: &str) -> Vec<(i64, i64, String)> {
    let names: BTreeMap<Vec<u8>, String> = records(log, users)
        .into_iter()
        .map(|(k, v)| (k, v["NAME"].as_str().unwrap().to_string()))
        .collect();
    records(log, input)
        .into_iter()
        .map(|(k, v)| {
            let id = i32::from_be_bytes(k[..4].try_into().unwrap()) as i64;
            (id, v["V"].as_i64().unwrap(), names[&k].clone())
        })
        .collect()
}

/// How many input records each key has: the final windowed count of each key (every
/// input record is in the same window).
fn expected_counts(log: &KafkaLog, input: &str) -> BTreeMap<Vec<u8>, u64> {
    let mut counts = BTreeMap::new();
    for (k, _) in records(log, input) {
        *counts.entry(k).or_insert(0) += 1;
    }
    counts
}

/// The latest count of each key in the table's sink.
fn latest_counts(log: &KafkaLog, topic: &str) -> BTreeMap<Vec<u8>, u64> {
    records(log, topic)
        .into_iter()
        .map(|(key, value)| (key[..4].to_vec(), value["N"].as_u64().unwrap()))
        .collect()
}

/// Every count each key's updates carried, in the order written (one per input record).
fn count_updates(log: &KafkaLog, topic: &str) -> BTreeMap<Vec<u8>, Vec<u64>> {
    let mut updates: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
    for (key, value) in records(log, topic) {
        // The key, then the window's start (8 bytes, Kafka Streams' windowed key).
        assert_eq!(key.len(), 12, "a windowed key: {key:?}");
        updates
            .entry(key[..4].to_vec())
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

/// Waits until `group` has committed positions on `topic` that add up to `n` records.
fn wait_for_committed(log: &KafkaLog, group: &str, topic: &str, n: u64) {
    let deadline = Instant::now() + TAKEOVER_WAIT;
    loop {
        let committed: u64 = (0..PARTITIONS)
            .filter_map(|p| log.committed_offset(group, topic, p).ok().flatten())
            .sum();
        if committed >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {group} committed {committed} of the {n} records of {topic}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn exactly_once_the_survivor_of_a_kill_writes_every_result_once() {
    let outcome = two_processes_and_a_kill("exactly_once_v2");
    assert_eq!(outcome.duplicates, 0, "projected rows written twice");
    assert_eq!(outcome.joined_duplicates, 0, "joined rows written twice");
    // Each key's count went 1, 2, ..., 10, each update once, in order.
    for (key, counts) in &outcome.updates {
        assert_eq!(*counts, (1..=10).collect::<Vec<u64>>(), "key {key:?}");
    }
}

#[test]
fn at_least_once_the_survivor_of_a_kill_writes_again_what_was_not_committed() {
    let outcome = two_processes_and_a_kill("at_least_once");
    // Only what the killed process wrote after its last commit (1 s apart) comes twice.
    for (what, n) in [
        ("projected", outcome.duplicates),
        ("joined", outcome.joined_duplicates),
    ] {
        assert!(
            n <= 400,
            "{n} duplicate {what} rows: more than the killed process could have written"
        );
    }
    let repeated: usize = outcome.updates.values().map(|c| c.len() - 10).sum();
    eprintln!(
        "scale-out at least once: 600 inputs, {} duplicate projected row(s), {} duplicate joined row(s) and {repeated} repeated count update(s) after the kill",
        outcome.duplicates, outcome.joined_duplicates
    );
}

/// What the sinks held once nothing was missing.
struct Outcome {
    /// Projected rows that are there more than once.
    duplicates: usize,
    /// Joined rows that are there more than once.
    joined_duplicates: usize,
    /// Every update of each key's windowed count, in the order written.
    updates: BTreeMap<Vec<u8>, Vec<u64>>,
}

/// Runs the scenario under `guarantee`; what the sinks hold, once nothing is missing.
fn two_processes_and_a_kill(guarantee: &str) -> Outcome {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let input = kafka::unique("scale-in");
    let users = kafka::unique("scale-users");
    let output = kafka::unique("scale-out");
    let counted = kafka::unique("scale-counts");
    let joined = kafka::unique("scale-joined");
    let app = kafka::unique("scale");
    create_topics(&log, &[&input, &users], PARTITIONS);
    let base = base_time();
    produce_users(&log, &users, base);
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
             SELECT ID, COUNT(*) AS N FROM readings WINDOW TUMBLING (SIZE 1 HOUR) \
             GROUP BY ID EMIT CHANGES;\n\
             CREATE TABLE IF NOT EXISTS users (ID INT PRIMARY KEY, NAME VARCHAR) \
             WITH (kafka_topic='{users}', value_format='JSON');\n\
             CREATE STREAM IF NOT EXISTS enriched WITH (kafka_topic='{joined}') AS \
             SELECT r.ID AS ID, r.V AS V, u.NAME AS NAME \
             FROM readings r JOIN users u ON r.ID = u.ID EMIT CHANGES;\n"
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let config = dir.path().join("client.properties");
    std::fs::write(&config, format!("processing.guarantee={guarantee}\n")).unwrap();
    let more = ["--config", config.to_str().unwrap()];
    let group = format!("{app}-CSAS_DOUBLED_1");
    let count_group = format!("{app}-CTAS_COUNTS_2");
    let join_group = format!("{app}-CSAS_ENRICHED_4");
    let queries = "3 persistent queries";

    let mut first = Member::start_with(file, &bootstrap, &app, queries, &more);
    first.wait_for(&format!("consumer group '{join_group}'"));
    let mut second = Member::start_with(file, &bootstrap, &app, queries, &more);
    assert!(
        second.seen.iter().any(|l| l.contains("Restored")),
        "the second process finds the query in the command topic: {:?}",
        second.seen
    );
    for g in [&group, &count_group] {
        wait_for_members(&log, g, &[3, 3]);
    }
    // The join's members hold the same 3 partitions of both of its inputs.
    wait_for_members(&log, &join_group, &[6, 6]);

    produce(&log, &input, base, 0, 300);
    let counts = wait_for_sink(&log, &output, 300, Duration::from_secs(60));
    assert_eq!(counts.len(), 300, "both halves computed: {counts:?}");

    // One of two dies while records flow; its partitions go to the other.
    produce(&log, &input, base, 300, 400);
    second.child.kill().unwrap(); // SIGKILL: no goodbye to the group
    second.child.wait().unwrap();
    produce(&log, &input, base, 400, 600);
    for g in [&group, &count_group] {
        wait_for_members(&log, g, &[6]);
    }
    wait_for_members(&log, &join_group, &[12]);
    wait_for_sink(&log, &output, 600, TAKEOVER_WAIT);
    // The counts and the join catch up too.
    let expected_rows = expected_joined(&log, &input, &users);
    assert_eq!(expected_rows.len(), 600);
    let want_counts = expected_counts(&log, &input);
    let deadline = Instant::now() + Duration::from_secs(30);
    let caught_up = |latest: &BTreeMap<Vec<u8>, u64>, rows: &BTreeMap<_, usize>| {
        *latest == want_counts && expected_rows.iter().all(|r| rows.contains_key(r))
    };
    let (mut latest, mut rows) = (latest_counts(&log, &counted), joined_rows(&log, &joined));
    while !caught_up(&latest, &rows) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        latest = latest_counts(&log, &counted);
        rows = joined_rows(&log, &joined);
    }
    first.interrupt();
    // Everything the survivor wrote, its last commit included.
    let counts = sink_counts(&log, &output);
    let rows = joined_rows(&log, &joined);
    assert_eq!(latest_counts(&log, &counted), want_counts);

    let missing: Vec<u32> = (0..600)
        .filter(|i| !counts.contains_key(&(2 * i)))
        .collect();
    assert!(missing.is_empty(), "inputs without a result: {missing:?}");
    let missing: Vec<_> = expected_rows
        .iter()
        .filter(|r| !rows.contains_key(r))
        .collect();
    assert!(
        missing.is_empty(),
        "inputs without a joined row: {missing:?}"
    );
    let unexpected: Vec<_> = rows.keys().filter(|r| !expected_rows.contains(r)).collect();
    assert!(
        unexpected.is_empty(),
        "joined rows of no input: {unexpected:?}"
    );
    assert!(log.committed_offset(&group, &input, 0).unwrap().is_some());
    assert!(log
        .committed_offset(&join_group, &users, 0)
        .unwrap()
        .is_some());
    Outcome {
        duplicates: counts.values().map(|c| c - 1).sum(),
        joined_duplicates: rows.values().map(|c| c - 1).sum(),
        updates: count_updates(&log, &counted),
    }
}

/// Under exactly-once, a count that repartitions (GROUP BY a value column) reads what its
/// first stage wrote to the internal topic as soon as that stage's transaction commits,
/// and commits again: a process stopped (Ctrl-C) right after its first round leaves a
/// count for every input record in the sink, not only what an earlier commit let through.
#[test]
fn a_repartitioning_count_is_whole_in_the_sink_when_its_process_stops() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let input = kafka::unique("regroup-in");
    let counted = kafka::unique("regroup-counts");
    let app = kafka::unique("regroup");
    let config = TopicConfig {
        partitions: PARTITIONS,
        ..TopicConfig::default()
    };
    log.create_topic(&input, config).unwrap();
    produce(&log, &input, base_time(), 0, 300);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("regroup.ksql");
    std::fs::write(
        &file,
        format!(
            "CREATE STREAM IF NOT EXISTS readings (ID INT KEY, V INT) \
             WITH (kafka_topic='{input}', value_format='JSON');\n\
             CREATE TABLE IF NOT EXISTS by_v WITH (kafka_topic='{counted}') AS \
             SELECT V, COUNT(*) AS N FROM readings GROUP BY V EMIT CHANGES;\n"
        ),
    )
    .unwrap();
    let member = Member::start(
        file.to_str().unwrap(),
        &bootstrap,
        &app,
        "1 persistent query",
    );
    // The member holds the 6 partitions of the input and of the internal topic.
    let group = format!("{app}-CTAS_BY_V_1");
    wait_for_members(&log, &group, &[12]);
    // Its first stage has read and committed the whole input (on a loaded machine that can
    // take several rounds); the stop must then leave the second stage's counts of all of it.
    wait_for_committed(&log, &group, &input, 300);
    member.interrupt();
    let counts = latest_counts(&log, &counted);
    assert_eq!(counts.len(), 300, "a count for every value: {counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
}

/// A bounded run of an application that live processes run leaves its queries to them
/// (they are the members of the queries' groups), so no result is computed twice; once
/// none runs, a bounded run goes on from the group's committed positions: only what
/// arrived since.
#[test]
fn a_bounded_run_leaves_queries_to_live_processes_and_otherwise_continues_from_their_commit() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let input = kafka::unique("bounded-in");
    let output = kafka::unique("bounded-out");
    let app = kafka::unique("bounded");
    let config = TopicConfig {
        partitions: PARTITIONS,
        ..TopicConfig::default()
    };
    log.create_topic(&input, config).unwrap();
    let base = base_time();
    produce(&log, &input, base, 0, 100);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doubled.ksql");
    std::fs::write(
        &file,
        format!(
            "CREATE STREAM IF NOT EXISTS readings (ID INT KEY, V INT) \
             WITH (kafka_topic='{input}', value_format='JSON');\n\
             CREATE STREAM IF NOT EXISTS doubled WITH (kafka_topic='{output}') AS \
             SELECT ID, V * 2 AS W FROM readings EMIT CHANGES;\n"
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let bounded = || {
        let out = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["run", file, "--bootstrap-servers", &bootstrap])
            .args(["--application-id", &app])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{stderr}");
        stderr
    };
    let live = Member::start(file, &bootstrap, &app, "1 persistent query");
    let group = format!("{app}-CSAS_DOUBLED_1");
    wait_for_members(&log, &group, &[6]);
    wait_for_sink(&log, &output, 100, Duration::from_secs(60));
    // Records arrive while the bounded run starts: only the live process writes them.
    produce(&log, &input, base, 100, 200);
    let said = bounded();
    assert!(
        said.contains(&format!(
            "query CSAS_DOUBLED_1 is run by 1 live process(es) of application '{app}' (consumer group '{group}')"
        )),
        "{said}"
    );
    wait_for_sink(&log, &output, 200, Duration::from_secs(60));
    live.interrupt();
    // No live process: a bounded run resumes the query where the group's commit says.
    produce(&log, &input, base, 200, 250);
    let said = bounded();
    assert!(said.contains("Restored"), "{said}");
    let counts = sink_counts(&log, &output);
    let missing: Vec<u32> = (0..250)
        .filter(|i| !counts.contains_key(&(2 * i)))
        .collect();
    assert!(missing.is_empty(), "inputs without a result: {missing:?}");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "results written twice: {twice:?}");
}

/// Orders `0..n`: key `i % KEYS`, value `{"UID": (7 * i) % KEYS, "V": i}`, time `base + i`:
/// a join on UID repartitions them.
fn produce_orders(log: &KafkaLog, topic: &str, base: i64, from: u32, to: u32) {
    for i in from..to {
        let key = ((i % KEYS) as i32).to_be_bytes();
        let value = format!("{{\"UID\": {}, \"V\": {i}}}", (7 * i) % KEYS);
        let record =
            ProducerRecord::new(Some(Bytes::copy_from_slice(&key)), Some(Bytes::from(value)))
                .with_timestamp(base + i as i64);
        log.produce(topic, record, Acks::All).unwrap();
    }
}

/// Every expected joined row is in the sink once, and nothing else is.
fn assert_each_joined_once<R: Ord + std::fmt::Debug>(expected: &[R], rows: &BTreeMap<R, usize>) {
    let missing: Vec<_> = expected.iter().filter(|r| !rows.contains_key(r)).collect();
    assert!(
        missing.is_empty(),
        "orders without a joined row: {missing:?}"
    );
    let unexpected: Vec<_> = rows.keys().filter(|r| !expected.contains(r)).collect();
    assert!(
        unexpected.is_empty(),
        "joined rows of no order: {unexpected:?}"
    );
    let twice: Vec<_> = rows.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "joined rows written twice: {twice:?}");
}

/// Two `kql run --follow` processes of `app` under exactly-once, each running `text` (one
/// persistent query, whose consumer group is `group`); the second starts once the first
/// has joined the group, and neither says it runs the query whole.
fn exactly_once_pair(
    dir: &std::path::Path,
    text: &str,
    bootstrap: &str,
    app: &str,
    group: &str,
) -> (Member, Member) {
    let file = dir.join("query.ksql");
    std::fs::write(&file, text).unwrap();
    let config = dir.join("client.properties");
    std::fs::write(&config, "processing.guarantee=exactly_once_v2\n").unwrap();
    let (file, more) = (
        file.to_str().unwrap(),
        ["--config", config.to_str().unwrap()],
    );
    let query = "1 persistent query";
    let mut first = Member::start_with(file, bootstrap, app, query, &more);
    first.wait_for(&format!("consumer group '{group}'"));
    assert!(
        !first.seen.iter().any(|l| l.contains("runs whole")),
        "{:?}",
        first.seen
    );
    let second = Member::start_with(file, bootstrap, app, query, &more);
    (first, second)
}

/// Waits until every row of `expected` is among `rows()`, or `wait` has passed.
fn wait_for_rows<R: Ord>(expected: &[R], wait: Duration, rows: impl Fn() -> BTreeMap<R, usize>) {
    let deadline = Instant::now() + wait;
    loop {
        let got = rows();
        if expected.iter().all(|r| got.contains_key(r)) || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Orders 0..300 are joined (`joined(300)` waits for them); one of the two processes dies
/// (SIGKILL: no goodbye to the group) while orders 300..600 flow, so its partitions go to
/// the other.
fn orders_with_a_kill(
    log: &KafkaLog,
    orders: &str,
    base: i64,
    mut second: Member,
    joined: impl Fn(usize),
) {
    produce_orders(log, orders, base, 0, 300);
    joined(300);
    produce_orders(log, orders, base, 300, 400);
    second.child.kill().unwrap();
    second.child.wait().unwrap();
    produce_orders(log, orders, base, 400, 600);
}

/// A join that repartitions its stream side (ON a value column) is shared like an
/// aggregation that repartitions: each process copies its partitions of the orders into the
/// internal topic and joins its partitions of that topic with the same partitions of the
/// table. One of two processes is killed (SIGKILL) while orders flow; the survivor takes
/// over its copying and its joins, and under exactly-once every order is joined once.
#[test]
fn a_join_that_repartitions_is_shared_and_its_survivor_joins_every_order_once() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let (orders, users) = (kafka::unique("rj-orders"), kafka::unique("rj-users"));
    let joined = kafka::unique("rj-joined");
    create_topics(&log, &[&orders, &users], PARTITIONS);
    let base = base_time();
    produce_users(&log, &users, base);
    let app = kafka::unique("rjoin");
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "CREATE STREAM IF NOT EXISTS orders (ID INT KEY, UID INT, V INT) \
         WITH (kafka_topic='{orders}', value_format='JSON');\n\
         CREATE TABLE IF NOT EXISTS users (ID INT PRIMARY KEY, NAME VARCHAR) \
         WITH (kafka_topic='{users}', value_format='JSON');\n\
         CREATE STREAM IF NOT EXISTS enriched WITH (kafka_topic='{joined}') AS \
         SELECT o.UID AS UID, o.V AS V, u.NAME AS NAME \
         FROM orders o JOIN users u ON o.UID = u.ID EMIT CHANGES;\n"
    );
    let group = format!("{app}-CSAS_ENRICHED_2");
    let (first, second) = exactly_once_pair(dir.path(), &text, &bootstrap, &app, &group);
    // Each holds 3 partitions of the orders, of the internal topic and of the table.
    wait_for_members(&log, &group, &[9, 9]);

    // Each order joined with the name of its UID.
    let expected: Vec<(i64, i64, String)> = (0..600i64)
        .map(|i| {
            let uid = (7 * i) % KEYS as i64;
            (uid, i, format!("user-{uid}"))
        })
        .collect();
    let joined_within =
        |n: usize, wait| wait_for_rows(&expected[..n], wait, || joined_rows(&log, &joined));
    orders_with_a_kill(&log, &orders, base, second, |n| {
        joined_within(n, Duration::from_secs(60))
    });
    wait_for_members(&log, &group, &[18]);
    joined_within(600, TAKEOVER_WAIT);
    first.interrupt();
    assert_each_joined_once(&expected, &joined_rows(&log, &joined));
}

/// The team of each user's name (`teams`, keyed by NAME): team-(k % 5) for user-k.
fn produce_teams(log: &KafkaLog, topic: &str, base: i64) {
    for k in 0..KEYS {
        let record = ProducerRecord::new(
            Some(Bytes::from(format!("user-{k}"))),
            Some(Bytes::from(format!("{{\"TEAM\": \"team-{}\"}}", k % 5))),
        )
        .with_timestamp(base - 1000);
        log.produce(topic, record, Acks::All).unwrap();
    }
}

/// A join of joins is shared too: the inner join (orders with their user, co-partitioned)
/// runs task i in the process holding partition i of both, and writes its rows, re-keyed by
/// the user's name, into the internal topic that the outer join (with the name's team)
/// reads, task j in the process holding partition j of that topic and of the teams. One of
/// two processes is killed (SIGKILL) while orders flow; under exactly-once the survivor
/// takes over both joins' tasks (with their tables, from the changelog) and every order
/// is in the sink once, with its user's name and team.
#[test]
fn a_join_of_joins_is_shared_and_its_survivor_joins_every_order_once() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let orders = kafka::unique("jj-orders");
    let (users, teams) = (kafka::unique("jj-users"), kafka::unique("jj-teams"));
    let joined = kafka::unique("jj-joined");
    create_topics(&log, &[&orders, &users, &teams], PARTITIONS);
    let base = base_time();
    produce_users(&log, &users, base);
    produce_teams(&log, &teams, base);
    let app = kafka::unique("jjoin");
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "CREATE STREAM IF NOT EXISTS orders (ID INT KEY, UID INT, V INT) \
         WITH (kafka_topic='{orders}', value_format='JSON');\n\
         CREATE TABLE IF NOT EXISTS users (ID INT PRIMARY KEY, NAME VARCHAR) \
         WITH (kafka_topic='{users}', value_format='JSON');\n\
         CREATE TABLE IF NOT EXISTS teams (NAME VARCHAR PRIMARY KEY, TEAM VARCHAR) \
         WITH (kafka_topic='{teams}', value_format='JSON');\n\
         CREATE STREAM IF NOT EXISTS with_team WITH (kafka_topic='{joined}') AS \
         SELECT u.NAME AS NAME, o.V AS V, t.TEAM AS TEAM \
         FROM orders o JOIN users u ON o.ID = u.ID JOIN teams t ON u.NAME = t.NAME \
         EMIT CHANGES;\n"
    );
    let group = format!("{app}-CSAS_WITH_TEAM_3");
    let (first, second) = exactly_once_pair(dir.path(), &text, &bootstrap, &app, &group);
    // Each holds 3 partitions of the orders, the users, the internal topic and the teams.
    wait_for_members(&log, &group, &[12, 12]);

    // (NAME, V, TEAM) of each order: its key is its user's ID.
    let expected: Vec<(String, i64, String)> = (0..600i64)
        .map(|i| {
            let k = i % KEYS as i64;
            (format!("user-{k}"), i, format!("team-{}", k % 5))
        })
        .collect();
    let rows = || {
        let mut rows: BTreeMap<(String, i64, String), usize> = BTreeMap::new();
        for (key, value) in records(&log, &joined) {
            let row = (
                String::from_utf8(key).unwrap(),
                value["V"].as_i64().unwrap(),
                value["TEAM"].as_str().unwrap().to_string(),
            );
            *rows.entry(row).or_insert(0) += 1;
        }
        rows
    };
    let joined_within = |n: usize, wait| wait_for_rows(&expected[..n], wait, rows);
    orders_with_a_kill(&log, &orders, base, second, |n| {
        joined_within(n, Duration::from_secs(60))
    });
    wait_for_members(&log, &group, &[24]);
    joined_within(600, TAKEOVER_WAIT);
    first.interrupt();
    assert_each_joined_once(&expected, &rows());
}

/// A foreign-key join is shared too: each process runs the tasks of its partitions of the
/// left table (orders), each task reading the whole right table (users), so every row of
/// an order is written by one task. One of two processes is killed (SIGKILL) mid-stream;
/// under exactly-once the survivor takes its tasks over with their tables (from the
/// changelog), and every joined row is in the sink once: each order version with its
/// user's name, and, after some users are renamed, the current version of each order of
/// those users again with the new name.
#[test]
fn a_foreign_key_join_is_shared_and_its_survivor_writes_every_joined_row_once() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let (orders, users) = (kafka::unique("fk-orders"), kafka::unique("fk-users"));
    let joined = kafka::unique("fk-joined");
    create_topics(&log, &[&orders, &users], PARTITIONS);
    let base = base_time();
    produce_users(&log, &users, base);
    let app = kafka::unique("fkjoin");
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "CREATE TABLE IF NOT EXISTS orders (ID INT PRIMARY KEY, UID INT, V INT) \
         WITH (kafka_topic='{orders}', value_format='JSON');\n\
         CREATE TABLE IF NOT EXISTS users (ID INT PRIMARY KEY, NAME VARCHAR) \
         WITH (kafka_topic='{users}', value_format='JSON');\n\
         CREATE TABLE IF NOT EXISTS enriched WITH (kafka_topic='{joined}') AS \
         SELECT o.ID AS ID, o.V AS V, u.NAME AS NAME \
         FROM orders o JOIN users u ON o.UID = u.ID EMIT CHANGES;\n"
    );
    let group = format!("{app}-CTAS_ENRICHED_2");
    let (first, second) = exactly_once_pair(dir.path(), &text, &bootstrap, &app, &group);
    // Each holds 3 partitions of the orders; every task reads all of the users.
    wait_for_members(&log, &group, &[3, 3]);

    // Order record i is version i of order i % KEYS, for user (7 i) % KEYS.
    let user = |i: u32| (7 * i) % KEYS;
    let mut expected: Vec<(i64, i64, String)> = (0..600u32)
        .map(|i| ((i % KEYS) as i64, i as i64, format!("user-{}", user(i))))
        .collect();
    // Users 0..10 are renamed after every order: the current version of each of their
    // orders is joined again, with the new name.
    let renamed = 10;
    expected.extend(
        (600 - KEYS..600)
            .filter(|&i| user(i) < renamed)
            .map(|i| ((i % KEYS) as i64, i as i64, format!("user-{}-v2", user(i)))),
    );
    let joined_within =
        |n: usize, wait| wait_for_rows(&expected[..n], wait, || joined_rows(&log, &joined));
    orders_with_a_kill(&log, &orders, base, second, |n| {
        joined_within(n, Duration::from_secs(60))
    });
    for k in 0..renamed {
        let record = ProducerRecord::new(
            Some(Bytes::copy_from_slice(&(k as i32).to_be_bytes())),
            Some(Bytes::from(format!("{{\"NAME\": \"user-{k}-v2\"}}"))),
        )
        .with_timestamp(base + 10_000);
        log.produce(&users, record, Acks::All).unwrap();
    }
    wait_for_members(&log, &group, &[6]);
    joined_within(expected.len(), TAKEOVER_WAIT);
    first.interrupt();
    assert_each_joined_once(&expected, &joined_rows(&log, &joined));
}

/// A bounded run (`kql run` without --follow) runs a persistent query alone, outside the
/// query's consumer group. When a `kql run --follow` process of the same application joins
/// the group while it runs, the cluster refuses the bounded run's commit, and the run says
/// why (docs/kafka.md): exit code 1, KQL0601, naming the live process, the group and what
/// to do. The bounded run is held mid-file by a source connector reading a named pipe,
/// which ends when the test closes it, so the order of events does not depend on timing.
#[test]
fn a_bounded_run_is_no_member_and_says_so_when_a_live_process_joins_during_it() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let (input, output) = (kafka::unique("bounded-in"), kafka::unique("bounded-out"));
    create_topics(&log, &[&input], 2);
    produce(&log, &input, base_time(), 0, 100);
    let app = kafka::unique("bounded");
    let dir = tempfile::tempdir().unwrap();
    let declarations = format!(
        "CREATE STREAM IF NOT EXISTS readings (ID INT KEY, V INT) \
         WITH (kafka_topic='{input}', value_format='JSON');\n\
         CREATE STREAM IF NOT EXISTS doubled WITH (kafka_topic='{output}') AS \
         SELECT ID, V * 2 AS W FROM readings EMIT CHANGES;\n"
    );
    let pipe = dir.path().join("more.jsonl");
    let made = Command::new("mkfifo").arg(&pipe).status().unwrap();
    assert!(made.success(), "mkfifo {}", pipe.display());
    let bounded_file = dir.path().join("bounded.ksql");
    std::fs::write(
        &bounded_file,
        format!(
            "{declarations}CREATE SOURCE CONNECTOR more WITH \
             ('connector.class'='FileStreamSource', 'file'='more.jsonl', 'topic'='{input}');\n"
        ),
    )
    .unwrap();
    let follow_file = dir.path().join("follow.ksql");
    std::fs::write(&follow_file, &declarations).unwrap();
    let mut bounded = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(["run", bounded_file.to_str().unwrap()])
        .args(["--bootstrap-servers", &bootstrap, "--application-id", &app])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The pipe opens for writing once the connector opened it for reading: the bounded run
    // has started the query (the statement before) and waits for the pipe. (Opened without
    // blocking, so that a run that ended early fails the test instead of hanging it.)
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut writer = loop {
        use std::os::unix::fs::OpenOptionsExt;
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&pipe);
        if let Ok(w) = opened {
            break w;
        }
        if let Some(status) = bounded.try_wait().unwrap() {
            let out = bounded.wait_with_output().unwrap();
            panic!(
                "the bounded run ended ({status}) before reading the pipe: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "the bounded run never read the pipe"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let group = format!("{app}-CSAS_DOUBLED_1");
    assert!(
        members(&log, &group).is_empty(),
        "the bounded run joined its query's group: {:?}",
        members(&log, &group)
    );
    // A live process joins the query's group and is given every partition.
    let live = Member::start(
        follow_file.to_str().unwrap(),
        &bootstrap,
        &app,
        "1 persistent query",
    );
    wait_for_members(&log, &group, &[2]);
    // More input, then the end of the pipe: the bounded run reads it, runs the query to
    // the end and commits.
    use std::io::Write;
    for i in 100..110 {
        writeln!(writer, "{{\"V\": {i}}}").unwrap();
    }
    drop(writer);
    let out = bounded.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for said in [
        "KQL0601",
        "query CSAS_DOUBLED_1: cannot commit its offsets",
        &format!(
            "1 live process(es) of application '{app}' joined its consumer group '{group}' \
             while this run ran the query alone (a run without --follow is no member of the \
             group)"
        ),
        "Start `kql run --follow` processes before or after a bounded run of the same \
         application, not during one",
    ] {
        assert!(stderr.contains(said), "no '{said}' in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The live process goes on: it holds the query's partitions and stops cleanly.
    assert_eq!(members(&log, &group), vec![2]);
    live.interrupt();
}
