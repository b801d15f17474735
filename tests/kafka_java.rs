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
