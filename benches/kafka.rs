//! kql on Apache Kafka, next to the embedded log in the same run (ratios, since absolute
//! times drift on a shared machine):
//!
//! 1. W1-W4 of the benchmark workloads (`benches/workload/gen.rs`), one process: loading
//!    the files into the input topics (the FileStreamSource connectors), then the
//!    persistent query over the loaded input to its end (`kql run`'s bounded run), each
//!    timed on its own, on the embedded log and on the Kafka cluster.
//! 2. W1 and W2 as `kql run --follow` processes sharing the query on Kafka: 1 process
//!    (exactly-once and at-least-once) and 2 processes (exactly-once), from the start of
//!    the processes until the query's group has committed the whole input, each as a
//!    ratio to the same query on the embedded log (one process, to its end) in this run.
//! 3. Restoring a query with 1M keys of state (COUNT per key over as many records as the
//!    input file has) from its changelog: a second `kql run` of the application, on Kafka
//!    and on a data directory.
//!
//! ```text
//! scripts/kafka-up one && source target/kafka/env        # KQL_TEST_KAFKA
//! rustc -O benches/workload/gen.rs -o gen && ./gen "$DIR" 10000000 readings_10m
//! cargo bench --bench kafka -- "$DIR/readings_10m.jsonl"
//! ```
//!
//! `KQL_BENCH_PARTS=1,2,3` runs only some parts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kql::exec::log::LogHandle;
use kql::exec::{Captured, Session};
use kql::kafka::{KafkaLog, KafkaSettings};

const READINGS: &str =
    "CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE, ts BIGINT)
  WITH (kafka_topic='T_readings', partitions=2, value_format='JSON', timestamp='ts');
";
const SENSORS: &str =
    "CREATE TABLE sensors (sensor VARCHAR PRIMARY KEY, threshold DOUBLE, site VARCHAR, ts BIGINT)
  WITH (kafka_topic='T_sensors', partitions=2, value_format='JSON', timestamp='ts');
";
const SITES: &str = "CREATE GLOBAL TABLE sites (site VARCHAR PRIMARY KEY, city VARCHAR, ts BIGINT)
  WITH (kafka_topic='T_sites', partitions=1, value_format='JSON');
";
const LOAD: &str =
    "CREATE SOURCE CONNECTOR readings_src WITH ('connector.class'='FileStreamSource',
  'file'='READINGS_FILE', 'topic'='T_readings', 'key'='sensor');
CREATE SOURCE CONNECTOR sensors_src WITH ('connector.class'='FileStreamSource',
  'file'='SENSORS_FILE', 'topic'='T_sensors', 'key'='sensor');
CREATE SOURCE CONNECTOR sites_src WITH ('connector.class'='FileStreamSource',
  'file'='SITES_FILE', 'topic'='T_sites', 'key'='site');
";

/// (name, query, sink topic)
const WORKLOADS: [(&str, &str, &str); 4] = [
    (
        "W1",
        "CREATE STREAM hot WITH (kafka_topic='T_hot') AS SELECT sensor, temp, ts FROM readings WHERE temp > 30;",
        "T_hot",
    ),
    (
        "W2",
        "CREATE TABLE per_minute WITH (kafka_topic='T_per_minute') AS SELECT sensor, COUNT(*) AS n,
  AVG(temp) AS avg_temp, MAX(temp) AS max_temp FROM readings
  WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 2 SECONDS) GROUP BY sensor EMIT FINAL;",
        "T_per_minute",
    ),
    (
        "W3",
        "CREATE STREAM alerts WITH (kafka_topic='T_alerts') AS SELECT r.sensor, r.temp, s.threshold
  FROM readings r JOIN sensors s ON r.sensor = s.sensor WHERE r.temp > s.threshold;",
        "T_alerts",
    ),
    (
        "W4",
        "CREATE STREAM located WITH (kafka_topic='T_located') AS SELECT r.sensor, g.city, r.temp
  FROM readings r JOIN sites g ON r.site = g.site;",
        "T_located",
    ),
];

/// A name no earlier run against the same cluster used.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}_{}_{nanos}", std::process::id())
}

fn kafka(bootstrap: &str, app: &str) -> LogHandle {
    let mut settings = KafkaSettings::new(bootstrap);
    settings.application_id = app.to_string();
    Arc::new(KafkaLog::connect(settings).unwrap_or_else(|e| panic!("{bootstrap}: {e}")))
}

fn run(session: &mut Session, text: &str) {
    let mut out = Captured::default();
    session
        .run_text("bench.ksql", text, &mut out)
        .unwrap_or_else(|d| panic!("{d:?}"));
    session.finish(&mut out).unwrap();
}

/// The rows in a topic (the sum of its partitions' ends).
fn rows(log: &LogHandle, topic: &str) -> u64 {
    (0..log.partition_count(topic).unwrap_or(0))
        .map(|p| log.offsets(topic, p).unwrap().high_watermark)
        .sum()
}

/// The input files with the tables' timestamps moved from 0 to 1 ms: librdkafka cannot
/// write a record at time 0 (docs/kafka.md), and 1 ms joins the same way.
struct Files {
    readings: String,
    sensors: PathBuf,
    sites: PathBuf,
}

impl Files {
    fn new(readings: &str, scratch: &Path) -> Files {
        let dir = Path::new(readings).parent().unwrap();
        let shifted = |name: &str| {
            let text = std::fs::read_to_string(dir.join(name))
                .unwrap_or_else(|e| panic!("{name}: {e} (see the module docs)"));
            let path = scratch.join(name);
            std::fs::write(&path, text.replace("\"ts\":0}", "\"ts\":1}")).unwrap();
            path
        };
        Files {
            readings: readings.to_string(),
            sensors: shifted("sensors.jsonl"),
            sites: shifted("sites.jsonl"),
        }
    }

    fn load(&self, prefix: &str) -> String {
        LOAD.replace("READINGS_FILE", &self.readings)
            .replace("SENSORS_FILE", self.sensors.to_str().unwrap())
            .replace("SITES_FILE", self.sites.to_str().unwrap())
            .replace("T_", prefix)
    }
}

/// The streams and tables over the input topics named with `prefix`.
fn declarations(prefix: &str) -> String {
    format!("{READINGS}{SENSORS}{SITES}").replace("T_", prefix)
}

/// The input loaded once into the cluster, under a prefix of its own: (the prefix's input
/// name, seconds taken).
fn load_kafka(files: &Files, bootstrap: &str) -> (String, f64) {
    let input = unique("in");
    let prefix = format!("{input}_");
    let t = Instant::now();
    let mut loader = Session::new(kafka(bootstrap, &unique("load")));
    run(&mut loader, &(declarations(&prefix) + &files.load(&prefix)));
    (input, t.elapsed().as_secs_f64())
}

/// A workload on the embedded log, in a session of its own: (seconds to load the input,
/// seconds of the query to its end, rows in its sink).
fn embedded(files: &Files, query: &str, sink: &str) -> (f64, f64, u64) {
    let mut session = Session::new(kql::exec::log::spilling(1));
    let t = Instant::now();
    run(&mut session, &(declarations("") + &files.load("")));
    let load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    run(&mut session, &query.replace("T_", ""));
    let query = t.elapsed().as_secs_f64();
    (load, query, rows(session.log(), &sink.replace("T_", "")))
}

/// Part 1: load, then each workload's query, on the embedded log and on Kafka.
fn workloads(files: &Files, events: f64, bootstrap: &str, input: &str, kafka_load: f64) {
    println!("\n1. W1-W4, one process: loading the input, then the query to its end");
    println!(
        "{:<5} {:>16} {:>16} {:>7} {:>16} {:>16} {:>7} {:>22}",
        "",
        "load embedded",
        "load Kafka",
        "ratio",
        "query embedded",
        "query Kafka",
        "ratio",
        "rows embedded/Kafka"
    );
    // Kafka: the input is loaded once into the cluster; each workload is an application
    // of its own over it.
    let prefix = format!("{input}_");
    for (name, query, sink) in WORKLOADS {
        let (embedded_load, embedded_query, embedded_rows) = embedded(files, query, sink);

        let app = unique(name);
        let log = kafka(bootstrap, &app);
        let mut session = Session::new(log.clone());
        let out = format!("{app}_");
        run(&mut session, &declarations(&prefix));
        let t = Instant::now();
        run(&mut session, &query.replace("T_", &out));
        let kafka_query = t.elapsed().as_secs_f64();
        let kafka_rows = rows(&log, &sink.replace("T_", &out));
        let line = format!(
            "{name:<5} {:>14.0} /s {:>14.0} /s {:>7.2} {:>14.0} /s {:>14.0} /s {:>7.2} {:>22}",
            events / embedded_load,
            events / kafka_load,
            embedded_load / kafka_load,
            events / embedded_query,
            events / kafka_query,
            embedded_query / kafka_query,
            format!("{embedded_rows}/{kafka_rows}"),
        );
        println!("{line}");
    }
}

/// `kql run FILE --follow` on Kafka as a process of application `app`.
fn follower(kql: &str, file: &Path, bootstrap: &str, app: &str, config: &Path) -> Child {
    Command::new(kql)
        .args(["run", file.to_str().unwrap(), "--follow"])
        .args(["--bootstrap-servers", bootstrap, "--application-id", app])
        .args(["--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The consumer group of the application's one persistent query, once it exists.
fn query_group(log: &LogHandle, app: &str) -> Option<String> {
    log.group_names()
        .into_iter()
        .find(|g| g.starts_with(&format!("{app}-CSAS_")) || g.starts_with(&format!("{app}-CTAS_")))
}

/// Input records per second of the application's query once `processes` members hold
/// partitions: from then (and the input committed then) until the whole input of `topic`
/// is committed. Commits come every second, so either end is off by about that much.
fn steady_rate(
    log: &LogHandle,
    app: &str,
    topic: &str,
    children: &mut [Child],
    events: u64,
) -> f64 {
    let processes = children.len();
    let deadline = Instant::now() + Duration::from_secs(1800);
    let committed = |group: &str| -> u64 {
        (0..2)
            .map(|p| {
                log.committed_offset(group, topic, p)
                    .ok()
                    .flatten()
                    .unwrap_or(0)
            })
            .sum()
    };
    let mut from: Option<(Instant, u64)> = None;
    loop {
        assert!(
            Instant::now() < deadline,
            "{app}: the input was not consumed"
        );
        for c in children.iter_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                panic!("{app}: a kql run --follow process ended ({status})");
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        let Some(group) = query_group(log, app) else {
            continue;
        };
        match from {
            None => {
                let holding = log.describe_group(&group).map_or(0, |g| {
                    g.members
                        .iter()
                        .filter(|m| !m.assignment.is_empty())
                        .count()
                });
                if holding == processes {
                    from = Some((Instant::now(), committed(&group)));
                }
            }
            Some((t, at)) => {
                if committed(&group) >= events {
                    return (events - at) as f64 / t.elapsed().as_secs_f64();
                }
            }
        }
    }
}

/// Part 2: W1 and W2 shared by `kql run --follow` processes, next to the same query on the
/// embedded log (one process, the query to its end over the loaded input) in the same run.
fn scale_out(kql: &str, files: &Files, input: &str, events: u64, bootstrap: &str, scratch: &Path) {
    println!("\n2. kql run --follow on Kafka: input records/s once every process holds partitions, until the group committed the input; (ratio to the embedded log's query)");
    println!(
        "{:<5} {:>16} {:>26} {:>26} {:>26}",
        "",
        "embedded",
        "1 process, at least once",
        "1 process, exactly once",
        "2 processes, exactly once"
    );
    let log = kafka(bootstrap, &unique("watch"));
    let topic = format!("{input}_readings");
    for (name, query, sink) in &WORKLOADS[..2] {
        let (_, embedded_query, _) = embedded(files, query, sink);
        let embedded_rate = events as f64 / embedded_query;
        let mut figures = Vec::new();
        for (processes, guarantee) in [
            (1, "at_least_once"),
            (1, "exactly_once_v2"),
            (2, "exactly_once_v2"),
        ] {
            let app = unique(name);
            let file = scratch.join(format!("{app}.ksql"));
            // Every process runs the file: IF NOT EXISTS, as docs/kafka.md says.
            let text = READINGS.replace("T_", &format!("{input}_"))
                + &query.replace("T_", &format!("{app}_"));
            let text = text
                .replace("CREATE STREAM ", "CREATE STREAM IF NOT EXISTS ")
                .replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ");
            std::fs::write(&file, text).unwrap();
            let config = scratch.join(format!("{app}.properties"));
            std::fs::write(&config, format!("processing.guarantee={guarantee}\n")).unwrap();
            let mut children = vec![follower(kql, &file, bootstrap, &app, &config)];
            if processes == 2 {
                // The second replays the first's statements from the command topic, so it
                // starts once they are there.
                while query_group(&log, &app).is_none() {
                    std::thread::sleep(Duration::from_millis(100));
                }
                children.push(follower(kql, &file, bootstrap, &app, &config));
            }
            figures.push(steady_rate(&log, &app, &topic, &mut children, events));
            for mut c in children {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let cell = |f: f64| format!("{f:.0} /s ({:.2})", f / embedded_rate);
        println!(
            "{name:<5} {:>14.0} /s {:>26} {:>26} {:>26}   (2 processes / 1: {:.2}; exactly / at least once: {:.2})",
            embedded_rate,
            cell(figures[0]),
            cell(figures[1]),
            cell(figures[2]),
            figures[2] / figures[1],
            figures[1] / figures[0]
        );
    }
}

/// Part 3: a query with `keys` keys of state, counted over `events` records, restored by a
/// second `kql run`.
fn restore(kql: &str, events: u64, keys: u64, bootstrap: &str, scratch: &Path) {
    println!("\n3. Restoring a COUNT per key over {keys} keys ({events} records) from its changelog (a second kql run of the application)");
    let data = scratch.join("keys.jsonl");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&data).unwrap());
        for i in 0..events {
            writeln!(out, "{{\"k\":\"key-{:08}\",\"v\":{i}}}", i % keys).unwrap();
        }
    }
    let topic = unique("keys");
    let load = scratch.join("load.ksql");
    std::fs::write(
        &load,
        format!(
            "CREATE STREAM keyed (k VARCHAR KEY, v BIGINT) WITH (kafka_topic='{topic}', partitions=2, value_format='JSON');
CREATE SOURCE CONNECTOR keyed_src WITH ('connector.class'='FileStreamSource', 'file'='{}', 'topic'='{topic}', 'key'='k');
CREATE TABLE counts WITH (kafka_topic='{topic}_counts') AS SELECT k, COUNT(*) AS n FROM keyed GROUP BY k;\n",
            data.display()
        ),
    )
    .unwrap();
    let again = scratch.join("again.ksql");
    std::fs::write(&again, "SHOW QUERIES;\n").unwrap();
    let timed = |args: &[&str]| {
        let t = Instant::now();
        let out = Command::new(kql).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed().as_secs_f64()
    };
    let dir = scratch.join("data");
    let dir = dir.to_str().unwrap();
    let app = unique("restore");
    let (load, again) = (load.to_str().unwrap(), again.to_str().unwrap());
    timed(&["run", load, "--data-dir", dir]);
    let embedded = timed(&["run", again, "--data-dir", dir]);
    let embedded_empty = timed(&[
        "run",
        again,
        "--data-dir",
        scratch.join("empty").to_str().unwrap(),
    ]);
    let on_kafka = ["--bootstrap-servers", bootstrap, "--application-id"];
    timed(&[&["run", load][..], &on_kafka, &[&app]].concat());
    let kafka = timed(&[&["run", again][..], &on_kafka, &[&app]].concat());
    let kafka_empty = timed(&[&["run", again][..], &on_kafka, &[&unique("empty")]].concat());
    println!(
        "data directory: {embedded:.2} s ({embedded_empty:.2} s for an application without state)\n\
         Kafka:          {kafka:.2} s ({kafka_empty:.2} s for an application without state)\n\
         Kafka / data directory: {:.2}; without the fixed costs: {:.2}",
        kafka / embedded,
        (kafka - kafka_empty) / (embedded - embedded_empty)
    );
}

fn main() {
    let file = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "readings_1m.jsonl".to_string());
    let bootstrap = std::env::var("KQL_TEST_KAFKA").expect(
        "KQL_TEST_KAFKA: the 1-node cluster (scripts/kafka-up one; source target/kafka/env)",
    );
    let parts = std::env::var("KQL_BENCH_PARTS").unwrap_or_else(|_| "1,2,3".into());
    let kql = env!("CARGO_BIN_EXE_kql");
    let scratch = tempfile::tempdir().unwrap();
    let events = std::fs::read(&file)
        .unwrap_or_else(|e| panic!("{file}: {e} (see the module docs)"))
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    println!("{events} events from {file}; Kafka at {bootstrap}");
    let files = Files::new(&file, scratch.path());
    if parts.contains('1') || parts.contains('2') {
        let (input, kafka_load) = load_kafka(&files, &bootstrap);
        if parts.contains('1') {
            workloads(&files, events as f64, &bootstrap, &input, kafka_load);
        }
        if parts.contains('2') {
            scale_out(kql, &files, &input, events, &bootstrap, scratch.path());
        }
    }
    if parts.contains('3') {
        // As many records as the input file has, over 1M keys.
        restore(
            kql,
            events,
            1_000_000.min(events),
            &bootstrap,
            scratch.path(),
        );
    }
}
