//! Records another client wrote in Kafka transactions: kql reads the committed ones only,
//! and reading goes on past transaction markers and aborted records to the partition's
//! end, so a query's committed position reaches the end (lag 0) and nothing stalls.

mod common;
mod kafka;

use std::process::Command;

use kql::exec::log::{Fetch, GroupOffsets, Topics};
use kql::kafka::{KafkaLog, KafkaSettings};
use kql_runtime::TopicConfig;

/// Writes the transactions `specs` (`commit:a,b`, `abort:c`) to partition 0 of `topic`.
fn transactions(bootstrap: &str, topic: &str, specs: &[&str]) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/kafka/transactional_producer.py"
    );
    let out = Command::new("python3")
        .args([script, bootstrap, topic, &kafka::unique("txn")])
        .args(specs)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the transactional producer failed (scripts/clients-up installs confluent-kafka): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A one-partition topic holding: a, b committed; c, d aborted; e committed. With the
/// markers, offsets run a=0 b=1 commit=2 c=3 d=4 abort=5 e=6 commit=7, the end is 8.
fn topic_with_transactions(log: &KafkaLog, bootstrap: &str) -> String {
    let topic = kafka::unique("txns");
    log.create_topic(&topic, TopicConfig::default()).unwrap();
    transactions(bootstrap, &topic, &["commit:a,b", "abort:c,d", "commit:e"]);
    topic
}

fn values(log: &KafkaLog, topic: &str, from: u64, until: u64) -> (Vec<String>, Option<u64>) {
    let mut fetched = log.fetch(topic, 0, from, until, 1000).unwrap();
    let mut values = Vec::new();
    while let Some(r) = fetched.next_record() {
        values.push(String::from_utf8(r.unwrap().value.unwrap().to_vec()).unwrap());
    }
    (values, fetched.resume_at())
}

#[test]
fn a_fetch_skips_aborted_records_and_resumes_past_the_markers() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let topic = topic_with_transactions(&log, &bootstrap);
    let end = log.offsets(&topic, 0).unwrap().log_end;
    assert_eq!(end, 8, "two commit markers, one abort marker, five records");

    // Fetch after fetch, each from where the last said to resume, reaches the end.
    let (mut read, mut at, mut fetches) = (Vec::new(), 0, 0);
    while at < end {
        let (values, resume) = values(&log, &topic, at, end);
        read.extend(values);
        at = resume.expect("a fetch below the end says where to go on");
        fetches += 1;
        assert!(fetches <= 3, "{fetches} fetches and still at {at} of {end}");
    }
    assert_eq!(read, [r#"{"V": "a"}"#, r#"{"V": "b"}"#, r#"{"V": "e"}"#]);
    assert_eq!(at, end);

    // A range holding only markers and aborted records: nothing, and the end to go on from.
    let (read, resume) = values(&log, &topic, 2, 6);
    assert!(read.is_empty(), "{read:?}");
    assert_eq!(resume, Some(6));
    let (read, resume) = values(&log, &topic, 7, end);
    assert!(read.is_empty(), "{read:?}");
    assert_eq!(resume, Some(end));
}

#[test]
fn a_query_over_transactions_reads_the_committed_records_and_commits_the_end() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let topic = topic_with_transactions(&log, &bootstrap);
    let app = kafka::unique("txn-app");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.ksql");
    std::fs::write(
        &file,
        format!(
            "CREATE STREAM txns (K VARCHAR KEY, V VARCHAR) \
             WITH (kafka_topic='{topic}', value_format='JSON');\n\
             CREATE STREAM copied AS SELECT K, V FROM txns;\n\
             SELECT V FROM copied EMIT CHANGES;\n"
        ),
    )
    .unwrap();
    let run = common::kql(&[
        "run",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--bootstrap-servers",
        &bootstrap,
        "--application-id",
        &app,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(rows, [r#"{"V":"a"}"#, r#"{"V":"b"}"#, r#"{"V":"e"}"#]);

    // The query's group committed the partition's end, past the last commit marker.
    let group = format!("{app}-CSAS_COPIED_1");
    assert!(
        log.group_names().contains(&group),
        "no group {group} in {:?}",
        log.group_names()
    );
    assert_eq!(log.committed_offset(&group, &topic, 0).unwrap(), Some(8));
}
