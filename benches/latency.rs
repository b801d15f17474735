//! End-to-end latency of a live run: the time from a record's append to the source topic to
//! its row's append to the sink topic, while a persistent query runs in the loop `kql run
//! --follow` runs (`Session::follow`), at a steady rate (10,000 events/s by default).
//!
//!     cargo bench --bench latency                  # in-memory log, appends in-process
//!     cargo bench --bench latency -- --data-dir    # a data directory, appends through
//!                                                  # the owner's socket (as `kql produce`)
//!
//! `KQL_LATENCY_RATE` (events/s) and `KQL_LATENCY_SECS` (seconds measured, after one of
//! warm-up) change the load. A producer thread appends a batch every millisecond (the
//! records due by then), each record carrying the time just before its append; a watcher
//! thread sleeps on the log's append signal, reads the new records of the source and the
//! sink and takes the time each one arrived, as a consumer of those topics would. The
//! source's figures are the baseline of the same run (what the log alone costs); the
//! sink's are the end-to-end latency. All times are read from one `Instant`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kql::exec::log::{Acks, LogHandle, ProducerRecord, ProducerRef};
use kql::exec::{Captured, Session};

const FILE: &str = "CREATE STREAM events (id BIGINT, sent_us BIGINT)
  WITH (kafka_topic='events', partitions=2, value_format='JSON');
CREATE STREAM events_out AS SELECT id, sent_us FROM events WHERE id >= 0;
";
const SOURCE: &str = "events";
const SINK: &str = "EVENTS_OUT";
const PARTITIONS: u32 = 2;
/// The producer's pace: one append batch per tick.
const TICK: Duration = Duration::from_millis(1);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Where the producer appends: the log itself, or the owner's socket (another process's
/// way in, as `kql produce` takes).
enum Appender {
    Direct(LogHandle),
    Socket(kql_runtime::local::LocalClient),
}

impl Appender {
    fn append(&mut self, batch: &mut u64, values: &[Vec<u8>]) {
        match self {
            Appender::Direct(log) => {
                let refs: Vec<ProducerRef> = values
                    .iter()
                    .map(|v| ProducerRef {
                        key: None,
                        value: Some(v),
                        timestamp_ms: None,
                        headers: &[],
                    })
                    .collect();
                let partition = (*batch % PARTITIONS as u64) as u32;
                log.produce_batch(SOURCE, partition, &refs, Acks::All)
                    .expect("append");
            }
            Appender::Socket(client) => {
                let records: Vec<ProducerRecord> = values
                    .iter()
                    .map(|v| ProducerRecord::new(None, Some(Bytes::copy_from_slice(v))))
                    .collect();
                client.produce(SOURCE, &records).expect("append");
            }
        }
        *batch += 1;
    }
}

/// Appends `total` records at `rate` per second, one batch per tick.
fn produce(mut to: Appender, epoch: Instant, rate: u64, total: u64) {
    let start = Instant::now();
    let (mut sent, mut batch) = (0u64, 0u64);
    let mut values = Vec::new();
    while sent < total {
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64 + 1).min(total);
        if due > sent {
            let now = epoch.elapsed().as_micros() as u64;
            values.clear();
            values.extend(
                (sent..due).map(|id| format!("{{\"id\":{id},\"sent_us\":{now}}}").into_bytes()),
            );
            to.append(&mut batch, &values);
            sent = due;
        }
        let next = start + TICK.mul_f64((batch + 1) as f64);
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// What the watcher took: for each record id, the latency of its arrival in the source
/// topic (the log alone, the baseline) and of its row in the sink, in microseconds.
struct Arrivals {
    source: Vec<u64>,
    sink: Vec<u64>,
}

/// Reads the new records of `topic` (from `next`, per partition), calling `seen` with each
/// one's id and sending time.
fn read_new(log: &LogHandle, topic: &str, next: &mut [u64], mut seen: impl FnMut(u64, u64)) {
    let (id, sent) = if topic == SINK {
        ("ID", "SENT_US")
    } else {
        ("id", "sent_us")
    };
    for p in 0..PARTITIONS {
        let Ok(offsets) = log.offsets(topic, p) else {
            continue;
        };
        let from = next[p as usize];
        if offsets.high_watermark <= from {
            continue;
        }
        let mut fetched = log
            .fetch(topic, p, from, offsets.high_watermark, 4096)
            .expect("fetch");
        while let Some(record) = fetched.next_record() {
            let record = record.expect("a record");
            next[p as usize] = record.offset + 1;
            let row: serde_json::Value =
                serde_json::from_slice(record.value.expect("a value")).expect("JSON");
            seen(
                row[id].as_u64().expect("an id"),
                row[sent].as_u64().expect("a sending time"),
            );
        }
    }
}

/// Reads the source's records and the sink's rows as they are appended, as consumers of
/// those topics would, until every row has reached the sink.
fn watch(log: LogHandle, epoch: Instant, total: u64, give_up: Instant) -> Arrivals {
    let mut arrivals = Arrivals {
        source: vec![u64::MAX; total as usize],
        sink: vec![u64::MAX; total as usize],
    };
    let mut next_source = vec![0u64; PARTITIONS as usize];
    let mut next_sink = vec![0u64; PARTITIONS as usize];
    let mut sink_rows = 0u64;
    let mut signal = log.append_count();
    while sink_rows < total && Instant::now() < give_up {
        signal = log.wait_for_appends(signal, Duration::from_millis(100));
        let arrived = epoch.elapsed().as_micros() as u64;
        read_new(&log, SOURCE, &mut next_source, |id, sent| {
            arrivals.source[id as usize] = arrived.saturating_sub(sent);
        });
        read_new(&log, SINK, &mut next_sink, |id, sent| {
            arrivals.sink[id as usize] = arrived.saturating_sub(sent);
            sink_rows += 1;
        });
    }
    arrivals
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let through_socket = std::env::args().any(|a| a == "--data-dir");
    let rate = env_or("KQL_LATENCY_RATE", 10_000);
    let secs = env_or("KQL_LATENCY_SECS", 10);
    let warmup = rate; // one second
    let total = warmup + rate * secs;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let (log, appender): (LogHandle, Box<dyn FnOnce(&LogHandle) -> Appender>) = if through_socket {
        let cluster = kql_runtime::Cluster::open(dir.path(), 1, kql_runtime::Settings::default())
            .expect("open the data directory");
        cluster.serve_local().expect("serve the data directory");
        let path = dir.path().to_path_buf();
        (
            Arc::new(cluster),
            Box::new(move |_| {
                Appender::Socket(
                    kql_runtime::local::LocalClient::connect(&path).expect("connect to the owner"),
                )
            }),
        )
    } else {
        (
            kql::exec::log::in_memory(1),
            Box::new(|log| Appender::Direct(log.clone())),
        )
    };
    let mut session = Session::new(log.clone());
    let stop = Arc::new(AtomicBool::new(false));
    session.go_live(stop.clone());
    let mut out = Captured::default();
    session
        .run_text("latency.ksql", FILE, &mut out)
        .unwrap_or_else(|d| panic!("{d:?}"));

    let epoch = Instant::now();
    let watcher = {
        let log = log.clone();
        let give_up = Instant::now() + Duration::from_secs(secs + 60);
        std::thread::spawn(move || watch(log, epoch, total, give_up))
    };
    let producer = {
        let to = appender(&log);
        std::thread::spawn(move || produce(to, epoch, rate, total))
    };
    let stopper = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let arrivals = watcher.join().expect("the watcher");
            producer.join().expect("the producer");
            stop.store(true, Ordering::SeqCst);
            log.wake_waiters();
            arrivals
        })
    };
    session.follow().unwrap_or_else(|d| panic!("{d:?}"));
    let arrivals = stopper.join().expect("the stopper");

    let lost = arrivals.sink.iter().filter(|&&l| l == u64::MAX).count();
    println!(
        "{rate} events/s for {secs} s ({}), milliseconds from append to arrival:",
        if through_socket {
            "data directory, appends through the owner's socket"
        } else {
            "in-memory log, appends in-process"
        }
    );
    println!(
        "{:<26} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}",
        "", "median", "p90", "p99", "p99.9", "max", "rows"
    );
    for (what, latency) in [
        ("source topic (log alone)", &arrivals.source),
        ("sink topic (query)", &arrivals.sink),
    ] {
        let mut measured: Vec<u64> = latency[warmup as usize..]
            .iter()
            .copied()
            .filter(|&l| l != u64::MAX)
            .collect();
        if measured.is_empty() {
            println!("{what:<26} nothing arrived");
            std::process::exit(1);
        }
        measured.sort_unstable();
        println!(
            "{what:<26} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>8}",
            percentile(&measured, 0.5),
            percentile(&measured, 0.9),
            percentile(&measured, 0.99),
            percentile(&measured, 0.999),
            percentile(&measured, 1.0),
            measured.len(),
        );
    }
    if lost > 0 {
        println!("{lost} rows never reached the sink");
        std::process::exit(1);
    }
}
