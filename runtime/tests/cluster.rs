//! The cluster through its public API: placement, produce and fetch, durability across
//! reopen, acks and min.insync.replicas, broker stop/start with re-replication.

use bytes::Bytes;
use kql_runtime::*;

fn rec(k: &str, v: &str) -> ProducerRecord {
    ProducerRecord::new(
        Some(Bytes::from(k.to_string())),
        Some(Bytes::from(v.to_string())),
    )
}

fn values(c: &Cluster, t: &str, p: u32) -> Vec<String> {
    c.fetch(t, p, c.offsets(t, p).unwrap().0, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap())
        .collect()
}

#[test]
fn keyed_records_land_where_kafka_puts_them_and_offsets_are_dense() {
    let c = Cluster::in_memory(1);
    let cfg = TopicConfig {
        partitions: 3,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    let mut offsets = Vec::new();
    for _ in 0..3 {
        let m = c.produce("t", rec("foobar", "v"), Acks::All).unwrap();
        assert_eq!(m.partition, 1357151166 % 3);
        offsets.push(m.offset);
    }
    assert_eq!(offsets, vec![0, 1, 2]);
    let got = c.fetch("t", 1357151166 % 3, 1, 10).unwrap();
    assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![1, 2]);
    assert!(c.fetch("t", 0, 99, 10).unwrap().is_empty());
}

#[test]
fn bad_requests_are_errors_with_clear_messages() {
    let c = Cluster::in_memory(3);
    let e = c
        .create_topic(
            "t",
            TopicConfig {
                replicas: 4,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e,
        LogError::InvalidReplicationFactor {
            replicas: 4,
            brokers: 3
        }
    );
    assert!(e.to_string().contains('4') && e.to_string().contains('3'));
    assert!(matches!(
        c.fetch("nope", 0, 0, 1),
        Err(LogError::UnknownTopic(_))
    ));
    assert!(c.create_topic("a/b", TopicConfig::default()).is_err());
    assert!(matches!(
        c.stop_broker(9),
        Err(LogError::UnknownBroker { broker: 9, .. })
    ));
}

#[test]
fn a_durable_cluster_finds_topics_and_records_after_reopen() {
    let d = tempfile::tempdir().unwrap();
    let settings = Settings {
        segment_bytes: 256,
        ..Settings::default()
    };
    {
        let c = Cluster::open(d.path(), 3, settings.clone()).unwrap();
        let cfg = TopicConfig {
            partitions: 2,
            replicas: 2,
            retention_ms: Some(1000),
            ..Default::default()
        };
        c.create_topic("orders", cfg).unwrap();
        for i in 0..50 {
            let r = rec("k", &format!("v{i}"));
            c.produce_batch("orders", 1, vec![r], Acks::All).unwrap();
        }
    }
    let c = Cluster::open(d.path(), 3, settings).unwrap();
    assert_eq!(c.topic_names(), vec!["orders".to_string()]);
    let info = c.describe_topic("orders").unwrap();
    assert_eq!(info.config.retention_ms, Some(1000));
    assert_eq!(info.partitions[1].log_end_offset, 50);
    assert_eq!(info.partitions[1].high_watermark, 50);
    assert_eq!(info.partitions[1].replicas, vec![2, 3]);
    assert_eq!(values(&c, "orders", 1)[49], "v49");
}

#[test]
fn placement_is_round_robin_and_brokers_report_counts() {
    let c = Cluster::in_memory(3);
    let cfg = TopicConfig {
        partitions: 3,
        replicas: 2,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    let info = c.describe_topic("t").unwrap();
    let reps: Vec<Vec<u32>> = info.partitions.iter().map(|p| p.replicas.clone()).collect();
    assert_eq!(reps, vec![vec![1, 2], vec![2, 3], vec![3, 1]]);
    let leaders: Vec<Option<u32>> = info.partitions.iter().map(|p| p.leader).collect();
    assert_eq!(leaders, vec![Some(1), Some(2), Some(3)]);
    for b in c.brokers() {
        assert_eq!((b.alive, b.leader_count, b.replica_count), (true, 1, 2));
    }
}

#[test]
fn a_stopped_leader_hands_over_and_its_replica_moves_to_a_healthy_broker() {
    let c = Cluster::in_memory(3);
    let cfg = TopicConfig {
        replicas: 2,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    for i in 0..10 {
        c.produce("t", rec("k", &format!("v{i}")), Acks::All)
            .unwrap();
    }
    c.stop_broker(1).unwrap();
    let p = &c.describe_topic("t").unwrap().partitions[0];
    assert_eq!(p.leader, Some(2));
    assert_eq!(p.replicas, vec![3, 2]);
    assert_eq!(p.isr, vec![2, 3]);
    assert_eq!(p.high_watermark, 10);
    // Broker 3 has the data: stop 2 and 3 leads with all ten records.
    c.stop_broker(2).unwrap();
    let p = &c.describe_topic("t").unwrap().partitions[0];
    assert_eq!(p.leader, Some(3));
    assert_eq!(values(&c, "t", 0).len(), 10);
    let b = c.brokers();
    assert_eq!((b[0].alive, b[1].alive, b[2].alive), (false, false, true));
    assert_eq!(b[2].leader_count, 1);
}

#[test]
fn min_insync_replicas_is_honoured_and_a_restarted_broker_rejoins() {
    let c = Cluster::in_memory(2);
    let cfg = TopicConfig {
        replicas: 2,
        min_insync_replicas: 2,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    c.produce("t", rec("k", "a"), Acks::All).unwrap();
    c.stop_broker(2).unwrap();
    let e = c.produce("t", rec("k", "b"), Acks::All).unwrap_err();
    assert!(matches!(
        e,
        LogError::NotEnoughReplicas {
            isr: 1,
            min_insync: 2,
            ..
        }
    ));
    assert!(e.to_string().contains("NOT_ENOUGH_REPLICAS"));
    // acks=1 still works with one replica in sync.
    c.produce("t", rec("k", "c"), Acks::Leader).unwrap();
    c.start_broker(2).unwrap();
    let p = &c.describe_topic("t").unwrap().partitions[0];
    assert_eq!(p.isr, vec![1, 2]);
    c.produce("t", rec("k", "d"), Acks::All).unwrap();
    c.stop_broker(1).unwrap();
    assert_eq!(values(&c, "t", 0), vec!["a", "c", "d"]);
}

#[test]
fn acks_1_loses_a_record_whose_leader_stops_before_a_follower_copies_it() {
    let c = Cluster::in_memory(2);
    let cfg = TopicConfig {
        replicas: 2,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    let leader = c.describe_topic("t").unwrap().partitions[0].leader.unwrap();
    c.produce("t", rec("k", "all"), Acks::All).unwrap();
    // Read by a consumer: the follower fetched it first, so it survives the leader.
    c.produce("t", rec("k", "one-read"), Acks::Leader).unwrap();
    let p = &c.describe_topic("t").unwrap().partitions[0];
    assert_eq!(
        (p.high_watermark, p.log_end_offset),
        (1, 2),
        "only the leader has it"
    );
    assert_eq!(values(&c, "t", 0), vec!["all", "one-read"]);
    // Not read before the leader stops: only the leader had it.
    c.produce("t", rec("k", "one-lost"), Acks::Leader).unwrap();
    c.produce("t", rec("k", "zero-lost"), Acks::None).unwrap();
    c.stop_broker(leader).unwrap();
    assert_eq!(values(&c, "t", 0), vec!["all", "one-read"]);
    // The old leader comes back, is cut to the new leader's log, and stays in step.
    c.start_broker(leader).unwrap();
    c.stop_broker(3 - leader).unwrap();
    assert_eq!(values(&c, "t", 0), vec!["all", "one-read"]);
    c.produce("t", rec("k", "after"), Acks::All).unwrap();
    assert_eq!(values(&c, "t", 0), vec!["all", "one-read", "after"]);
}

#[test]
fn a_partition_with_no_live_in_sync_replica_is_offline_until_one_returns() {
    let c = Cluster::in_memory(1);
    c.create_topic("t", TopicConfig::default()).unwrap();
    c.produce("t", rec("k", "a"), Acks::All).unwrap();
    c.stop_broker(1).unwrap();
    assert!(matches!(
        c.produce("t", rec("k", "b"), Acks::All),
        Err(LogError::LeaderNotAvailable { .. })
    ));
    c.start_broker(1).unwrap();
    assert_eq!(values(&c, "t", 0), vec!["a"]);
}

#[test]
fn retention_moves_the_log_start_on_every_replica() {
    let c = Cluster::in_memory_with(
        2,
        Settings {
            segment_bytes: 200,
            ..Settings::default()
        },
    );
    let cfg = TopicConfig {
        replicas: 2,
        retention_bytes: Some(400),
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    for i in 0..40 {
        let r = rec("k", &format!("value-{i}")).with_timestamp(i);
        c.produce("t", r, Acks::All).unwrap();
    }
    let report = c.enforce_retention(1_000).unwrap();
    assert!(report.segments_deleted > 0);
    let (start, hw, end) = c.offsets("t", 0).unwrap();
    assert!(start > 0 && hw == 40 && end == 40);
    assert!(c.describe_topic("t").unwrap().partitions[0].size_bytes <= 600);
    assert!(matches!(
        c.fetch("t", 0, 0, 1),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    // Failover after retention: the follower's log starts where the leader's does.
    c.stop_broker(1).unwrap();
    assert_eq!(c.offsets("t", 0).unwrap().0, start);
}

#[test]
fn a_compacted_topic_keeps_the_latest_value_per_key_on_every_replica() {
    let c = Cluster::in_memory_with(
        2,
        Settings {
            segment_bytes: 150,
            ..Settings::default()
        },
    );
    let cfg = TopicConfig {
        replicas: 2,
        cleanup_policy: CleanupPolicy::Compact,
        delete_retention_ms: 100,
        ..Default::default()
    };
    c.create_topic("table", cfg).unwrap();
    for i in 0..30 {
        let r = rec(&format!("k{}", i % 3), &format!("v{i}")).with_timestamp(i);
        c.produce("table", r, Acks::All).unwrap();
    }
    let tomb = ProducerRecord::new(Some(Bytes::from("k0")), None).with_timestamp(30);
    c.produce("table", tomb, Acks::All).unwrap();
    for i in 0..10 {
        let r = rec("pad", &format!("p{i}")).with_timestamp(40 + i);
        c.produce("table", r, Acks::All).unwrap();
    }
    let report = c.enforce_retention(1_000).unwrap();
    assert!(report.records_compacted_away > 0);
    let latest = |c: &Cluster| -> Vec<(String, Option<String>)> {
        c.fetch("table", 0, 0, usize::MAX)
            .unwrap()
            .into_iter()
            .filter(|r| r.key.as_deref() != Some(&b"pad"[..]))
            .map(|r| {
                let s = |b: Bytes| String::from_utf8(b.to_vec()).unwrap();
                (s(r.key.unwrap()), r.value.map(s))
            })
            .collect()
    };
    let want = vec![
        ("k1".to_string(), Some("v28".to_string())),
        ("k2".to_string(), Some("v29".to_string())),
    ];
    assert_eq!(latest(&c), want, "k0's old tombstone is gone too");
    c.stop_broker(1).unwrap();
    assert_eq!(latest(&c), want, "the follower compacted the same way");
}

#[test]
fn the_cluster_is_shared_between_threads() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    fn assert_movable<T: Send + 'static>() {}
    assert_shareable::<Cluster>();
    assert_movable::<Consumer>();
    let d = tempfile::tempdir().unwrap();
    let c = Cluster::open(d.path(), 3, Settings::default()).unwrap();
    let cfg = TopicConfig {
        partitions: 4,
        replicas: 3,
        min_insync_replicas: 2,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let r = rec(&format!("w{w}-{i}"), "v");
                    c.produce("t", r, Acks::All).unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let c = c.clone();
        std::thread::spawn(move || {
            for _ in 0..50 {
                for p in 0..4 {
                    let got = c.fetch("t", p, 0, usize::MAX).unwrap();
                    let (start, hw, end) = c.offsets("t", p).unwrap();
                    assert!(start <= hw && hw <= end);
                    // Fetched before the HW was read, and the HW only grows.
                    assert!(got.len() as u64 <= hw);
                    assert!(got.iter().enumerate().all(|(i, r)| r.offset == i as u64));
                }
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    c.stop_broker(2).unwrap();
    let total: u64 = (0..4).map(|p| c.offsets("t", p).unwrap().1).sum();
    assert_eq!(total, 800);
}

#[test]
fn a_directory_is_opened_by_one_cluster_at_a_time() {
    let d = tempfile::tempdir().unwrap();
    let c = Cluster::open(d.path(), 1, Settings::default()).unwrap();
    let e = Cluster::open(d.path(), 1, Settings::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("in use"), "{e}");
    drop(c);
    Cluster::open(d.path(), 1, Settings::default()).unwrap();
}

#[test]
fn a_broken_metadata_file_is_an_error_not_a_panic() {
    let d = tempfile::tempdir().unwrap();
    {
        let c = Cluster::open(d.path(), 2, Settings::default()).unwrap();
        let cfg = TopicConfig {
            replicas: 2,
            ..Default::default()
        };
        c.create_topic("t", cfg).unwrap();
    }
    let p = d.path().join("cluster.json");
    let good = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        good.replace("\"replicas\": [\n", "\"replicas\": [\n        9,\n"),
    )
    .unwrap();
    let e = Cluster::open(d.path(), 2, Settings::default())
        .err()
        .unwrap();
    assert!(matches!(e, LogError::Corrupt(_)), "{e}");
    std::fs::write(&p, "{ not json").unwrap();
    let e = Cluster::open(d.path(), 2, Settings::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("cluster.json"), "{e}");
}

#[test]
fn fetch_batches_reads_what_fetch_reads_without_a_copy_per_record() {
    let c = Cluster::in_memory(1);
    c.create_topic("t", TopicConfig::default()).unwrap();
    for i in 0..5 {
        let rs = (0..10).map(|j| rec("k", &format!("v{i}-{j}"))).collect();
        c.produce_batch("t", 0, rs, Acks::All).unwrap();
    }
    let batches = c.fetch_batches("t", 0, 15, 20).unwrap();
    let views: Vec<Record> = batches
        .iter()
        .flat_map(|b| {
            b.iter()
                .map(|v| b.to_record(&v.unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    // Whole batches until at least 20 records from 15: [10, 20) gives 5, [20, 30) 10,
    // [30, 40) 10.
    assert_eq!(batches.len(), 3);
    assert_eq!(views, c.fetch("t", 0, 15, 25).unwrap());
    assert!(c.fetch_batches("t", 0, 99, 10).unwrap().is_empty());
}

#[test]
fn the_maintenance_thread_applies_retention_and_ends_with_the_cluster() {
    let c = Cluster::in_memory_with(
        1,
        Settings {
            segment_bytes: 150,
            ..Settings::default()
        },
    );
    let cfg = TopicConfig {
        retention_bytes: Some(300),
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    for i in 0..40 {
        let r = rec("k", &format!("value-{i}"));
        c.produce("t", r, Acks::All).unwrap();
    }
    let handle = c
        .spawn_maintenance(std::time::Duration::from_millis(5))
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while c.offsets("t", 0).unwrap().0 == 0 {
        assert!(std::time::Instant::now() < deadline, "retention never ran");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(c.maintenance_error().is_none());
    drop(c);
    handle.join().unwrap();
}

#[test]
fn fetch_batches_checks_the_crc_of_batches_read_from_files() {
    let d = tempfile::tempdir().unwrap();
    let c = Cluster::open(d.path(), 1, Settings::default()).unwrap();
    c.create_topic("t", TopicConfig::default()).unwrap();
    let rs = (0..10).map(|j| rec("k", &format!("value-{j}"))).collect();
    c.produce_batch("t", 0, rs, Acks::All).unwrap();
    assert_eq!(
        c.fetch_batches("t", 0, 0, 10).unwrap()[0].iter().count(),
        10
    );
    // A byte of a value changes on disk under the open cluster (bit rot, another writer).
    let log = d.path().join("broker-1/t-0/00000000000000000000.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 0x20;
    std::fs::write(&log, &bytes).unwrap();
    let e = c.fetch_batches("t", 0, 0, 10).unwrap_err();
    assert!(matches!(e, LogError::Corrupt(_)), "{e}");
}

#[test]
fn a_cursor_takes_records_in_runs_across_batches_within_the_range() {
    let c = Cluster::in_memory(1);
    c.create_topic("t", TopicConfig::default()).unwrap();
    for i in 0..4 {
        let rs = (0..10)
            .map(|j| rec("k", &format!("{}", i * 10 + j)))
            .collect();
        c.produce_batch("t", 0, rs, Acks::All).unwrap();
    }
    // From 5 (inside the first batch) to 33 (inside the last).
    let mut batches = c.fetch_batches("t", 0, 5, 100).unwrap();
    for b in &mut batches {
        b.limit(33);
    }
    let mut cursor = RecordCursor::new(batches);
    assert_eq!(cursor.peek_offset().unwrap(), Some(5));
    let value = |v: RecordView| String::from_utf8(v.value.unwrap().to_vec()).unwrap();
    let run: Vec<String> = cursor.take(7).map(|v| value(v.unwrap())).collect();
    assert_eq!(run, (5..12).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(cursor.peek_offset().unwrap(), Some(12));
    let (v, batch) = cursor.next_record().unwrap().unwrap();
    assert_eq!((v.offset, batch.base_offset()), (12, 10));
    let key = batch.owned(v.key.unwrap());
    assert_eq!(&key[..], b"k");
    let rest: Vec<u64> = cursor.take(100).map(|v| v.unwrap().offset).collect();
    assert_eq!(rest, (13..33).collect::<Vec<_>>());
    assert!(!cursor.has_next().unwrap());
    assert!(cursor.next_record().is_none());
    assert_eq!(cursor.taken(), 28);
}

/// A closed three-broker directory whose topic `t` holds "v0".."v39" in one-record batches
/// on three replicas, over segments of 300 bytes (the settings to open it with).
fn forty_records_on_three_replicas() -> (tempfile::TempDir, Settings) {
    let d = tempfile::tempdir().unwrap();
    let settings = Settings {
        segment_bytes: 300,
        ..Settings::default()
    };
    {
        let c = Cluster::open(d.path(), 3, settings.clone()).unwrap();
        let cfg = TopicConfig {
            replicas: 3,
            ..Default::default()
        };
        c.create_topic("t", cfg).unwrap();
        for i in 0..40 {
            c.produce("t", rec("k", &format!("v{i}")), Acks::All)
                .unwrap();
        }
    }
    (d, settings)
}

/// One flipped bit in a replica's batch header. The damaged replica
/// does not lead, is rebuilt from an intact one, and nothing is lost on any replica.
#[test]
fn a_damaged_replica_is_rebuilt_from_an_intact_one_and_never_leads() {
    let (d, settings) = forty_records_on_three_replicas();
    let leader = 1; // partition 0's first replica
    let seg = d
        .path()
        .join(format!("broker-{leader}/t-0/00000000000000000000.log"));
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[6] ^= 0x04; // the first batch's base offset
    std::fs::write(&seg, &bytes).unwrap();
    let c = Cluster::open(d.path(), 3, settings).unwrap();
    let info = c.describe_topic("t").unwrap();
    assert_ne!(info.partitions[0].leader, Some(leader));
    assert_eq!(info.partitions[0].isr.len(), 3);
    let want: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
    assert_eq!(values(&c, "t", 0), want);
    let reports = c.storage_reports();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let r = reports[0].to_string();
    assert!(!reports[0].lost);
    assert!(
        r.starts_with(
            "topic 't' partition 0 (broker 1): broker-1/t-0/00000000000000000000.log bytes 0.."
        ),
        "{r}"
    );
    assert!(r.contains("offsets 0..1: checksum mismatch"), "{r}");
    assert!(r.contains("copied again from the intact replica"), "{r}");
    // The rebuilt replica holds the data again: stop the others and read from it.
    c.stop_broker(2).unwrap();
    c.stop_broker(3).unwrap();
    assert_eq!(c.describe_topic("t").unwrap().partitions[0].leader, Some(1));
    assert_eq!(values(&c, "t", 0), want);
}

/// Every replica damaged, each in another batch: the leader is written again from the
/// intact batches of all three, so nothing is lost; a batch damaged on every replica is
/// reported lost with its offsets, and the rest is read back.
#[test]
fn when_every_replica_is_damaged_elsewhere_the_leader_is_rebuilt_from_all_of_them() {
    let (d, settings) = forty_records_on_three_replicas();
    let seg = |b: u32| {
        d.path()
            .join(format!("broker-{b}/t-0/00000000000000000000.log"))
    };
    let flip_batch = |b: u32, nth: usize| {
        // One-record batches of equal size: the nth batch's first byte.
        let mut bytes = std::fs::read(seg(b)).unwrap();
        let batch_len = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize + 12;
        bytes[nth * batch_len + 20] ^= 0x01;
        std::fs::write(seg(b), &bytes).unwrap();
    };
    flip_batch(1, 0);
    flip_batch(2, 1);
    flip_batch(3, 2);
    let want: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
    {
        let c = Cluster::open(d.path(), 3, settings.clone()).unwrap();
        assert_eq!(values(&c, "t", 0), want);
        let reports = c.storage_reports();
        assert_eq!(reports.len(), 3, "{reports:?}");
        assert!(reports.iter().all(|r| !r.lost), "{reports:?}");
        let merged = reports
            .iter()
            .filter(|r| r.action.contains("written again from the intact batches"))
            .count();
        assert_eq!(merged, 1, "{reports:?}");
        // Every replica holds every record again.
        c.stop_broker(1).unwrap();
        c.stop_broker(2).unwrap();
        assert_eq!(values(&c, "t", 0), want);
    }
    // Now batch 3 on every replica, and batch 1 on one: only offset 3 is lost.
    for b in 1..=3 {
        flip_batch(b, 3);
    }
    flip_batch(2, 1);
    let c = Cluster::open(d.path(), 3, settings).unwrap();
    let mut want = want;
    want.remove(3);
    assert_eq!(values(&c, "t", 0), want);
    let lost: Vec<String> = c
        .storage_reports()
        .iter()
        .filter(|r| r.lost)
        .map(|r| r.offsets.clone())
        .collect();
    assert_eq!(lost, vec!["3..4"]);
}

/// Damage under an open cluster on the leader, then a follower's broker stops: its replica
/// is copied to the spare broker from another in-sync replica where the leader's batch is
/// damaged, the stop succeeds, and the copy holds every record.
#[test]
fn a_replica_moved_to_a_spare_broker_skips_the_leaders_damaged_batch() {
    let d = tempfile::tempdir().unwrap();
    let c = Cluster::open(d.path(), 4, Settings::default()).unwrap();
    let cfg = TopicConfig {
        replicas: 3,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    for j in 0..10 {
        c.produce("t", rec("k", &format!("v{j}")), Acks::All)
            .unwrap();
    }
    let info = c.describe_topic("t").unwrap().partitions[0].clone();
    assert_eq!(
        (info.leader, info.replicas.clone()),
        (Some(1), vec![1, 2, 3])
    );
    let log = d.path().join("broker-1/t-0/00000000000000000000.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x08;
    std::fs::write(&log, &bytes).unwrap();
    c.stop_broker(3).unwrap();
    let info = c.describe_topic("t").unwrap().partitions[0].clone();
    assert_eq!(info.replicas, vec![1, 2, 4]);
    assert!(info.isr.contains(&4), "{info:?}");
    let r: Vec<String> = c.storage_reports().iter().map(|r| r.to_string()).collect();
    assert!(
        r.iter()
            .any(|r| r.contains("took these batches from the in-sync replica on broker 2")),
        "{r:?}"
    );
    assert!(r.iter().any(|r| r.contains("broker-1/t-0")), "{r:?}");
    c.stop_broker(1).unwrap();
    c.stop_broker(2).unwrap();
    let want: Vec<String> = (0..10).map(|j| format!("v{j}")).collect();
    assert_eq!(values(&c, "t", 0), want);
}

/// Damage that appears under an open cluster: the read is served by an in-sync replica.
#[test]
fn a_read_that_meets_damage_falls_back_to_an_intact_replica() {
    let d = tempfile::tempdir().unwrap();
    let c = Cluster::open(d.path(), 2, Settings::default()).unwrap();
    let cfg = TopicConfig {
        replicas: 2,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    let rs = (0..10).map(|j| rec("k", &format!("value-{j}"))).collect();
    c.produce_batch("t", 0, rs, Acks::All).unwrap();
    let leader = c.describe_topic("t").unwrap().partitions[0].leader.unwrap();
    let log = d
        .path()
        .join(format!("broker-{leader}/t-0/00000000000000000000.log"));
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 0x20;
    std::fs::write(&log, &bytes).unwrap();
    assert_eq!(values(&c, "t", 0).len(), 10);
    assert_eq!(
        c.fetch_batches("t", 0, 0, 10).unwrap()[0].iter().count(),
        10
    );
    let r = c.storage_reports()[0].to_string();
    assert!(r.contains("read from the in-sync replica on broker"), "{r}");
    assert!(r.contains("00000000000000000000.log byte 0"), "{r}");
}

/// A one-broker data directory with topic `name` holding one record "v".
fn one_record(name: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let c = Cluster::open(d.path(), 1, Settings::default()).unwrap();
    c.create_topic(name, TopicConfig::default()).unwrap();
    c.produce(name, rec("k", "v"), Acks::All).unwrap();
    d
}

#[test]
fn a_missing_metadata_file_refuses_to_open_and_deletes_nothing() {
    let d = one_record("t");
    std::fs::remove_file(d.path().join("cluster.json")).unwrap();
    let e = Cluster::open(d.path(), 1, Settings::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("cluster.json is missing"), "{e}");
    assert!(e.contains("broker-1/t-0"), "{e}");
    assert!(d
        .path()
        .join("broker-1/t-0/00000000000000000000.log")
        .exists());
}

#[test]
fn a_metadata_file_that_fails_its_checksum_is_refused() {
    let d = one_record("orders");
    let p = d.path().join("cluster.json");
    let text = std::fs::read_to_string(&p).unwrap();
    // One flipped bit renames the topic: its replica would look like a stray.
    std::fs::write(&p, text.replace("\"orders\"", "\"ordars\"")).unwrap();
    let e = Cluster::open(d.path(), 1, Settings::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("cluster.json fails its checksum"), "{e}");
    assert!(d.path().join("broker-1/orders-0").exists());
}

#[test]
fn a_metadata_file_of_the_first_format_is_still_read() {
    let d = one_record("t");
    let p = d.path().join("cluster.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    std::fs::write(&p, serde_json::to_vec_pretty(&v["cluster"]).unwrap()).unwrap();
    let c = Cluster::open(d.path(), 1, Settings::default()).unwrap();
    assert_eq!(values(&c, "t", 0), vec!["v".to_string()]);
}
