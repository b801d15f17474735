//! Consumer groups through the public API: assignment and rebalance, commits that
//! survive a reopen via `__consumer_offsets`, auto.offset.reset.

use bytes::Bytes;
use kql_runtime::*;

fn fill(c: &Cluster, topic: &str, partitions: u32, per_partition: u64) {
    let cfg = TopicConfig {
        partitions,
        ..Default::default()
    };
    c.create_topic(topic, cfg).unwrap();
    for p in 0..partitions {
        let rs = (0..per_partition)
            .map(|i| ProducerRecord::new(None, Some(Bytes::from(format!("{p}-{i}")))))
            .collect();
        c.produce_batch(topic, p, rs, Acks::All).unwrap();
    }
}

fn drain(c: &mut Consumer) -> usize {
    let mut n = 0;
    loop {
        let got = c.poll().unwrap();
        if got.is_empty() {
            return n;
        }
        n += got.len();
    }
}

#[test]
fn members_share_partitions_and_extras_stay_idle() {
    let c = Cluster::in_memory(1);
    fill(&c, "t", 3, 10);
    let mut a = Consumer::join(&c, "g", &["t"], ConsumerConfig::default()).unwrap();
    assert_eq!(a.assignment().unwrap().len(), 3);
    let mut b = Consumer::join(&c, "g", &["t"], ConsumerConfig::default()).unwrap();
    let mut others: Vec<Consumer> = (0..2)
        .map(|_| Consumer::join(&c, "g", &["t"], ConsumerConfig::default()).unwrap())
        .collect();
    let sizes: Vec<usize> = std::iter::once(&mut a)
        .chain(std::iter::once(&mut b))
        .chain(others.iter_mut())
        .map(|m| m.assignment().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![1, 1, 1, 0]);
    let info = c.describe_group("g").unwrap();
    assert_eq!(info.members.len(), 4);
    assert_eq!(info.generation, 4);
    drop(others);
    b.leave().unwrap();
    assert_eq!(a.assignment().unwrap().len(), 3);
    assert_eq!(drain(&mut a), 30);
    assert_eq!(c.groups(), vec!["g".to_string()]);
}

#[test]
fn commits_survive_a_reopen_and_lag_is_reported() {
    let d = tempfile::tempdir().unwrap();
    {
        let c = Cluster::open(d.path(), 1, Settings::default()).unwrap();
        fill(&c, "t", 2, 10);
        let cfg = ConsumerConfig {
            max_poll_records: 4,
            ..Default::default()
        };
        let mut a = Consumer::join(&c, "g", &["t"], cfg).unwrap();
        assert_eq!(a.poll().unwrap().len(), 4);
        a.commit().unwrap();
        let info = c.describe_group("g").unwrap();
        let p0 = &info.partitions[0];
        assert_eq!(p0.committed, Some(4));
        assert_eq!((p0.log_end_offset, p0.lag), (10, Some(6)));
        assert_eq!(p0.owner.as_deref(), Some(a.member_id()));
    }
    let c = Cluster::open(d.path(), 1, Settings::default()).unwrap();
    assert_eq!(c.committed_offset("g", "t", 0), Some(4));
    assert!(c
        .all_topic_names()
        .contains(&"__consumer_offsets".to_string()));
    assert!(!c.topic_names().contains(&"__consumer_offsets".to_string()));
    let mut a = Consumer::join(&c, "g", &["t"], ConsumerConfig::default()).unwrap();
    assert_eq!(a.position("t", 0), Some(4));
    assert_eq!(drain(&mut a), 16);
}

#[test]
fn auto_offset_reset_earliest_latest_none() {
    let c = Cluster::in_memory(1);
    fill(&c, "t", 1, 5);
    let with = |r: OffsetReset| ConsumerConfig {
        auto_offset_reset: r,
        ..Default::default()
    };
    let mut e = Consumer::join(&c, "e", &["t"], with(OffsetReset::Earliest)).unwrap();
    assert_eq!(drain(&mut e), 5);
    let mut l = Consumer::join(&c, "l", &["t"], with(OffsetReset::Latest)).unwrap();
    assert_eq!(drain(&mut l), 0);
    c.produce(
        "t",
        ProducerRecord::new(None, Some(Bytes::from("x"))),
        Acks::All,
    )
    .unwrap();
    assert_eq!(drain(&mut l), 1);
    let err = Consumer::join(&c, "n", &["t"], with(OffsetReset::None))
        .err()
        .unwrap();
    assert!(matches!(err, LogError::NoOffsetForPartition { .. }));
    assert!(err.to_string().contains("auto.offset.reset"));
    assert_eq!(
        "LATEST".parse::<OffsetReset>().unwrap(),
        OffsetReset::Latest
    );
    assert!("sideways".parse::<OffsetReset>().is_err());
}

#[test]
fn a_committed_offset_below_the_log_start_resets() {
    let c = Cluster::in_memory_with(
        1,
        Settings {
            segment_bytes: 150,
            ..Settings::default()
        },
    );
    let cfg = TopicConfig {
        retention_bytes: Some(0),
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    for i in 0..20 {
        let r = ProducerRecord::new(None, Some(Bytes::from(format!("value-{i}"))));
        c.produce_batch("t", 0, vec![r], Acks::All).unwrap();
    }
    c.commit_offset("g", "t", 0, 1).unwrap();
    c.enforce_retention(0).unwrap();
    let start = c.offsets("t", 0).unwrap().0;
    assert!(start > 1);
    let mut a = Consumer::join(&c, "g", &["t"], ConsumerConfig::default()).unwrap();
    assert_eq!(a.position("t", 0), Some(start));
    assert_eq!(drain(&mut a) as u64, 20 - start);
    let none = ConsumerConfig {
        auto_offset_reset: OffsetReset::None,
        ..Default::default()
    };
    drop(a);
    let e = Consumer::join(&c, "g", &["t"], none).err().unwrap();
    assert!(matches!(e, LogError::OffsetOutOfRange { .. }));
}

#[test]
fn a_commit_from_a_stale_generation_fails() {
    let c = Cluster::in_memory(1);
    fill(&c, "t", 2, 3);
    let mut a = Consumer::join(&c, "g", &["t"], ConsumerConfig::default()).unwrap();
    a.poll().unwrap();
    let _b = Consumer::join(&c, "g", &["t"], ConsumerConfig::default()).unwrap();
    assert!(matches!(a.commit(), Err(LogError::CommitFailed { .. })));
    a.poll().unwrap();
    a.commit().unwrap();
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        /// Random joins and leaves: after each, every partition is owned by exactly one
        /// member (while there is one), and no member owns more than one partition more
        /// than another.
        #[test]
        fn every_partition_has_exactly_one_owner(
            steps in prop::collection::vec(any::<bool>(), 1..20),
            partitions in 1u32..6,
        ) {
            let c = Cluster::in_memory(1);
            let cfg = TopicConfig { partitions, ..Default::default() };
            c.create_topic("t", cfg).unwrap();
            let mut members: Vec<Consumer> = Vec::new();
            for join in steps {
                if join || members.is_empty() {
                    members.push(Consumer::join(&c, "g", &["t"], ConsumerConfig::default()).unwrap());
                } else {
                    members.remove(0).leave().unwrap();
                }
                let mut owned = Vec::new();
                let mut sizes = Vec::new();
                for m in members.iter_mut() {
                    let a = m.assignment().unwrap();
                    sizes.push(a.len());
                    owned.extend(a);
                }
                owned.sort();
                let want: Vec<(String, u32)> = (0..partitions).map(|p| ("t".to_string(), p)).collect();
                if members.is_empty() {
                    continue;
                }
                prop_assert_eq!(owned, want);
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                prop_assert!(hi - lo <= 1);
            }
        }
    }
}

#[test]
fn a_member_keeps_its_position_in_partitions_it_keeps_across_a_rebalance() {
    let c = Cluster::in_memory(1);
    fill(&c, "t", 2, 10);
    let cfg = ConsumerConfig {
        max_poll_records: 3,
        ..Default::default()
    };
    let mut a = Consumer::join(&c, "g", &["t"], cfg).unwrap();
    let first = a.poll().unwrap();
    assert_eq!(first.len(), 3);
    assert_eq!(first[0].partition, 0);
    // b joins: range assignment gives a partition 0 and b partition 1.
    let mut b = Consumer::join(&c, "g", &["t"], ConsumerConfig::default()).unwrap();
    assert_eq!(a.assignment().unwrap(), vec![("t".to_string(), 0)]);
    assert_eq!(b.assignment().unwrap(), vec![("t".to_string(), 1)]);
    assert_eq!(
        a.position("t", 0),
        Some(3),
        "no re-read of what a already polled"
    );
    assert_eq!(
        drain(&mut b),
        10,
        "b starts partition 1 from the (absent) commit"
    );
    assert_eq!(drain(&mut a), 7);
}

#[test]
fn a_consumer_polling_while_a_producer_writes_sees_every_record_once_in_order() {
    let c = Cluster::in_memory(1);
    let cfg = TopicConfig {
        partitions: 2,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    const N: u64 = 3000;
    let producer = {
        let c = c.clone();
        std::thread::spawn(move || {
            for i in 0..N {
                let r = ProducerRecord::new(None, Some(Bytes::from(i.to_string())));
                c.produce_batch("t", (i % 2) as u32, vec![r], Acks::All)
                    .unwrap();
            }
        })
    };
    let cfg = ConsumerConfig {
        max_poll_records: 7,
        ..Default::default()
    };
    let mut consumer = Consumer::join(&c, "g", &["t"], cfg).unwrap();
    let mut seen: Vec<Vec<u64>> = vec![Vec::new(), Vec::new()];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen.iter().map(|s| s.len() as u64).sum::<u64>() < N {
        // A skipped record would make this wait forever: fail instead.
        assert!(
            std::time::Instant::now() < deadline || !producer.is_finished(),
            "consumer stalled with {:?} records per partition",
            seen.iter().map(|s| s.len()).collect::<Vec<_>>()
        );
        for r in consumer.poll().unwrap() {
            let v: u64 = std::str::from_utf8(&r.record.value.unwrap())
                .unwrap()
                .parse()
                .unwrap();
            seen[r.partition as usize].push(v);
        }
    }
    producer.join().unwrap();
    assert!(consumer.poll().unwrap().is_empty());
    for (p, s) in seen.iter().enumerate() {
        let want: Vec<u64> = (0..N).filter(|i| i % 2 == p as u64).collect();
        assert_eq!(s, &want, "partition {p}");
    }
}
