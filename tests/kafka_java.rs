//! Records written by Kafka's own Java producer (default partitioner, Java serializers)
//! are where kql expects them: for keys of every type ksqlDB's KAFKA key format covers,
//! kql's key bytes equal the Java serializer's and kql's partitioner picks the partition
//! Java picked.

mod kafka;

use std::process::Command;

use kql::data::Value;
use kql::exec::format::key::encode_kafka;
use kql::exec::log::{Fetch, Produce, Topics};
use kql::kafka::{KafkaLog, KafkaSettings};
use kql_runtime::TopicConfig;

const PARTITIONS: u32 = 6;
const RECORDS: usize = 60;

/// Runs the Java producer once for every (topic, key kind).
fn java_producer(bootstrap: &str, topics: &[(String, &str)]) {
    let source = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/kafka/KeyedProducer.java"
    );
    let out = Command::new("java")
        .args(["-cp", &kafka::java_classpath(), source, bootstrap])
        .arg(RECORDS.to_string())
        .args(topics.iter().map(|(t, kind)| format!("{t}:{kind}")))
        .output()
        .expect("java runs");
    assert!(
        out.status.success(),
        "the Java producer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What kql would write as the key of record `i` (the Java producer's key `i`).
fn kql_key(kind: &str, i: usize) -> Vec<u8> {
    let v = match kind {
        "string" => Value::string(&format!("user-{i}")),
        "int" => Value::Int(i as i32 * 7919),
        "long" => Value::Bigint(i as i64 * 1_000_000_007),
        _ => Value::Double(i as f64 * 0.5),
    };
    let mut out = Vec::new();
    encode_kafka(&v, &mut out);
    out
}

#[test]
fn java_producers_keys_land_where_kql_puts_the_same_keys() {
    let bootstrap = kafka::one_node();
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let topics: Vec<(String, &str)> = ["string", "int", "long", "double"]
        .into_iter()
        .map(|kind| (kafka::unique(&format!("java-{kind}")), kind))
        .collect();
    for (topic, _) in &topics {
        let config = TopicConfig {
            partitions: PARTITIONS,
            ..TopicConfig::default()
        };
        log.create_topic(topic, config).unwrap();
    }
    java_producer(&bootstrap, &topics);
    for (topic, kind) in &topics {
        let (topic, kind) = (topic.as_str(), *kind);
        let mut seen = vec![None; RECORDS];
        for p in 0..PARTITIONS {
            let end = log.offsets(topic, p).unwrap().log_end;
            let mut fetched = log.fetch(topic, p, 0, end, 10_000).unwrap();
            while let Some(r) = fetched.next_record() {
                let r = r.unwrap();
                let value = std::str::from_utf8(r.value.unwrap()).unwrap();
                let i: usize = value[5..value.len() - 1].parse().unwrap();
                assert_eq!(r.key.unwrap(), &kql_key(kind, i)[..], "{kind} key {i}");
                assert_eq!(
                    log.partition_for(topic, r.key).unwrap(),
                    p,
                    "{kind} key {i}: Java put it in partition {p}"
                );
                seen[i] = Some(p);
            }
        }
        assert!(
            seen.iter().all(Option::is_some),
            "{kind}: records missing: {seen:?}"
        );
        let used: std::collections::BTreeSet<_> = seen.iter().flatten().collect();
        assert!(
            used.len() > 2,
            "{kind}: {RECORDS} keys in {} partitions",
            used.len()
        );
    }
}

#[test]
fn kql_joins_a_java_producers_keyed_records_with_a_table_it_loaded() {
    let bootstrap = kafka::one_node();
    let orders = kafka::unique("java-orders");
    let users = kafka::unique("kql-users");
    let log = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let config = TopicConfig {
        partitions: PARTITIONS,
        ..TopicConfig::default()
    };
    log.create_topic(&orders, config).unwrap();
    // Orders of user-0..user-59, keyed by user, written by Java at the current time.
    java_producer(&bootstrap, &[(orders.clone(), "string")]);

    // The table kql loads: every third user, timestamped long before the orders.
    let mut script = format!(
        "CREATE TABLE users (id VARCHAR PRIMARY KEY, name VARCHAR) \
         WITH (kafka_topic='{users}', partitions={PARTITIONS}, value_format='JSON');\n\
         CREATE STREAM orders (id VARCHAR KEY, n INT) \
         WITH (kafka_topic='{orders}', value_format='JSON');\n"
    );
    for i in (0..RECORDS).step_by(3) {
        script += &format!(
            "INSERT INTO users (ROWTIME, id, name) VALUES (1000, 'user-{i}', 'name-{i}');\n"
        );
    }
    script += "SELECT o.id, o.n, u.name, o.ROWPARTITION AS p FROM orders o JOIN users u ON o.id = u.id EMIT CHANGES;\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("join.ksql");
    std::fs::write(&file, script).unwrap();
    let app = kafka::unique("java-join");
    let out = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(["run", file.to_str().unwrap(), "--format", "json"])
        .args(["--bootstrap-servers", &bootstrap, "--application-id", &app])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let mut joined: Vec<(usize, String, u32)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                row["N"].as_u64().unwrap() as usize,
                row["NAME"].as_str().unwrap().to_string(),
                row["P"].as_u64().unwrap() as u32,
            )
        })
        .collect();
    joined.sort();
    let expected: Vec<(usize, String, u32)> = (0..RECORDS)
        .step_by(3)
        .map(|i| {
            let key = kql_key("string", i);
            let partition = log.partition_for(&orders, Some(&key)).unwrap();
            (i, format!("name-{i}"), partition)
        })
        .collect();
    assert_eq!(joined, expected);
}
