//! The benchmark workloads W1 (filter/project CREATE STREAM AS SELECT) and W2 (tumbling
//! window COUNT/AVG/MAX, EMIT FINAL) of the benchmark workloads (`benches/workload/gen.rs`), run end to end through kql
//! (file -> source connector -> partitioned log -> persistent query -> sink topic), next to
//! a hand-written single-threaded serde_json program doing the same work on the same file,
//! measured in the same run. Figures are reported as a ratio to that baseline, with the
//! peers' figures from the shared README beside them.
//!
//!     rustc -O benches/workload/gen.rs -o gen && ./gen "$DIR" 1000000 readings_1m
//!     cargo bench --bench workloads -- "$DIR/readings_1m.jsonl"

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

#[path = "support/measure.rs"]
mod measure;
use measure::{measure, median, pair_ratios};

use kql::exec::{Captured, Session};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reading<'a> {
    sensor: &'a str,
    #[allow(dead_code)]
    site: &'a str,
    temp: f64,
    ts: i64,
}

/// W1 by hand: parse every line, keep temp > 30, write {"TEMP","TS"} values.
fn baseline_w1(data: &[u8]) -> u64 {
    let mut out = Vec::with_capacity(64);
    let mut rows = 0u64;
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let r: Reading = serde_json::from_slice(line).expect("valid line");
        if r.temp > 30.0 {
            out.clear();
            let _ = write!(out, "{{\"TEMP\":{},\"TS\":{}}}", r.temp, r.ts);
            std::hint::black_box((&out, r.sensor));
            rows += 1;
        }
    }
    rows
}

/// W2 by hand: tumbling 1-minute windows per sensor with a 2 s grace, emitted when closed.
fn baseline_w2(data: &[u8]) -> u64 {
    const SIZE: i64 = 60_000;
    const GRACE: i64 = 2_000;
    let mut groups: HashMap<(String, i64), (i64, f64, f64)> = HashMap::new();
    let mut closing: BTreeMap<i64, Vec<(String, i64)>> = BTreeMap::new();
    let mut stream_time = i64::MIN;
    let mut rows = 0u64;
    let mut out = Vec::with_capacity(64);
    let mut emit = |k: &(String, i64), v: (i64, f64, f64), out: &mut Vec<u8>| {
        out.clear();
        let _ = write!(
            out,
            "{{\"N\":{},\"AVG_TEMP\":{},\"MAX_TEMP\":{}}}",
            v.0,
            v.1 / v.0 as f64,
            v.2
        );
        std::hint::black_box((&out, k));
        rows += 1;
    };
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let r: Reading = serde_json::from_slice(line).expect("valid line");
        stream_time = stream_time.max(r.ts);
        let start = r.ts - r.ts.rem_euclid(SIZE);
        if start + SIZE + GRACE > stream_time {
            let key = (r.sensor.to_string(), start);
            let g = groups.entry(key.clone()).or_insert_with(|| {
                closing.entry(start + SIZE).or_default().push(key);
                (0, 0.0, f64::MIN)
            });
            g.0 += 1;
            g.1 += r.temp;
            g.2 = g.2.max(r.temp);
        }
        while let Some((&end, _)) = closing.first_key_value() {
            if end + GRACE > stream_time {
                break;
            }
            for k in closing.pop_first().unwrap().1 {
                let v = groups.remove(&k).unwrap();
                emit(&k, v, &mut out);
            }
        }
    }
    for (_, keys) in closing {
        for k in keys {
            let v = groups.remove(&k).unwrap();
            emit(&k, v, &mut out);
        }
    }
    rows
}

const COMMON: &str =
    "CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE, ts BIGINT)
  WITH (kafka_topic='readings', partitions=2, value_format='JSON', timestamp='ts');
CREATE SOURCE CONNECTOR readings_src WITH ('connector.class'='FileStreamSource',
  'file'='FILE', 'topic'='readings', 'key'='sensor');
";

const W1: &str = "CREATE STREAM hot AS SELECT sensor, temp, ts FROM readings WHERE temp > 30;";
const W2: &str = "CREATE TABLE per_minute AS SELECT sensor, COUNT(*) AS n,
  AVG(temp) AS avg_temp, MAX(temp) AS max_temp FROM readings
  WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 2 SECONDS) GROUP BY sensor EMIT FINAL;";

/// Runs a workload through kql; returns the rows in the sink topic.
fn kql(file: &str, query: &str, sink: &str) -> u64 {
    let text = COMMON.replace("FILE", file) + query;
    let mut session = Session::new(bench_log());
    // As `kql run`: the connector loads while the query runs.
    session.loads.enabled = true;
    let mut out = Captured::default();
    session
        .run_text("bench.ksql", &text, &mut out)
        .unwrap_or_else(|d| panic!("{d:?}"));
    session.finish(&mut out).unwrap();
    let n = session.log().partition_count(sink).unwrap();
    (0..n)
        .map(|p| session.log().offsets(sink, p).unwrap().high_watermark)
        .sum()
}

/// The log `kql run` uses without a data directory (spilling older batches to a temporary
/// file), or with `KQL_BENCH_LOG=memory` one that keeps every record in memory.
fn bench_log() -> kql::exec::log::LogHandle {
    match std::env::var("KQL_BENCH_LOG").as_deref() {
        Ok("memory") => kql::exec::log::in_memory(1),
        _ => kql::exec::log::spilling(1),
    }
}

fn main() {
    let file = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "readings_1m.jsonl".to_string());
    let repeat: usize = std::env::var("KQL_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e} (see the module docs)"));
    let events = data.iter().filter(|&&b| b == b'\n').count() as f64;
    println!("{} events from {file}", events as u64);
    println!(
        "{:<4} {:>14} {:>14} {:>8} {:>9} {:>10}   peers (10M events, same machine): Flink / Bytewax / Pathway",
        "", "baseline ev/s", "kql ev/s", "speed", "CPU x", "rows"
    );
    let peers = [
        ("W1", "0.80 M / 0.44 M / 0.27 M"),
        ("W2", "0.44 M / 0.008 M / 0.026 M"),
    ];
    for (name, query, sink, base) in [
        ("W1", W1, "HOT", baseline_w1 as fn(&[u8]) -> u64),
        ("W2", W2, "PER_MINUTE", baseline_w2),
    ] {
        // Same-run pairs, medians: the machine is shared and its speed drifts.
        let mut pairs = Vec::new();
        let (mut base_rows, mut rows) = (0, 0);
        for _ in 0..repeat {
            let (b, base_cost) = measure(|| base(&data));
            let (r, kql_cost) = measure(|| kql(&file, query, sink));
            (base_rows, rows) = (b, r);
            pairs.push((base_cost, kql_cost));
        }
        let (speed, cpu) = pair_ratios(&pairs);
        let peer = peers.iter().find(|p| p.0 == name).unwrap().1;
        println!(
            "{name:<4} {:>12.2} M {:>12.2} M {:>8.2} {:>9.2} {:>10}   {peer}",
            events / median(pairs.iter().map(|p| p.0.wall).collect()) / 1e6,
            events / median(pairs.iter().map(|p| p.1.wall).collect()) / 1e6,
            speed,
            cpu,
            format!("{rows}/{base_rows}"),
        );
    }
}
