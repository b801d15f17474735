//! A broker of the 3-node cluster (replication factor 3, min.insync.replicas=2) is killed
//! (kill -9) while a persistent query runs: the query goes on with the two others, and
//! every acknowledged record reaches the sink once. The broker is started again and the
//! test waits for it to be back in sync, so the cluster is whole for later runs.
//!
//! Alone in its test binary: test binaries run one after another, so no other test sees
//! the cluster with a broker down.

mod kafka;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use kql::exec::log::{Fetch, Topics};
use kql::kafka::{KafkaLog, KafkaSettings};
use kql_runtime::TopicConfig;

const RECORDS: usize = 20_000;

fn nodes_dir() -> PathBuf {
    PathBuf::from(std::env::var("KQL_TEST_KAFKA3_NODES").unwrap_or_else(|_| {
        panic!(
            "KQL_TEST_KAFKA3_NODES is not set: run the tests with scripts/test (scripts/kafka-up)"
        )
    }))
}

fn broker_pid(node: u32) -> String {
    let pid_file = nodes_dir().join(format!("node{node}/pid"));
    std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string()
}

/// Every partition of `topic` has 3 in-sync replicas again.
fn wait_until_in_sync(log: &KafkaLog, topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // A request may time out while the broker starts: ask again.
        let info = log.describe_topic(topic);
        if info
            .as_ref()
            .is_ok_and(|i| i.partitions.iter().all(|p| p.isr.len() == 3))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted broker did not catch up: {info:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_query_goes_on_when_a_broker_is_killed_and_loses_nothing_acknowledged() {
    let bootstrap = kafka::three_nodes();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let input = kafka::unique("failover-in");
    let output = kafka::unique("FAILOVER_OUT");
    let replicated = TopicConfig {
        partitions: 3,
        replicas: 3,
        min_insync_replicas: 2,
        ..TopicConfig::default()
    };
    log.create_topic(&input, replicated.clone()).unwrap();
    // The sink exists before the query starts: Kafka cannot create a topic of 3 replicas
    // while one of its 3 brokers is down.
    log.create_topic(&output, replicated).unwrap();
    // Acknowledged by all in-sync replicas (acks=all): these must all come out.
    let java = Command::new("java")
        .args(["-cp", &kafka::java_classpath()])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/kafka/KeyedProducer.java"
        ))
        .args([&bootstrap, &RECORDS.to_string(), &format!("{input}:string")])
        .output()
        .unwrap();
    assert!(
        java.status.success(),
        "{}",
        String::from_utf8_lossy(&java.stderr)
    );

    // The broker leading partition 0 is the one killed.
    let victim = log.describe_topic(&input).unwrap().partitions[0]
        .leader
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.ksql");
    std::fs::write(
        &file,
        format!(
            "CREATE STREAM src (id VARCHAR KEY, n INT) WITH (kafka_topic='{input}', value_format='JSON');\n\
             CREATE STREAM copy WITH (kafka_topic='{output}') AS SELECT id, n FROM src EMIT CHANGES;\n"
        ),
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(["run", file.to_str().unwrap(), "--format", "json"])
        .args(["--bootstrap-servers", &bootstrap])
        .args(["--application-id", &kafka::unique("failover")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Killed once the query has written part of its output.
    let deadline = Instant::now() + Duration::from_secs(60);
    while (0..3)
        .map(|p| log.offsets(&output, p).unwrap().log_end)
        .sum::<u64>()
        == 0
    {
        assert!(Instant::now() < deadline, "the query wrote nothing in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let written_before = (0..3)
        .map(|p| log.offsets(&output, p).unwrap().log_end)
        .sum::<u64>();
    let killed = Command::new("kill")
        .args(["-9", &broker_pid(victim)])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);

    // Start it again before judging, so the cluster is whole whatever the outcome.
    let start = nodes_dir().join(format!("node{victim}/start"));
    assert!(Command::new(&start).status().unwrap().success());
    wait_until_in_sync(&log, &input);

    assert!(
        out.status.success(),
        "kql run failed with broker {victim} killed:\n{stderr}"
    );
    // Every input record is in the sink exactly once.
    let mut seen = vec![0u32; RECORDS];
    for p in 0..log.partition_count(&output).unwrap() {
        let end = log.offsets(&output, p).unwrap().log_end;
        let mut fetched = log.fetch(&output, p, 0, end, usize::MAX).unwrap();
        while let Some(r) = fetched.next_record() {
            let value: serde_json::Value =
                serde_json::from_slice(r.unwrap().value.unwrap()).unwrap();
            seen[value["N"].as_u64().unwrap() as usize] += 1;
        }
    }
    let missing = seen.iter().filter(|c| **c == 0).count();
    let doubled = seen.iter().filter(|c| **c > 1).count();
    assert_eq!(
        (missing, doubled),
        (0, 0),
        "records missing, records written twice"
    );
    assert!(
        (written_before as usize) < RECORDS,
        "the broker was killed only after the query had written everything ({written_before})"
    );
}
