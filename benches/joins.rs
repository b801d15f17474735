//! The join workloads W3 (stream-table join) and W4 (global-table broadcast join) of
//! the benchmark workloads (`benches/workload/gen.rs`), run end to end through kql (files -> source connectors ->
//! partitioned log -> persistent join query -> sink topic), next to hand-written
//! single-threaded serde_json programs doing the same work on the same files, measured in
//! the same run. Figures are ratios to that baseline, with the peers' figures beside.
//!
//!     rustc -O benches/workload/gen.rs -o gen && ./gen "$DIR" 1000000 readings_1m
//!     cargo bench --bench joins -- "$DIR/readings_1m.jsonl"

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

#[path = "support/measure.rs"]
mod measure;
use measure::{measure, median, pair_ratios};

use kql::exec::{Captured, Session};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reading<'a> {
    sensor: &'a str,
    site: &'a str,
    temp: f64,
}

#[derive(Deserialize)]
struct Sensor<'a> {
    sensor: &'a str,
    threshold: f64,
}

#[derive(Deserialize)]
struct Site<'a> {
    site: &'a str,
    city: &'a str,
}

fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// W3 by hand: load the sensors' thresholds, then keep readings above their threshold.
fn baseline_w3(readings: &[u8], sensors: &[u8]) -> u64 {
    let mut table: HashMap<String, f64> = HashMap::new();
    for l in lines(sensors) {
        let s: Sensor = serde_json::from_slice(l).expect("valid sensor");
        table.insert(s.sensor.to_string(), s.threshold);
    }
    let mut out = Vec::with_capacity(64);
    let mut rows = 0;
    for l in lines(readings) {
        let r: Reading = serde_json::from_slice(l).expect("valid reading");
        if let Some(&t) = table.get(r.sensor) {
            if r.temp > t {
                out.clear();
                let _ = write!(out, "{{\"TEMP\":{},\"THRESHOLD\":{t}}}", r.temp);
                std::hint::black_box(&out);
                rows += 1;
            }
        }
    }
    rows
}

/// W4 by hand: load the sites' cities, then attach a city to every reading.
fn baseline_w4(readings: &[u8], sites: &[u8]) -> u64 {
    let mut table: HashMap<String, String> = HashMap::new();
    for l in lines(sites) {
        let s: Site = serde_json::from_slice(l).expect("valid site");
        table.insert(s.site.to_string(), s.city.to_string());
    }
    let mut out = Vec::with_capacity(64);
    let mut rows = 0;
    for l in lines(readings) {
        let r: Reading = serde_json::from_slice(l).expect("valid reading");
        if let Some(city) = table.get(r.site) {
            out.clear();
            let _ = write!(out, "{{\"CITY\":\"{city}\",\"TEMP\":{}}}", r.temp);
            std::hint::black_box((&out, r.sensor));
            rows += 1;
        }
    }
    rows
}

const READINGS: &str =
    "CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE, ts BIGINT)
  WITH (kafka_topic='readings', partitions=2, value_format='JSON', timestamp='ts');
CREATE SOURCE CONNECTOR readings_src WITH ('connector.class'='FileStreamSource',
  'file'='FILE', 'topic'='readings', 'key'='sensor');
";

const W3: &str =
    "CREATE TABLE sensors (sensor VARCHAR PRIMARY KEY, threshold DOUBLE, site VARCHAR, ts BIGINT)
  WITH (kafka_topic='sensors', partitions=2, value_format='JSON', timestamp='ts');
CREATE SOURCE CONNECTOR sensors_src WITH ('connector.class'='FileStreamSource',
  'file'='DIR/sensors.jsonl', 'topic'='sensors', 'key'='sensor');
CREATE STREAM alerts AS SELECT r.sensor, r.temp, s.threshold FROM readings r
  JOIN sensors s ON r.sensor = s.sensor WHERE r.temp > s.threshold;";

const W4: &str = "CREATE GLOBAL TABLE sites (site VARCHAR PRIMARY KEY, city VARCHAR, ts BIGINT)
  WITH (kafka_topic='sites', partitions=1, value_format='JSON');
CREATE SOURCE CONNECTOR sites_src WITH ('connector.class'='FileStreamSource',
  'file'='DIR/sites.jsonl', 'topic'='sites', 'key'='site');
CREATE STREAM located AS SELECT r.sensor, g.city, r.temp FROM readings r
  JOIN sites g ON r.site = g.site;";

/// Runs a workload through kql; returns the rows in the sink topic.
fn kql(file: &str, dir: &str, query: &str, sink: &str) -> u64 {
    let text = READINGS.replace("FILE", file) + &query.replace("DIR", dir);
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
    // The tables' files are next to the readings (a bare file name: this folder).
    let dir = match Path::new(&file).parent().and_then(Path::to_str) {
        Some("") | None => ".".to_string(),
        Some(d) => d.to_string(),
    };
    let read =
        |p: &str| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e} (see the module docs)"));
    let readings = read(&file);
    let sensors = read(&format!("{dir}/sensors.jsonl"));
    let sites = read(&format!("{dir}/sites.jsonl"));
    let events = readings.iter().filter(|&&b| b == b'\n').count() as f64;
    println!(
        "{} events from {file}; medians of {repeat} same-run pairs",
        events as u64
    );
    println!("{:<4} {:>14} {:>14} {:>8} {:>9} {:>18}   peers (10M events, same machine): Flink / Bytewax / Pathway", "", "baseline ev/s", "kql ev/s", "speed", "CPU x", "rows kql/baseline");
    type Baseline = fn(&[u8], &[u8]) -> u64;
    /// Name, query, sink topic, baseline, the table's file, the peers' figures.
    type Case<'a> = (&'a str, &'a str, &'a str, Baseline, &'a [u8], &'a str);
    let cases: [Case; 2] = [
        (
            "W3",
            W3,
            "ALERTS",
            baseline_w3,
            &sensors,
            "0.29 M / 0.37 M / 0.15 M",
        ),
        (
            "W4",
            W4,
            "LOCATED",
            baseline_w4,
            &sites,
            "0.26 M / 0.43 M / 0.15 M",
        ),
    ];
    for (name, query, sink, base, table, peers) in cases {
        let mut pairs = Vec::new();
        let (mut base_rows, mut rows) = (0, 0);
        for _ in 0..repeat {
            let (b, base_cost) = measure(|| base(&readings, table));
            let (r, kql_cost) = measure(|| kql(&file, &dir, query, sink));
            (base_rows, rows) = (b, r);
            pairs.push((base_cost, kql_cost));
        }
        let (speed, cpu) = pair_ratios(&pairs);
        println!(
            "{name:<4} {:>12.2} M {:>12.2} M {:>8.2} {:>9.2} {:>18}   {peers}",
            events / median(pairs.iter().map(|p| p.0.wall).collect()) / 1e6,
            events / median(pairs.iter().map(|p| p.1.wall).collect()) / 1e6,
            speed,
            cpu,
            format!("{rows}/{base_rows}"),
        );
    }
}
