//! `kql produce` and `kql topics`: the log without the language.

use std::io::{BufRead, Write};
use std::path::Path;

use bytes::Bytes;
use kql_runtime::{Acks, Header, ProducerRecord, TopicConfig};
use serde_json::Value as Json;

use super::{connect_kafka, kafka_settings, open_cluster, refuse_data_dir_on_kafka, Cli, Failure};
use crate::diagnostic::{Code, Diagnostic};
use crate::exec::log::Log;

/// Appends JSON-lines records to a topic (created with `partitions` if missing). A line
/// that is not a record is reported with its line number; nothing after it is written.
pub fn produce(
    cli: &Cli,
    topic: &str,
    file: &str,
    data_dir: Option<&Path>,
    partitions: u32,
    print_offsets: bool,
) -> Result<(), Failure> {
    if let Some(settings) = kafka_settings(cli)? {
        refuse_data_dir_on_kafka(data_dir)?;
        let log = connect_kafka(settings)?;
        return write_records(&log, topic, file, partitions, print_offsets);
    }
    let cluster = open_cluster(cli, data_dir)?;
    write_records(&cluster, topic, file, partitions, print_offsets)?;
    cluster
        .flush()
        .map_err(|e| Failure::plain(Diagnostic::new(Code::TopicError, e.to_string())))
}

fn write_records(
    log: &dyn Log,
    topic: &str,
    file: &str,
    partitions: u32,
    print_offsets: bool,
) -> Result<(), Failure> {
    if log.partition_count(topic).is_none() {
        log.create_topic(
            topic,
            TopicConfig {
                partitions,
                ..TopicConfig::default()
            },
        )
        .map_err(|e| {
            Failure::plain(Diagnostic::new(
                Code::TopicError,
                format!("cannot create topic '{topic}': {e}"),
            ))
        })?;
        eprintln!("Created topic '{topic}' with {partitions} partition(s)");
    }
    let reader: Box<dyn BufRead> = if file == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(file).map_err(|e| {
            Failure::plain(Diagnostic::new(
                Code::FileError,
                format!("cannot read {file}: {e}"),
            ))
        })?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut count = 0u64;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| {
            Failure::plain(Diagnostic::new(
                Code::FileError,
                format!("cannot read {file}: {e}"),
            ))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record = parse_record(&line).map_err(|why| {
            Failure::plain(Diagnostic::new(Code::FileError, format!("{file}:{}: {why}", i + 1)).help(
                r#"each line is a JSON object such as {"key":"s-1","value":{"temp":21.5},"timestamp":1700000000000}; only "value" is required"#,
            ))
        })?;
        let meta = log.produce(topic, record, Acks::All).map_err(|e| {
            Failure::plain(Diagnostic::new(
                Code::TopicError,
                format!("cannot write to '{topic}': {e}"),
            ))
        })?;
        if print_offsets {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{{\"partition\":{},\"offset\":{}}}",
                meta.partition, meta.offset
            );
            let _ = out.flush();
        }
        count += 1;
    }
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
    if let Some(settings) = kafka_settings(cli)? {
        refuse_data_dir_on_kafka(data_dir)?;
        list_topics(&connect_kafka(settings)?);
        return Ok(());
    }
    list_topics(&open_cluster(cli, data_dir)?);
    Ok(())
}

fn list_topics(log: &dyn Log) {
    let mut out = std::io::stdout().lock();
    for t in log.topic_names() {
        let Ok(info) = log.describe_topic(&t) else {
            continue;
        };
        let _ = writeln!(
            out,
            "{t}: {} partition(s), {} replica(s)",
            info.config.partitions, info.config.replicas
        );
        for p in &info.partitions {
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
}
