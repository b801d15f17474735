//! `kql produce` and `kql topics`: the log without the language.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use kql_runtime::local::{self, LocalClient, Opened, TopicSummary};
use kql_runtime::{
    Acks, Cluster, Header, LogError, ProducerRecord, RecordMetadata, Settings, TopicConfig,
};
use serde_json::Value as Json;

use super::{cannot_open, connect_kafka, kafka_settings, refuse_data_dir_on_kafka, Cli, Failure};
use crate::diagnostic::{Code, Diagnostic};
use crate::exec::log::Log;

/// How long `kql produce` and `kql topics` wait for the process holding a data directory
/// to serve it (it may be starting), or for a dead holder's lock to go.
const OWNER_WAIT: Duration = Duration::from_secs(10);
/// Records sent in one request at most (fewer when the input has no more lines ready).
const PRODUCE_BATCH_RECORDS: usize = 1000;

/// The log `kql produce` and `kql topics` work on: the embedded one opened here, or held
/// by another kql process (a `kql run --follow`, a shell) and reached through its socket,
/// or a Kafka cluster.
enum LogAccess {
    Owner(Cluster),
    Client(LocalClient),
    Kafka(Box<dyn Log>),
}

impl LogAccess {
    fn open(cli: &Cli, data_dir: Option<&Path>) -> Result<LogAccess, Failure> {
        if let Some(settings) = kafka_settings(cli)? {
            refuse_data_dir_on_kafka(data_dir)?;
            return Ok(LogAccess::Kafka(Box::new(connect_kafka(settings)?)));
        }
        let Some(dir) = data_dir else {
            return Ok(LogAccess::Owner(Cluster::in_memory(cli.brokers)));
        };
        match local::open_or_connect(dir, cli.brokers, Settings::default(), OWNER_WAIT) {
            Ok(Opened::Owner(c)) => Ok(LogAccess::Owner(c)),
            Ok(Opened::Client(c)) => Ok(LogAccess::Client(c)),
            Err(e) => Err(cannot_open(dir, e)),
        }
    }

    fn ensure_topic(&mut self, topic: &str, config: TopicConfig) -> Result<bool, LogError> {
        match self {
            LogAccess::Owner(c) => match c.partition_count(topic) {
                Some(_) => Ok(false),
                None => c.create_topic(topic, config).map(|()| true),
            },
            LogAccess::Client(c) => c.ensure_topic(topic, config),
            LogAccess::Kafka(log) => match log.partition_count(topic) {
                Some(_) => Ok(false),
                None => log.create_topic(topic, config).map(|()| true),
            },
        }
    }

    fn produce(
        &mut self,
        topic: &str,
        records: &[ProducerRecord],
    ) -> Result<Vec<RecordMetadata>, LogError> {
        match self {
            LogAccess::Owner(c) => c.produce_many(topic, records, Acks::All),
            LogAccess::Client(c) => c.produce(topic, records),
            LogAccess::Kafka(log) => records
                .iter()
                .map(|r| log.produce(topic, r.clone(), Acks::All))
                .collect(),
        }
    }

    fn flush(&mut self) -> Result<(), LogError> {
        match self {
            LogAccess::Owner(c) => c.flush(),
            // the owner flushes its own log; Kafka acknowledged each record
            LogAccess::Client(_) | LogAccess::Kafka(_) => Ok(()),
        }
    }

    fn topics(&mut self) -> Result<Vec<TopicSummary>, LogError> {
        match self {
            LogAccess::Owner(c) => Ok(local::topic_summaries(c)),
            LogAccess::Client(c) => c.describe_topics(),
            LogAccess::Kafka(log) => Ok(log
                .topic_names()
                .iter()
                .filter_map(|t| log.describe_topic(t).ok())
                .map(|info| local::summary_of(&info))
                .collect()),
        }
    }
}

fn topic_error(what: String) -> Failure {
    Failure::plain(Diagnostic::new(Code::TopicError, what))
}

/// Appends JSON-lines records to a topic (created with `partitions` if missing). A line
/// that is not a record is reported with its line number; nothing after it is written.
/// Records go in batches: a batch is sent when it is full or when no more input is ready,
/// so lines typed or piped one at a time are appended at once.
pub fn produce(
    cli: &Cli,
    topic: &str,
    file: &str,
    data_dir: Option<&Path>,
    partitions: u32,
    print_offsets: bool,
) -> Result<(), Failure> {
    let mut log = LogAccess::open(cli, data_dir)?;
    let config = TopicConfig {
        partitions,
        ..TopicConfig::default()
    };
    let created = log
        .ensure_topic(topic, config)
        .map_err(|e| topic_error(format!("cannot create topic '{topic}': {e}")))?;
    if created {
        eprintln!("Created topic '{topic}' with {partitions} partition(s)");
    }
    let input: Box<dyn Read> = if file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).map_err(|e| {
            Failure::plain(Diagnostic::new(
                Code::FileError,
                format!("cannot read {file}: {e}"),
            ))
        })?)
    };
    let mut reader = BufReader::new(input);
    let mut batch = Vec::new();
    let mut count = 0u64;
    let mut line_no = 0usize;
    let mut line = String::new();
    let mut send = |log: &mut LogAccess, batch: &mut Vec<ProducerRecord>| {
        if batch.is_empty() {
            return Ok(());
        }
        let placed = log
            .produce(topic, batch)
            .map_err(|e| topic_error(format!("cannot write to '{topic}': {e}")))?;
        if print_offsets {
            let mut out = std::io::stdout().lock();
            for meta in &placed {
                let _ = writeln!(
                    out,
                    "{{\"partition\":{},\"offset\":{}}}",
                    meta.partition, meta.offset
                );
            }
            let _ = out.flush();
        }
        count += placed.len() as u64;
        batch.clear();
        Ok::<(), Failure>(())
    };
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| {
            Failure::plain(Diagnostic::new(
                Code::FileError,
                format!("cannot read {file}: {e}"),
            ))
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if !line.trim().is_empty() {
            match parse_record(&line) {
                Ok(record) => batch.push(record),
                Err(why) => {
                    send(&mut log, &mut batch)?;
                    return Err(Failure::plain(Diagnostic::new(Code::FileError, format!("{file}:{line_no}: {why}")).help(
                        r#"each line is a JSON object such as {"key":"s-1","value":{"temp":21.5},"timestamp":1700000000000}; only "value" is required"#,
                    )));
                }
            }
        }
        if batch.len() >= PRODUCE_BATCH_RECORDS || reader.buffer().is_empty() {
            send(&mut log, &mut batch)?;
        }
    }
    send(&mut log, &mut batch)?;
    log.flush().map_err(|e| topic_error(e.to_string()))?;
    eprintln!("Produced {count} record(s) to '{topic}'");
    Ok(())
}

/// `{"key","value","timestamp","partition","headers"}`: key and value are written as JSON
/// text, except strings, which are written as their UTF-8 bytes (Kafka's StringSerializer).
fn parse_record(line: &str) -> Result<ProducerRecord, String> {
    let j: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Json::Object(m) = j else {
        return Err("not a JSON object".into());
    };
    let bytes = |v: &Json| -> Option<Bytes> {
        match v {
            Json::Null => None,
            Json::String(s) => Some(Bytes::from(s.clone().into_bytes())),
            other => Some(Bytes::from(other.to_string().into_bytes())),
        }
    };
    let value = m.get("value").ok_or("no \"value\" field")?;
    let timestamp_ms = match m.get("timestamp") {
        None | Some(Json::Null) => None,
        Some(t) => Some(
            t.as_i64()
                .ok_or("\"timestamp\" is not a whole number of milliseconds")?,
        ),
    };
    let partition = match m.get("partition") {
        None | Some(Json::Null) => None,
        Some(p) => Some(
            p.as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .ok_or("\"partition\" is not a partition number (0 to 4294967295)")?,
        ),
    };
    let headers = match m.get("headers") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Object(h)) => h
            .iter()
            .map(|(k, v)| Header {
                name: k.clone(),
                value: bytes(v).unwrap_or_default(),
            })
            .collect(),
        Some(_) => return Err("\"headers\" is not an object".into()),
    };
    Ok(ProducerRecord {
        key: m.get("key").and_then(bytes),
        value: bytes(value),
        timestamp_ms,
        partition,
        headers,
    })
}

pub fn topics(cli: &Cli, data_dir: Option<&Path>) -> Result<(), Failure> {
    let topics = LogAccess::open(cli, data_dir)?
        .topics()
        .map_err(|e| topic_error(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    if cli.format == super::OutputFormat::Json {
        // One JSON object per partition, nothing else on stdout.
        for t in &topics {
            for p in &t.partitions {
                let line = serde_json::json!({
                    "topic": t.name,
                    "partition": p.partition,
                    "replicas": t.config.replicas,
                    "log_start": p.log_start_offset,
                    "log_end": p.log_end_offset,
                    "high_watermark": p.high_watermark,
                    "bytes": p.size_bytes,
                    "leader": p.leader,
                });
                let _ = writeln!(out, "{line}");
            }
        }
        return Ok(());
    }
    for t in topics {
        let _ = writeln!(
            out,
            "{}: {} partition(s), {} replica(s)",
            t.name, t.config.partitions, t.config.replicas
        );
        for p in &t.partitions {
            let _ = writeln!(
                out,
                "  partition {}: offsets {}..{} (high watermark {}), {} bytes, leader {}",
                p.partition,
                p.log_start_offset,
                p.log_end_offset,
                p.high_watermark,
                p.size_bytes,
                p.leader.map_or("none".to_string(), |l| l.to_string())
            );
        }
    }
    Ok(())
}
