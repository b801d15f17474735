//! Session windows close through an index by window end: the work per record does not grow
//! with the number of keys that have open sessions.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kql::data::Value;
use kql::exec::{Captured, Session};
use kql_runtime::{Acks, Cluster, ProducerRecord};

/// Two records for each of `keys` keys, 10 ms apart, so every session stays open to the
/// end; returns how long the query took and the count of each key's one session.
/// A session with the stream `events` (one partition, event time from `ts`).
fn events_session() -> Session {
    let mut session = Session::new(Cluster::in_memory(1));
    let mut out = Captured::default();
    session
        .run_text(
            "setup.ksql",
            "CREATE STREAM events (k VARCHAR KEY, v BIGINT, ts BIGINT) \
             WITH (kafka_topic='events', partitions=1, value_format='JSON', timestamp='ts');",
            &mut out,
        )
        .unwrap();
    session
}

fn produce(session: &Session, key: &str, ts: i64) {
    let record = ProducerRecord {
        key: Some(Bytes::from(key.to_string())),
        value: Some(Bytes::from(format!("{{\"V\":1,\"TS\":{ts}}}"))),
        timestamp_ms: Some(ts),
        partition: None,
        headers: Vec::new(),
    };
    session.log().produce("events", record, Acks::All).unwrap();
}

fn run(keys: usize) -> (Duration, Vec<i64>) {
    let mut session = events_session();
    for i in 0..2 * keys {
        produce(
            &session,
            &format!("key-{}", i % keys),
            1_700_000_000_000 + 10 * i as i64,
        );
    }
    let mut out = Captured::default();
    let started = Instant::now();
    session
        .run_text(
            "sessions.ksql",
            "SELECT k, COUNT(*) AS n FROM events WINDOW SESSION (1 HOUR) GROUP BY k EMIT FINAL;",
            &mut out,
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
    let took = started.elapsed();
    let (_, rows) = out.results.last().expect("the query printed a result");
    let counts = rows
        .iter()
        .map(|r| match r.last() {
            Some(Value::Bigint(n)) => *n,
            other => panic!("count {other:?}"),
        })
        .collect();
    (took, counts)
}

/// Four times the keys take well under sixteen times as long (closing by scanning every
/// key's sessions for each record took sixteen; the bound of twelve leaves room for a
/// busy machine). Best of three runs of each size.
#[test]
fn session_windows_close_in_time_linear_in_the_number_of_keys() {
    let (small, large) = (2_000, 8_000);
    let best = |keys: usize| {
        let (a, counts) = run(keys);
        assert_eq!(counts.len(), keys, "one session per key");
        assert!(
            counts.iter().all(|&n| n == 2),
            "both records of each key in its session"
        );
        a.min(run(keys).0).min(run(keys).0)
    };
    let (t_small, t_large) = (best(small), best(large));
    let ratio = t_large.as_secs_f64() / t_small.as_secs_f64();
    assert!(
        ratio < 12.0,
        "4x the keys took {ratio:.1}x as long ({t_small:?} -> {t_large:?}): not linear"
    );
}

/// Windows of records near the largest timestamp: their end would pass i64::MAX. It is
/// held there, so the records count (not dropped as late, no overflow), the one at the
/// largest timestamp itself too (stream time there does not close its window).
#[test]
fn windows_near_the_largest_timestamp_accept_their_records() {
    for window in [
        "TUMBLING (SIZE 1 HOUR)",
        "HOPPING (SIZE 1 HOUR, ADVANCE BY 30 MINUTES)",
        "SESSION (1 HOUR)",
    ] {
        let mut session = events_session();
        for ts in [i64::MAX - 10, i64::MAX - 5, i64::MAX] {
            produce(&session, "k", ts);
        }
        let mut out = Captured::default();
        let sql =
            format!("SELECT k, COUNT(*) AS n FROM events WINDOW {window} GROUP BY k EMIT FINAL;");
        session
            .run_text("max.ksql", &sql, &mut out)
            .unwrap_or_else(|d| panic!("{window}: {d:?}"));
        let (_, rows) = out.results.last().expect("the query printed a result");
        let counts: Vec<&Value> = rows.iter().filter_map(|r| r.last()).collect();
        assert!(
            counts.contains(&&Value::Bigint(3)),
            "{window}: the three records in one window: {rows:?}"
        );
        assert!(
            !out.warnings.iter().any(|w| w.contains("late")),
            "{window}: {:?}",
            out.warnings
        );
    }
}
