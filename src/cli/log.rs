//! `kql produce` and `kql topics`: the log without the language.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use kql_runtime::local::{self, LocalClient, Opened, TopicSummary};
use kql_runtime::{Acks, Cluster, LogError, ProducerRecord, RecordMetadata, Settings, TopicConfig};

use super::produce_input::Shape;
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

    fn partition_count(&mut self, topic: &str) -> Result<Option<u32>, LogError> {
        match self {
            LogAccess::Owner(c) => Ok(c.partition_count(topic)),
            LogAccess::Client(c) => Ok(c
                .describe_topics()?
                .into_iter()
                .find(|t| t.name == topic)
                .map(|t| t.config.partitions)),
            LogAccess::Kafka(log) => Ok(log.partition_count(topic)),
        }
    }

    /// Deletes a topic this command created; through another process's socket there is no
    /// deletion, so a topic created there stays (empty).
    fn delete_topic(&mut self, topic: &str) -> Result<(), LogError> {
        match self {
            LogAccess::Owner(c) => c.delete_topic(topic),
            LogAccess::Client(_) => Ok(()),
            LogAccess::Kafka(log) => log.delete_topic(topic),
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

/// What `kql produce` was asked to do, besides where the log is.
pub struct ProduceArgs<'a> {
    pub topic: &'a str,
    pub file: &'a str,
    pub partitions: u32,
    pub print_offsets: bool,
    pub shape: Shape,
}

/// The topic `kql produce` writes to, created only when the first batch is ready to go,
/// so that input which fails before anything is written leaves no topic behind.
struct Target<'a> {
    topic: &'a str,
    partitions: u32,
    /// The topic's partition count once known (it exists, or was created here).
    existing: Option<u32>,
    created: bool,
}

impl Target<'_> {
    /// A record's explicit partition beyond the topic's partitions, as an error.
    fn check_partition(&self, r: &ProducerRecord) -> Result<(), String> {
        let count = self.existing.unwrap_or(self.partitions);
        match r.partition {
            Some(p) if p >= count => Err(format!(
                "\"partition\" is {p}, and topic '{}' has {} (0 to {})",
                self.topic,
                crate::diagnostic::count(count, "partition"),
                count - 1
            )),
            _ => Ok(()),
        }
    }

    fn ensure(&mut self, log: &mut LogAccess) -> Result<(), Failure> {
        if self.existing.is_some() {
            return Ok(());
        }
        let config = TopicConfig {
            partitions: self.partitions,
            ..TopicConfig::default()
        };
        self.created = log
            .ensure_topic(self.topic, config)
            .map_err(|e| topic_error(format!("cannot create topic '{}': {e}", self.topic)))?;
        if self.created {
            eprintln!(
                "Created topic '{}' with {}",
                self.topic,
                crate::diagnostic::count(self.partitions, "partition")
            );
        }
        self.existing = Some(self.partitions);
        Ok(())
    }
}

/// Appends JSON-lines records to a topic (created with `partitions` if missing). A line
/// that is not a record is reported with its line number; nothing after it is written.
/// Records go in batches: a batch is sent when it is full or when no more input is ready,
/// so lines typed or piped one at a time are appended at once. When the first batch cannot
/// be written, a topic created for it is deleted again.
pub fn produce(cli: &Cli, data_dir: Option<&Path>, args: ProduceArgs) -> Result<(), Failure> {
    let ProduceArgs {
        topic,
        file,
        partitions,
        print_offsets,
        mut shape,
    } = args;
    let mut log = LogAccess::open(cli, data_dir)?;
    let mut target = Target {
        topic,
        partitions,
        existing: log
            .partition_count(topic)
            .map_err(|e| topic_error(format!("cannot describe topic '{topic}': {e}")))?,
        created: false,
    };
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
    let mut send = |log: &mut LogAccess, target: &mut Target, batch: &mut Vec<ProducerRecord>| {
        if batch.is_empty() {
            return Ok(());
        }
        target.ensure(log)?;
        let placed = match log.produce(topic, batch) {
            Ok(placed) => placed,
            Err(e) => {
                if count == 0 && target.created {
                    // Nothing of the input is in it: the topic is not left behind.
                    if log.delete_topic(topic).is_ok() {
                        eprintln!("Deleted topic '{topic}' again: no record could be written");
                    }
                }
                return Err(topic_error(format!("cannot write to '{topic}': {e}")));
            }
        };
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
            let parsed = shape
                .parse(&line)
                .and_then(|r| target.check_partition(&r).map(|()| r));
            match parsed {
                Ok(record) => batch.push(record),
                Err(why) => {
                    send(&mut log, &mut target, &mut batch)?;
                    return Err(Failure::plain(
                        Diagnostic::new(Code::FileError, format!("{file}:{line_no}: {why}"))
                            .help(PRODUCE_LINE_HELP),
                    ));
                }
            }
        }
        if batch.len() >= PRODUCE_BATCH_RECORDS || reader.buffer().is_empty() {
            send(&mut log, &mut target, &mut batch)?;
        }
    }
    send(&mut log, &mut target, &mut batch)?;
    log.flush().map_err(|e| topic_error(e.to_string()))?;
    eprintln!(
        "Produced {} to '{topic}'",
        crate::diagnostic::count(count, "record")
    );
    Ok(())
}

const PRODUCE_LINE_HELP: &str = r#"each line is a JSON value such as {"sensor":"s-1","temp":21.5} (--key-field and --timestamp-field take the key and time from its fields), or a record {"key":"s-1","value":{"temp":21.5},"timestamp":1700000000000} where only "value" is required; the first line decides which"#;

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
            "{}: {}, {}",
            t.name,
            crate::diagnostic::count(t.config.partitions, "partition"),
            crate::diagnostic::count(t.config.replicas, "replica")
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
