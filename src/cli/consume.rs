//! `kql consume TOPIC --group G --data-dir DIR`: one member of a consumer group. Several
//! of them (separate processes on one data directory) share the topic's partitions: the
//! first to open the directory owns it and the others join through its socket. Each
//! prints its assignment at every rebalance (on stderr), the records of its partitions as
//! JSON lines (on stdout), and commits its positions after each batch, so DESCRIBE
//! CONSUMER GROUP shows them. Ctrl-C commits, leaves the group, and the others rebalance.
//!
//! With `--bootstrap-servers` the member is a Kafka consumer of a cluster or of `kql
//! serve` (`kafka::TopicConsumer`), printing the same lines; without `--group` there it
//! reads every partition and commits nothing.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kql_runtime::local::{self, LocalClient, Opened, Polled};
use kql_runtime::{Cluster, Consumer, ConsumerConfig, LogError, OffsetReset, Record, Settings};

use super::{cannot_open, Cli, Failure};
use crate::diagnostic::{Code, Diagnostic};
use crate::kafka::KafkaSettings;

/// How long an idle member sleeps between polls at most (woken earlier by appends when it
/// owns the log).
const IDLE_POLL: Duration = Duration::from_millis(100);
/// How long to wait for a starting owner of the directory, or a dead one's lock.
const OWNER_WAIT: Duration = Duration::from_secs(10);

/// A group member: in this process when it owns the data directory, else through the
/// owner's socket (the owner keeps the member's consumer; closing the connection leaves).
enum Member {
    Owner {
        cluster: Cluster,
        consumer: Consumer,
    },
    Client {
        client: LocalClient,
        member_id: String,
    },
}

impl Member {
    /// Opens the directory (as its owner, or a client of the owner) and joins the group.
    fn join(
        cli: &Cli,
        dir: &Path,
        group: &str,
        topic: &str,
        reset: OffsetReset,
    ) -> Result<Member, Failure> {
        Member::join_log(cli, dir, group, topic, reset).map_err(|e| match e {
            LogError::DirectoryInUse(_) => cannot_open(dir, e),
            e => failure(topic, e, TOPICS_HELP),
        })
    }

    fn join_log(
        cli: &Cli,
        dir: &Path,
        group: &str,
        topic: &str,
        reset: OffsetReset,
    ) -> Result<Member, LogError> {
        match local::open_or_connect(dir, cli.brokers, Settings::default(), OWNER_WAIT)? {
            Opened::Owner(cluster) => {
                let config = ConsumerConfig {
                    auto_offset_reset: reset,
                    ..ConsumerConfig::default()
                };
                let consumer = Consumer::join(&cluster, group, &[topic], config)?;
                Ok(Member::Owner { cluster, consumer })
            }
            Opened::Client(mut client) => {
                let member_id = client.subscribe(group, topic, reset)?;
                Ok(Member::Client { client, member_id })
            }
        }
    }

    fn poll(&mut self) -> Result<Polled, LogError> {
        match self {
            Member::Owner { consumer, .. } => {
                let records = consumer.poll()?;
                Ok(Polled {
                    generation: consumer.generation(),
                    assignment: consumer.assignment()?,
                    records,
                })
            }
            Member::Client { client, .. } => client.poll(),
        }
    }

    fn commit(&mut self) -> Result<(), LogError> {
        match self {
            Member::Owner { consumer, .. } => consumer.commit(),
            Member::Client { client, .. } => client.commit(),
        }
    }

    fn member_id(&self) -> &str {
        match self {
            Member::Owner { consumer, .. } => consumer.member_id(),
            Member::Client { member_id, .. } => member_id,
        }
    }

    /// Waits for new records: on the append signal when the log is here, else a pause.
    fn idle(&self, seen: &mut u64) {
        match self {
            Member::Owner { cluster, .. } => *seen = cluster.wait_for_appends(*seen, IDLE_POLL),
            Member::Client { .. } => std::thread::sleep(IDLE_POLL),
        }
    }
}

pub fn consume(
    cli: &Cli,
    topic: &str,
    group: Option<&str>,
    data_dir: Option<&Path>,
    reset: OffsetReset,
) -> Result<(), Failure> {
    if let Some(settings) = super::kafka_settings(cli)? {
        super::refuse_data_dir_on_kafka(data_dir)?;
        return consume_kafka(settings, topic, group, reset);
    }
    let Some(dir) = data_dir else {
        return Err(Failure::plain(
            Diagnostic::new(
                Code::Unsupported,
                "kql consume needs --data-dir or --bootstrap-servers: without them the log is this process's own, and empty",
            )
            .help("give the directory the producers and queries use: kql consume TOPIC --group G --data-dir DIR; or a Kafka cluster or kql serve: kql consume TOPIC --bootstrap-servers HOST:PORT"),
        ));
    };
    let Some(group) = group else {
        return Err(Failure::plain(
            Diagnostic::new(
                Code::Unsupported,
                "kql consume on a data directory needs --group: it reads as a member of a consumer group",
            )
            .help(format!("kql consume {topic} --group G --data-dir DIR")),
        ));
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let _ = ctrlc::set_handler(move || stopping.store(true, Ordering::SeqCst));
    let mut member = Member::join(cli, dir, group, topic, reset)?;
    let mut generation = None;
    let mut seen = 0u64;
    let mut count = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let polled = match member.poll() {
            Ok(p) => p,
            // The directory's owner went away: open it again (as owner, or as a client of
            // the next owner) and rejoin; positions resume from the committed offsets.
            Err(LogError::Remote(why)) if owner_gone(&why) => {
                eprintln!("The data directory's owner went away ({why}); joining again");
                member = Member::join(cli, dir, group, topic, reset)?;
                generation = None;
                continue;
            }
            Err(e) => return Err(failure(topic, e, TOPICS_HELP)),
        };
        if generation != Some(polled.generation) {
            generation = Some(polled.generation);
            let partitions = partitions_of(topic, &polled);
            eprintln!(
                "{}",
                assignment_line(
                    polled.generation,
                    group,
                    topic,
                    member.member_id(),
                    &partitions
                )
            );
        }
        if polled.records.is_empty() {
            member.idle(&mut seen);
            continue;
        }
        print_records(
            polled
                .records
                .iter()
                .map(|r| (r.topic.as_str(), r.partition, &r.record)),
        );
        count += polled.records.len() as u64;
        match member.commit() {
            // A rebalance since the poll: the next poll follows it; the partitions' new
            // owners start at the last commit (records may be seen twice, never lost).
            Ok(()) | Err(LogError::CommitFailed { .. }) => {}
            Err(LogError::Remote(why)) if why.starts_with("commit failed") => {}
            Err(e) => return Err(failure(topic, e, TOPICS_HELP)),
        }
    }
    let _ = member.commit();
    drop(member); // leaves the group: the others rebalance
    eprintln!(
        "Consumed {} from '{topic}'; left group '{group}'",
        crate::diagnostic::count(count, "record")
    );
    Ok(())
}

/// Whether a socket error says the owner's connection is gone (not that a request failed).
fn owner_gone(why: &str) -> bool {
    why.starts_with("the connection to the owner") || why.starts_with("the owner closed")
}

const TOPICS_HELP: &str = "`kql topics --data-dir DIR` lists the topics";

fn failure(topic: &str, e: LogError, help: &str) -> Failure {
    Failure::plain(
        Diagnostic::new(Code::TopicError, format!("cannot consume '{topic}': {e}")).help(help),
    )
}

/// `kql consume` on a Kafka cluster or `kql serve`: a member of `group` (or, without one,
/// a reader of every partition), its assignment printed after each rebalance.
fn consume_kafka(
    settings: KafkaSettings,
    topic: &str,
    group: Option<&str>,
    reset: OffsetReset,
) -> Result<(), Failure> {
    const HELP: &str = "`kql topics --bootstrap-servers HOST:PORT` lists the topics";
    let log = super::connect_kafka(settings)?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let _ = ctrlc::set_handler(move || stopping.store(true, Ordering::SeqCst));
    let mut consumer = log
        .topic_consumer(topic, group, reset)
        .map_err(|e| failure(topic, e, HELP))?;
    let mut count = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let polled = consumer
            .poll(IDLE_POLL)
            .map_err(|e| failure(topic, e, HELP))?;
        if let Some(assigned) = &polled.assignment {
            let line = match (group, assigned.generation) {
                (Some(group), Some(generation)) => assignment_line(
                    generation,
                    group,
                    topic,
                    &consumer.client_id,
                    &assigned.partitions,
                ),
                // librdkafka names no generation: say what the member was given.
                (Some(group), None) => assignment_line(
                    "unknown",
                    group,
                    topic,
                    &consumer.client_id,
                    &assigned.partitions,
                ),
                (None, _) => format!(
                    "Reading {} of '{topic}' (no group: nothing is committed)",
                    partition_list(&assigned.partitions)
                ),
            };
            eprintln!("{line}");
        }
        if polled.records.is_empty() {
            continue;
        }
        print_records(polled.records.iter().map(|(p, r)| (topic, *p, r)));
        count += polled.records.len() as u64;
        consumer.commit().map_err(|e| failure(topic, e, HELP))?;
    }
    let _ = consumer.commit();
    drop(consumer); // leaves the group: the others rebalance
    let left = group.map_or(String::new(), |g| format!("; left group '{g}'"));
    eprintln!(
        "Consumed {} from '{topic}'{left}",
        crate::diagnostic::count(count, "record")
    );
    Ok(())
}

/// `Generation 2: partition 1 of 'clicks' (group 'g', member consumer-00000001)`, the
/// generation being the group's (the coordinator's, on a data directory as on Kafka or
/// kql serve); or no partition when the group has more members than the topic has
/// partitions.
fn assignment_line(
    generation: impl std::fmt::Display,
    group: &str,
    topic: &str,
    member: &str,
    partitions: &[u32],
) -> String {
    let who = format!("group '{group}', member {member}");
    if partitions.is_empty() {
        return format!(
            "Generation {generation}: no partition of '{topic}' ({who}): the group has more members than the topic has partitions"
        );
    }
    format!(
        "Generation {generation}: {} of '{topic}' ({who})",
        partition_list(partitions)
    )
}

/// `partition 1`, `partitions 0, 1`.
fn partition_list(partitions: &[u32]) -> String {
    let list: Vec<String> = partitions.iter().map(u32::to_string).collect();
    format!(
        "{} {}",
        if partitions.len() == 1 {
            "partition"
        } else {
            "partitions"
        },
        list.join(", ")
    )
}

/// The partitions of `topic` a member of the log's group owns, sorted.
fn partitions_of(topic: &str, polled: &Polled) -> Vec<u32> {
    let mut partitions: Vec<u32> = polled
        .assignment
        .iter()
        .filter(|(t, _)| t == topic)
        .map(|&(_, p)| p)
        .collect();
    partitions.sort_unstable();
    partitions
}

/// One JSON object per record, in PRINT's shape: topic, partition, offset, timestamp, key
/// and value (JSON when the bytes are JSON, else text), and the record's headers when it
/// has any (`[{"key":..,"value":..}]`, the value as text, or hex `0x..` when not UTF-8).
fn print_records<'a>(records: impl Iterator<Item = (&'a str, u32, &'a Record)>) {
    let text = |b: &Option<bytes::Bytes>| -> serde_json::Value {
        match b {
            None => serde_json::Value::Null,
            Some(b) => serde_json::from_slice(b)
                .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(b).into())),
        }
    };
    /// The fields in PRINT's order.
    #[derive(serde::Serialize)]
    struct Line<'a> {
        topic: &'a str,
        partition: u32,
        offset: u64,
        timestamp: i64,
        key: serde_json::Value,
        value: serde_json::Value,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        headers: Vec<HeaderLine<'a>>,
    }
    #[derive(serde::Serialize)]
    struct HeaderLine<'a> {
        key: &'a str,
        /// null for a null header value
        value: Option<String>,
    }
    let mut out = std::io::stdout().lock();
    for (topic, partition, r) in records {
        let line = Line {
            topic,
            partition,
            offset: r.offset,
            timestamp: r.timestamp_ms,
            key: text(&r.key),
            value: text(&r.value),
            headers: r
                .headers
                .iter()
                .map(|h| HeaderLine {
                    key: &h.name,
                    value: h.value.as_deref().map(crate::exec::log::header_text),
                })
                .collect(),
        };
        let _ = serde_json::to_writer(&mut out, &line);
        let _ = writeln!(out);
    }
    let _ = out.flush();
}
