//! Failover property test: random produces (acks all, leader or none; min.insync.replicas
//! 2), broker stops and starts, and (for a durable cluster) reopens. No record below the
//! high watermark is ever lost (every acks=all record is), a record acknowledged with acks=1
//! or 0 is lost exactly when its leader stops before a follower copied it, a refused one
//! is never written, the high watermark never passes the log end, and every live
//! partition's ISR holds its leader.

use bytes::Bytes;
use kql_runtime::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Produce to partition `k % 2` with acks chosen by `k / 2 % 3`.
    Produce(u8),
    Stop(u32),
    Start(u32),
    Reopen,
}

const BROKERS: u32 = 3;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => any::<u8>().prop_map(Op::Produce),
        2 => (1..=BROKERS).prop_map(Op::Stop),
        2 => (1..=BROKERS).prop_map(Op::Start),
        1 => Just(Op::Reopen),
    ]
}

fn settings() -> Settings {
    Settings {
        segment_bytes: 400,
        ..Settings::default()
    }
}

fn invariants(c: &Cluster) {
    for p in c.describe_topic("t").unwrap().partitions {
        assert!(p.high_watermark <= p.log_end_offset);
        if let Some(l) = p.leader {
            assert!(p.isr.contains(&l), "the leader is in sync: {p:?}");
            assert!(c.brokers()[l as usize - 1].alive);
        }
        assert_eq!(p.replicas.len(), 2, "the replication factor is kept");
    }
}

fn run(ops: Vec<Op>, durable: bool) {
    let d = tempfile::tempdir().unwrap();
    let open = || {
        if durable {
            Cluster::open(d.path(), BROKERS, settings()).unwrap()
        } else {
            Cluster::in_memory_with(BROKERS, settings())
        }
    };
    let mut c = open();
    let cfg = TopicConfig {
        partitions: 2,
        replicas: 2,
        min_insync_replicas: 2,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    let mut acked: Vec<Vec<(Bytes, Acks)>> = vec![Vec::new(), Vec::new()];
    let mut n = 0u32;
    for op in ops {
        match op {
            Op::Produce(k) => {
                n += 1;
                let p = (k % 2) as u32;
                let v = Bytes::from(format!("v{n}"));
                let r = ProducerRecord::new(None, Some(v.clone()));
                let acks = [Acks::All, Acks::Leader, Acks::None][(k / 2 % 3) as usize];
                match c.produce_batch("t", p, vec![r], acks) {
                    Ok(o) => {
                        assert_eq!(o, acked[p as usize].len() as u64);
                        acked[p as usize].push((v, acks));
                    }
                    Err(LogError::LeaderNotAvailable { .. }) => {}
                    // min.insync.replicas = 2 refuses acks=all, appending nothing.
                    Err(LogError::NotEnoughReplicas { .. }) => assert_eq!(acks, Acks::All),
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            Op::Stop(b) => {
                // A leader with an in-sync follower hands over to it: what only the leader
                // had (at or above the high watermark: acks=1 or 0, not yet copied) is lost.
                for p in c.describe_topic("t").unwrap().partitions {
                    if p.leader == Some(b) && p.isr.len() > 1 {
                        let log = &mut acked[p.partition as usize];
                        let lost = log.split_off((p.high_watermark as usize).min(log.len()));
                        assert!(lost.iter().all(|(_, a)| *a != Acks::All), "acks=all lost");
                    }
                }
                c.stop_broker(b).unwrap()
            }
            Op::Start(b) => c.start_broker(b).unwrap(),
            Op::Reopen if durable => {
                drop(c);
                c = open();
            }
            Op::Reopen => {}
        }
        invariants(&c);
    }
    for b in 1..=BROKERS {
        c.start_broker(b).unwrap();
    }
    invariants(&c);
    for (p, want) in acked.iter().enumerate() {
        let want: Vec<Bytes> = want.iter().map(|(v, _)| v.clone()).collect();
        let got: Vec<Bytes> = c
            .fetch("t", p as u32, 0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|r| r.value.unwrap())
            .collect();
        assert_eq!(
            got, want,
            "partition {p}: every acknowledged record, in order"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_acknowledged_record_is_lost_in_memory(ops in prop::collection::vec(op(), 1..60)) {
        run(ops, false);
    }

    #[test]
    fn no_acknowledged_record_is_lost_on_disk(ops in prop::collection::vec(op(), 1..30)) {
        run(ops, true);
    }
}

/// Producers on threads while another thread stops and starts brokers: no deadlock, no
/// panic, and every acknowledged record is there at the end.
#[test]
fn concurrent_produces_survive_broker_churn() {
    let c = Cluster::in_memory_with(BROKERS, settings());
    let cfg = TopicConfig {
        partitions: 2,
        replicas: 2,
        ..Default::default()
    };
    c.create_topic("t", cfg).unwrap();
    let producers: Vec<_> = (0..2u32)
        .map(|p| {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0..400 {
                    let v = Bytes::from(format!("{p}-{i}"));
                    let r = ProducerRecord::new(None, Some(v.clone()));
                    match c.produce_batch("t", p, vec![r], Acks::All) {
                        Ok(o) => acked.push((o, v)),
                        Err(LogError::LeaderNotAvailable { .. }) => {}
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                acked
            })
        })
        .collect();
    let churn = {
        let c = c.clone();
        std::thread::spawn(move || {
            for i in 0..30u32 {
                let b = i % BROKERS + 1;
                c.stop_broker(b).unwrap();
                std::thread::yield_now();
                c.start_broker(b).unwrap();
            }
        })
    };
    let acked: Vec<Vec<(u64, Bytes)>> = producers.into_iter().map(|h| h.join().unwrap()).collect();
    churn.join().unwrap();
    invariants(&c);
    for (p, want) in acked.iter().enumerate() {
        let got = c.fetch("t", p as u32, 0, usize::MAX).unwrap();
        for (o, v) in want {
            assert_eq!(
                got[*o as usize].value.as_ref(),
                Some(v),
                "partition {p} offset {o}"
            );
        }
    }
}
