//! Windowed aggregates over thousands of generated, out-of-order events, checked against a
//! straightforward batch computation of the same semantics: per partition, stream time is
//! the largest event time seen so far; a record counts in a window while
//! `window end + grace > stream time`; with EMIT FINAL (and the input over) every window is
//! emitted once with the aggregates of the records it accepted.

use std::collections::BTreeMap;

use bytes::Bytes;
use kql::data::Value;
use kql::exec::log::{Acks, ProducerRecord};
use kql::exec::{Captured, Session};

/// A small deterministic generator (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Event {
    key: String,
    value: i64,
    ts: i64,
    partition: u32,
}

/// (key, window start) -> (count, sum, min, max)
type Expected = BTreeMap<(String, i64), (i64, i64, i64, i64)>;

fn generate(session: &Session, n: usize, seed: u64) -> Vec<Event> {
    let mut rng = Lcg(seed);
    let mut now = 1_700_000_000_000i64;
    let mut events = Vec::new();
    for _ in 0..n {
        now += rng.below(400) as i64;
        // mostly a little disorder, sometimes a lot (late records)
        let lateness = if rng.below(50) == 0 {
            rng.below(60_000) as i64
        } else {
            rng.below(2_000) as i64
        };
        let ts = now - lateness;
        let key = format!("k{}", rng.below(17));
        let value = rng.below(1000) as i64 - 100;
        let json = format!("{{\"V\":{value},\"TS\":{ts}}}");
        let meta = session
            .log()
            .produce(
                "events",
                ProducerRecord {
                    key: Some(Bytes::from(key.clone())),
                    value: Some(Bytes::from(json)),
                    timestamp_ms: Some(ts),
                    partition: None,
                    headers: Vec::new(),
                },
                Acks::All,
            )
            .unwrap();
        events.push(Event {
            key,
            value,
            ts,
            partition: meta.partition,
        });
    }
    events
}

/// The batch computation: windows of each record (`starts`), accepted by the grace rule.
fn expected(
    events: &[Event],
    grace_ms: i64,
    size_ms: i64,
    starts: impl Fn(i64) -> Vec<i64>,
) -> Expected {
    let mut out = Expected::new();
    let mut stream_time: BTreeMap<u32, i64> = BTreeMap::new();
    for e in events {
        let st = stream_time.entry(e.partition).or_insert(i64::MIN);
        *st = (*st).max(e.ts);
        for start in starts(e.ts) {
            if start + size_ms + grace_ms <= *st {
                continue; // late
            }
            let agg = out
                .entry((e.key.clone(), start))
                .or_insert((0, 0, i64::MAX, i64::MIN));
            agg.0 += 1;
            agg.1 += e.value;
            agg.2 = agg.2.min(e.value);
            agg.3 = agg.3.max(e.value);
        }
    }
    out
}

fn run(session: &mut Session, sql: &str) -> Expected {
    let mut out = Captured::default();
    session
        .run_text("random.ksql", sql, &mut out)
        .unwrap_or_else(|d| panic!("{d:?}"));
    let (_, rows) = out.results.last().expect("the query printed a result");
    let mut got = Expected::new();
    for r in rows {
        let key = match &r[0] {
            Value::String(s) => s.to_string(),
            other => panic!("key {other:?}"),
        };
        let n = |v: &Value| v.as_i64().unwrap();
        let prev = got.insert((key, n(&r[1])), (n(&r[2]), n(&r[3]), n(&r[4]), n(&r[5])));
        assert!(prev.is_none(), "EMIT FINAL emitted a window twice: {r:?}");
    }
    got
}

fn session() -> Session {
    let mut s = Session::new(kql::exec::log::in_memory(1));
    let mut out = Captured::default();
    s.run_text(
        "setup.ksql",
        "CREATE STREAM events (k VARCHAR KEY, v BIGINT, ts BIGINT) \
         WITH (kafka_topic='events', partitions=3, value_format='JSON', timestamp='ts');",
        &mut out,
    )
    .unwrap();
    s
}

#[test]
fn tumbling_emit_final_matches_a_batch_computation() {
    let mut s = session();
    let events = generate(&s, 4000, 7);
    let size = 10_000;
    let grace = 3_000;
    let want = expected(&events, grace, size, |t| vec![t - t.rem_euclid(size)]);
    let got = run(
        &mut s,
        "SELECT k, WINDOWSTART, COUNT(*), SUM(v), MIN(v), MAX(v) FROM events \
         WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 3 SECONDS) GROUP BY k EMIT FINAL;",
    );
    assert!(want.len() > 100, "the test should cover many windows");
    assert_eq!(got, want);
}

#[test]
fn hopping_emit_final_matches_a_batch_computation() {
    let mut s = session();
    let events = generate(&s, 3000, 11);
    let (size, advance, grace) = (15_000i64, 5_000i64, 1_000i64);
    let want = expected(&events, grace, size, |t| {
        let mut starts = Vec::new();
        let mut start = ((t - size + advance).max(0) / advance) * advance;
        while start <= t {
            if start + size > t {
                starts.push(start);
            }
            start += advance;
        }
        starts
    });
    let got = run(
        &mut s,
        "SELECT k, WINDOWSTART, COUNT(*), SUM(v), MIN(v), MAX(v) FROM events \
         WINDOW HOPPING (SIZE 15 SECONDS, ADVANCE BY 5 SECONDS, GRACE PERIOD 1 SECOND) \
         GROUP BY k EMIT FINAL;",
    );
    assert_eq!(got, want);
}

#[test]
fn emit_changes_ends_with_the_same_values_as_emit_final() {
    let mut s = session();
    let events = generate(&s, 2000, 3);
    let size = 10_000;
    let want = expected(&events, 2_000, size, |t| vec![t - t.rem_euclid(size)]);
    let mut out = Captured::default();
    s.run_text(
        "changes.ksql",
        "SELECT k, WINDOWSTART, COUNT(*), SUM(v), MIN(v), MAX(v) FROM events \
         WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 2 SECONDS) GROUP BY k EMIT CHANGES;",
        &mut out,
    )
    .unwrap();
    let (_, rows) = out.results.last().unwrap();
    // the last update of each window is its final value
    let mut last = Expected::new();
    for r in rows {
        let n = |v: &Value| v.as_i64().unwrap();
        last.insert(
            (r[0].to_string(), n(&r[1])),
            (n(&r[2]), n(&r[3]), n(&r[4]), n(&r[5])),
        );
    }
    assert_eq!(last, want);
    assert!(rows.len() > want.len(), "EMIT CHANGES emits every update");
}
