//! The Kafka backend of the log (`kql::kafka::KafkaLog`) against real Apache Kafka brokers
//! (started by scripts/kafka-up): topics, records, placement, offsets, groups and errors,
//! as the executor sees them.

mod kafka;

use kafka::unique;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kql::exec::log::{Fetch, GroupOffsets, Offsets, Produce, Topics};
use kql::kafka::{KafkaLog, KafkaSettings};
use kql_runtime::{
    Acks, CleanupPolicy, Header, LogError, ProducerRecord, ProducerRef, Record, TopicConfig,
};

fn connect(bootstrap: &str) -> KafkaLog {
    KafkaLog::connect(KafkaSettings::new(bootstrap)).expect("the test cluster answers")
}

/// The records one fetch returns, and where the next fetch would start.
fn fetch(
    log: &KafkaLog,
    topic: &str,
    p: u32,
    from: u64,
    until: u64,
    max: usize,
) -> (Vec<Record>, Option<u64>) {
    let mut fetched = log.fetch(topic, p, from, until, max).unwrap();
    let mut records = Vec::new();
    while let Some(r) = fetched.next_record() {
        records.push(r.unwrap().to_record());
    }
    (records, fetched.resume_at())
}

fn offsets(log: &KafkaLog, topic: &str, p: u32) -> (u64, u64) {
    let o: Offsets = log.offsets(topic, p).unwrap();
    assert_eq!(o.high_watermark, o.log_end);
    (o.log_start, o.log_end)
}

fn topic(log: &KafkaLog, name: &str, partitions: u32, replicas: u32) -> String {
    let name = unique(name);
    log.create_topic(
        &name,
        TopicConfig {
            partitions,
            replicas,
            ..TopicConfig::default()
        },
    )
    .unwrap();
    name
}

#[test]
fn a_created_topic_has_its_partitions_leaders_and_settings_on_the_cluster() {
    let log = connect(&kafka::one_node());
    let name = unique("created");
    let config = TopicConfig {
        partitions: 3,
        replicas: 1,
        retention_ms: Some(3_600_000),
        cleanup_policy: CleanupPolicy::Compact,
        ..TopicConfig::default()
    };
    log.create_topic(&name, config.clone()).unwrap();
    assert_eq!(log.partition_count(&name), Some(3));
    assert!(log.topic_names().contains(&name));

    let info = log.describe_topic(&name).unwrap();
    assert_eq!(info.partitions.len(), 3);
    for (i, p) in info.partitions.iter().enumerate() {
        assert_eq!(p.partition, i as u32);
        assert_eq!(p.leader, Some(1));
        assert_eq!(p.replicas, vec![1]);
        assert_eq!(p.isr, vec![1]);
        assert_eq!((p.log_start_offset, p.log_end_offset), (0, 0));
    }
    assert_eq!(info.config.retention_ms, Some(3_600_000));
    assert_eq!(info.config.cleanup_policy, CleanupPolicy::Compact);

    assert_eq!(
        log.create_topic(&name, config),
        Err(LogError::TopicExists(name.clone()))
    );
    log.delete_topic(&name).unwrap();
}

#[test]
fn a_missing_topic_has_no_partition_count_and_cannot_be_described() {
    let log = connect(&kafka::one_node());
    let name = unique("missing");
    assert_eq!(log.partition_count(&name), None);
    assert_eq!(
        log.describe_topic(&name),
        Err(LogError::UnknownTopic(name.clone()))
    );
    let e = log
        .produce(
            &name,
            ProducerRecord::new(None, Some(Bytes::from_static(b"x"))),
            Acks::All,
        )
        .unwrap_err();
    assert_eq!(e, LogError::UnknownTopic(name));
}

#[test]
fn records_come_back_with_their_keys_values_timestamps_and_headers() {
    let log = connect(&kafka::one_node());
    let name = topic(&log, "records", 2, 1);
    // a null header value comes back null, not empty
    let headers = [
        Header {
            name: "trace".into(),
            value: Some(Bytes::from_static(b"abc")),
        },
        Header {
            name: "gone".into(),
            value: None,
        },
    ];
    let batch = [
        ProducerRef {
            key: Some(b"k1"),
            value: Some(b"{\"v\":1}"),
            timestamp_ms: Some(1_700_000_000_000),
            headers: &headers,
        },
        ProducerRef {
            key: None,
            value: Some(b"{\"v\":2}"),
            timestamp_ms: Some(1_700_000_000_500),
            headers: &[],
        },
        // A tombstone.
        ProducerRef {
            key: Some(b"k1"),
            value: None,
            timestamp_ms: Some(1_700_000_001_000),
            headers: &[],
        },
    ];
    assert_eq!(log.produce_batch(&name, 1, &batch, Acks::All).unwrap(), 0);
    assert_eq!(
        log.produce_batch(&name, 1, &batch[..1], Acks::Leader)
            .unwrap(),
        3
    );
    assert_eq!(offsets(&log, &name, 1), (0, 4));
    assert_eq!(offsets(&log, &name, 0), (0, 0));

    let (r, next) = fetch(&log, &name, 1, 0, 4, 100);
    assert_eq!(next, Some(4));
    assert_eq!(r.len(), 4);
    assert_eq!(
        (
            r[0].offset,
            r[0].timestamp_ms,
            r[0].key.as_deref(),
            r[0].value.as_deref()
        ),
        (
            0,
            1_700_000_000_000,
            Some(&b"k1"[..]),
            Some(&b"{\"v\":1}"[..])
        )
    );
    assert_eq!(r[0].headers, headers.to_vec());
    assert_eq!((r[1].key.as_deref(), r[1].headers.len()), (None, 0));
    assert_eq!((r[2].offset, r[2].value.as_deref()), (2, None));

    // Fetches stop before `until`, resume where asked, and read nothing past the end.
    let offsets_of = |r: &[Record]| r.iter().map(|r| r.offset).collect::<Vec<_>>();
    let (part, next) = fetch(&log, &name, 1, 1, 3, 100);
    assert_eq!((offsets_of(&part), next), (vec![1, 2], Some(3)));
    let (small, next) = fetch(&log, &name, 1, 0, 4, 1);
    assert_eq!((offsets_of(&small), next), (vec![0], Some(1)));
    let (rest, _) = fetch(&log, &name, 1, 1, 4, 100);
    assert_eq!(offsets_of(&rest), vec![1, 2, 3]);
    assert_eq!(fetch(&log, &name, 1, 4, 4, 100), (vec![], None));

    assert_eq!(
        log.offset_for_timestamp(&name, 1, 1_700_000_000_400)
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        log.offset_for_timestamp(&name, 1, 1_800_000_000_000)
            .unwrap(),
        None
    );
}

#[test]
fn a_keyed_record_lands_where_librdkafkas_java_compatible_partitioner_puts_it() {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

    let bootstrap = kafka::one_node();
    let log = connect(&bootstrap);
    let name = topic(&log, "placement", 6, 1);
    // An independent producer partitions by itself, as Java's client does (murmur2).
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("partitioner", "murmur2_random")
        .create()
        .unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("sensor-{i}")).collect();
    for k in &keys {
        producer
            .send(BaseRecord::to(&name).key(k).payload(k))
            .unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let mut seen = 0;
    let mut used = std::collections::BTreeSet::new();
    for p in 0..6 {
        let end = offsets(&log, &name, p).1;
        for r in fetch(&log, &name, p, 0, end, 1000).0 {
            let key = r.key.unwrap();
            assert_eq!(
                log.partition_for(&name, Some(&key)).unwrap(),
                p,
                "key {key:?}"
            );
            seen += 1;
            used.insert(p);
        }
    }
    assert_eq!(seen, keys.len());
    assert!(used.len() > 1, "40 keys all in one partition: {used:?}");

    // And kql's own produce puts a key in that same partition.
    let meta = log
        .produce(
            &name,
            ProducerRecord::new(
                Some(Bytes::from_static(b"sensor-7")),
                Some(Bytes::from_static(b"x")),
            ),
            Acks::All,
        )
        .unwrap();
    let end = offsets(&log, &name, meta.partition).1;
    let records = fetch(&log, &name, meta.partition, 0, end, 1000).0;
    assert_eq!(
        records
            .iter()
            .filter(|r| r.key.as_deref() == Some(&b"sensor-7"[..]))
            .count(),
        2
    );
}

#[test]
fn committed_offsets_are_read_back_and_described_with_their_lag() {
    let log = connect(&kafka::one_node());
    let name = topic(&log, "groups", 2, 1);
    let records: Vec<ProducerRef> = (0..5)
        .map(|_| ProducerRef {
            key: None,
            value: Some(b"v"),
            timestamp_ms: None,
            headers: &[],
        })
        .collect();
    log.produce_batch(&name, 0, &records, Acks::All).unwrap();
    let group = unique("app-query");
    assert_eq!(log.committed_offset(&group, &name, 0).unwrap(), None);
    log.commit_offset(&group, &name, 0, 3).unwrap();
    assert_eq!(log.committed_offset(&group, &name, 0).unwrap(), Some(3));
    assert!(log.group_names().contains(&group));

    let info = log.describe_group(&group).unwrap();
    assert_eq!(info.members, vec![]);
    assert_eq!(info.partitions.len(), 1);
    let p = &info.partitions[0];
    assert_eq!((p.topic.as_str(), p.partition), (name.as_str(), 0));
    assert_eq!(
        (p.committed, p.log_end_offset, p.lag),
        (Some(3), 5, Some(2))
    );

    let nobody = unique("nobody");
    assert_eq!(
        log.describe_group(&nobody),
        Err(LogError::UnknownGroup(nobody.clone()))
    );
}

#[test]
fn an_unreachable_cluster_is_an_error_naming_its_address_within_the_timeout() {
    let address = kafka::address_nobody_listens_on();
    let mut settings = KafkaSettings::new(&address);
    settings.timeout = Duration::from_secs(2);
    let started = Instant::now();
    let e = KafkaLog::connect(settings)
        .err()
        .expect("nothing answers there");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    match &e {
        LogError::Unreachable {
            servers,
            timeout_ms,
            ..
        } => {
            assert_eq!((servers.as_str(), *timeout_ms), (address.as_str(), 2000));
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(
        e.to_string().starts_with(&format!(
            "no Kafka broker answered at {address} within 2000 ms"
        )),
        "{e}"
    );
}

#[test]
fn an_unknown_client_property_is_a_configuration_error() {
    let mut settings = KafkaSettings::new(&kafka::one_node());
    settings.set_property("no.such.property", "1").unwrap();
    match KafkaLog::connect(settings) {
        Err(LogError::InvalidConfig(why)) => assert!(why.contains("no.such.property"), "{why}"),
        Err(other) => panic!("expected InvalidConfig, got {other:?}"),
        Ok(_) => panic!("an unknown property was accepted"),
    }
}

#[test]
fn more_replicas_than_brokers_is_refused_with_both_counts() {
    let log = connect(&kafka::one_node());
    let e = log
        .create_topic(
            &unique("too-many-replicas"),
            TopicConfig {
                partitions: 1,
                replicas: 3,
                ..TopicConfig::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e,
        LogError::InvalidReplicationFactor {
            replicas: 3,
            brokers: 1
        }
    );
}

#[test]
fn on_three_brokers_a_topic_has_three_replicas_in_sync_and_min_insync_two() {
    let log = connect(&kafka::three_nodes());
    let name = topic(&log, "replicated", 3, 3);
    let info = log.describe_topic(&name).unwrap();
    assert_eq!(info.config.replicas, 3);
    assert_eq!(info.config.min_insync_replicas, 2, "the cluster's default");
    let mut leaders = std::collections::BTreeSet::new();
    for p in &info.partitions {
        let mut replicas = p.replicas.clone();
        replicas.sort();
        assert_eq!(replicas, vec![1, 2, 3]);
        assert_eq!(p.isr.len(), 3);
        leaders.insert(p.leader.unwrap());
    }
    assert_eq!(leaders.len(), 3, "leadership is spread: {leaders:?}");
    let first = log
        .produce_batch(
            &name,
            2,
            &[ProducerRef {
                key: Some(b"k"),
                value: Some(b"v"),
                timestamp_ms: None,
                headers: &[],
            }],
            Acks::All,
        )
        .unwrap();
    assert_eq!(first, 0);
    assert_eq!(offsets(&log, &name, 2), (0, 1));
}

#[test]
fn a_record_timestamp_of_zero_is_refused_rather_than_rewritten_as_now() {
    let log = connect(&kafka::one_node());
    let name = topic(&log, "epoch", 1, 1);
    let mut record = ProducerRecord::new(None, Some(Bytes::from_static(b"v")));
    record.timestamp_ms = Some(0);
    match log.produce(&name, record, Acks::All) {
        Err(LogError::Client(why)) => assert!(why.contains("timestamp of 0"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(offsets(&log, &name, 0), (0, 0), "nothing was written");
}
