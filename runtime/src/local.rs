//! Several processes on one data directory. The process that opened the directory (its
//! lock holder, the owner) serves a small request protocol on the Unix socket
//! `DIR/kql.sock`: other processes create topics, append records and describe topics
//! through it, so every write still goes through the one process that owns the log, and
//! the owner's live readers see the records at once. When the owner dies the kernel
//! drops its lock; the next process to open the directory recovers it and serves.
//!
//! The protocol is one JSON object per line each way: a request, then its answer
//! (`{"ok": ...}` or `{"error": "..."}`). A connection carries any number of requests.
//! A connection may also be one member of a consumer group: the owner keeps a `Consumer`
//! for it (join, poll, commit), and the member leaves the group when the connection
//! closes, so a consumer process that dies is not left holding partitions.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::cluster::{BrokerInfo, Cluster, Inner, TopicInfo};
use crate::consumer::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset};
use crate::error::LogError;
use crate::group::GroupInfo;
use crate::record::{Header, ProducerRecord, ProducerRef, Record, RecordMetadata};
use crate::replica::Acks;
use crate::settings::TopicConfig;

/// The socket's file name inside the data directory.
pub const SOCKET_FILE: &str = "kql.sock";

pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET_FILE)
}

/// Bytes on the wire: text when they are UTF-8 (the usual JSON values), else numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Payload {
    Text(String),
    Bytes(Vec<u8>),
}

impl Payload {
    fn of(b: &[u8]) -> Payload {
        match std::str::from_utf8(b) {
            Ok(s) => Payload::Text(s.to_string()),
            Err(_) => Payload::Bytes(b.to_vec()),
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Payload::Text(s) => Bytes::from(s.into_bytes()),
            Payload::Bytes(b) => Bytes::from(b),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct WireRecord {
    key: Option<Payload>,
    value: Option<Payload>,
    timestamp_ms: Option<i64>,
    partition: Option<u32>,
    headers: Vec<(String, Option<Payload>)>,
}

impl WireRecord {
    fn of(r: &ProducerRecord) -> WireRecord {
        WireRecord {
            key: r.key.as_deref().map(Payload::of),
            value: r.value.as_deref().map(Payload::of),
            timestamp_ms: r.timestamp_ms,
            partition: r.partition,
            headers: r
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.as_deref().map(Payload::of)))
                .collect(),
        }
    }

    fn of_ref(r: &ProducerRef) -> WireRecord {
        WireRecord {
            key: r.key.map(Payload::of),
            value: r.value.map(Payload::of),
            timestamp_ms: r.timestamp_ms,
            partition: None,
            headers: r
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.as_deref().map(Payload::of)))
                .collect(),
        }
    }

    fn into_record(self) -> ProducerRecord {
        ProducerRecord {
            key: self.key.map(Payload::into_bytes),
            value: self.value.map(Payload::into_bytes),
            timestamp_ms: self.timestamp_ms,
            partition: self.partition,
            headers: self
                .headers
                .into_iter()
                .map(|(name, v)| Header {
                    name,
                    value: v.map(Payload::into_bytes),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    /// Creates the topic unless it exists; answers whether it was created.
    EnsureTopic {
        topic: String,
        config: TopicConfig,
    },
    /// Appends with acks=all; answers each record's (partition, offset, timestamp).
    Produce {
        topic: String,
        records: Vec<WireRecord>,
    },
    /// Answers every topic's partitions and offsets.
    DescribeTopics,
    /// Makes this connection a member of `group`, subscribed to `topic`.
    Subscribe {
        group: String,
        topic: String,
        /// `earliest` or `latest`: where a partition without a committed offset starts.
        offset_reset: String,
    },
    /// The member's next records, with the generation and assignment they were read in.
    Poll,
    /// Commits the member's positions (fails after a rebalance the member has not polled).
    Commit,
    // The rest is the whole log, for a process that runs queries beside the owner (a second
    // shell, a `kql run`): each request is one method of the owner's `Cluster`.
    CreateTopic {
        topic: String,
        config: TopicConfig,
    },
    DeleteTopic {
        topic: String,
    },
    TopicNames,
    PartitionCount {
        topic: String,
    },
    DescribeTopic {
        topic: String,
    },
    ProduceBatch {
        topic: String,
        partition: u32,
        records: Vec<WireRecord>,
        acks: Acks,
    },
    ProduceOne {
        topic: String,
        record: WireRecord,
        acks: Acks,
    },
    PartitionFor {
        topic: String,
        key: Option<Payload>,
    },
    Fetch {
        topic: String,
        partition: u32,
        from: u64,
        until: u64,
        max_records: usize,
    },
    Offsets {
        topic: String,
        partition: u32,
    },
    OffsetForTimestamp {
        topic: String,
        partition: u32,
        timestamp_ms: i64,
    },
    AppendCount,
    /// Answers when an append batch after `seen` happens, or after `timeout_ms`.
    WaitForAppends {
        seen: u64,
        timeout_ms: u64,
    },
    CommitOffset {
        group: String,
        topic: String,
        partition: u32,
        offset: u64,
    },
    CommittedOffset {
        group: String,
        topic: String,
        partition: u32,
    },
    GroupNames,
    DescribeGroup {
        group: String,
    },
    Brokers,
    StopBroker {
        id: u32,
    },
    StartBroker {
        id: u32,
    },
}

/// What one poll of a group member through the socket gives.
#[derive(Debug, Clone)]
pub struct Polled {
    pub generation: u64,
    /// The member's partitions in this generation.
    pub assignment: Vec<(String, u32)>,
    pub records: Vec<ConsumerRecord>,
}

/// `Polled` on the wire.
#[derive(Debug, Serialize, Deserialize)]
struct WirePolled {
    generation: u64,
    assignment: Vec<(String, u32)>,
    /// (topic, partition, offset, timestamp, key, value)
    records: Vec<(String, u32, u64, i64, Option<Payload>, Option<Payload>)>,
}

impl WirePolled {
    fn of(p: Polled) -> WirePolled {
        WirePolled {
            generation: p.generation,
            assignment: p.assignment,
            records: p
                .records
                .into_iter()
                .map(|r| {
                    (
                        r.topic,
                        r.partition,
                        r.record.offset,
                        r.record.timestamp_ms,
                        r.record.key.as_deref().map(Payload::of),
                        r.record.value.as_deref().map(Payload::of),
                    )
                })
                .collect(),
        }
    }

    fn into_polled(self) -> Polled {
        Polled {
            generation: self.generation,
            assignment: self.assignment,
            records: self
                .records
                .into_iter()
                .map(
                    |(topic, partition, offset, timestamp_ms, key, value)| ConsumerRecord {
                        topic,
                        partition,
                        record: Record {
                            offset,
                            timestamp_ms,
                            key: key.map(Payload::into_bytes),
                            value: value.map(Payload::into_bytes),
                            headers: Vec::new(),
                        },
                    },
                )
                .collect(),
        }
    }
}

/// A record as a fetch answers it.
#[derive(Debug, Serialize, Deserialize)]
struct WireFetched {
    offset: u64,
    timestamp_ms: i64,
    key: Option<Payload>,
    value: Option<Payload>,
    headers: Vec<(String, Option<Payload>)>,
}

/// The longest a `WaitForAppends` request may block the owner's connection thread.
const WAIT_FOR_APPENDS_MAX_MS: u64 = 1_000;

/// What `describe_topics` tells about one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionSummary {
    pub partition: u32,
    pub leader: Option<u32>,
    pub log_start_offset: u64,
    pub log_end_offset: u64,
    pub high_watermark: u64,
    pub size_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSummary {
    pub name: String,
    pub config: TopicConfig,
    pub partitions: Vec<PartitionSummary>,
}

/// The owner's side: a thread accepting connections, one thread per connection. It
/// holds the cluster weakly, so the cluster closes as usual; dropping the server stops it
/// and removes the socket file.
pub(crate) struct LocalServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    /// Requests being handled or answered now: stopping waits for them, so a request
    /// the owner carried out (an append) is answered before the process exits.
    in_flight: Arc<AtomicUsize>,
}

/// How long stopping waits for requests in flight to be answered.
const ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl LocalServer {
    pub(crate) fn start(dir: &Path, cluster: Weak<Inner>) -> Result<LocalServer, LogError> {
        let path = socket_path(dir);
        // Only the lock holder binds, so a socket file left here belongs to a dead owner.
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)
            .map_err(|e| LogError::Io(format!("cannot serve {}: {e}", path.display())))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let busy = in_flight.clone();
        std::thread::Builder::new()
            .name("kql-local-server".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stopped.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let cluster = cluster.clone();
                    let busy = busy.clone();
                    let _ = std::thread::Builder::new()
                        .name("kql-local-conn".into())
                        .spawn(move || serve(conn, cluster, &busy));
                }
            })
            .map_err(|e| LogError::Io(e.to_string()))?;
        Ok(LocalServer {
            path,
            stop,
            in_flight,
        })
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = UnixStream::connect(&self.path); // wakes the accepting thread
        let _ = std::fs::remove_file(&self.path);
        let deadline = std::time::Instant::now() + ANSWER_WAIT;
        while self.in_flight.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

fn serve(conn: UnixStream, cluster: Weak<Inner>, in_flight: &AtomicUsize) {
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut writer = std::io::BufWriter::new(write_half);
    // The group member this connection is, if it subscribed; dropped (leaving the group)
    // when the connection ends.
    let mut member: Option<Consumer> = None;
    for line in BufReader::new(conn).lines() {
        let Ok(line) = line else { return };
        let Some(inner) = cluster.upgrade() else {
            return; // the cluster closed
        };
        in_flight.fetch_add(1, Ordering::SeqCst);
        let _answered = Answered(in_flight);
        let cluster = Cluster::from_inner(inner);
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(request) => handle(&cluster, &mut member, request),
            Err(e) => Err(LogError::Remote(format!("not a request: {e}"))),
        };
        let reply = match answer {
            Ok(v) => serde_json::json!({ "ok": v }),
            // The error itself travels, so the caller handles it as its own.
            Err(e) => serde_json::json!({ "error": e.to_string(), "log_error": e }),
        };
        if writeln!(writer, "{reply}")
            .and_then(|_| writer.flush())
            .is_err()
        {
            return;
        }
    }
}

/// Counts a request out of flight when its answer is written (or the connection failed).
struct Answered<'a>(&'a AtomicUsize);

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn handle(
    cluster: &Cluster,
    member: &mut Option<Consumer>,
    request: Request,
) -> Result<serde_json::Value, LogError> {
    fn json<T: Serialize>(v: T) -> Result<serde_json::Value, LogError> {
        serde_json::to_value(v).map_err(|e| LogError::Remote(e.to_string()))
    }
    match request {
        Request::EnsureTopic { topic, config } => {
            if cluster.partition_count(&topic).is_some() {
                return Ok(serde_json::Value::Bool(false));
            }
            match cluster.create_topic(&topic, config) {
                Ok(()) => Ok(serde_json::Value::Bool(true)),
                Err(LogError::TopicExists(_)) => Ok(serde_json::Value::Bool(false)),
                Err(e) => Err(e),
            }
        }
        Request::Produce { topic, records } => {
            let records: Vec<ProducerRecord> =
                records.into_iter().map(WireRecord::into_record).collect();
            let placed = cluster.produce_many(&topic, &records, Acks::All)?;
            let placed: Vec<(u32, u64, i64)> = placed
                .iter()
                .map(|m| (m.partition, m.offset, m.timestamp_ms))
                .collect();
            json(placed)
        }
        Request::DescribeTopics => json(topic_summaries(cluster)),
        Request::CreateTopic { topic, config } => json(cluster.create_topic(&topic, config)?),
        Request::DeleteTopic { topic } => json(cluster.delete_topic(&topic)?),
        Request::TopicNames => json(cluster.topic_names()),
        Request::PartitionCount { topic } => json(cluster.partition_count(&topic)),
        Request::DescribeTopic { topic } => json(cluster.describe_topic(&topic)?),
        Request::ProduceBatch {
            topic,
            partition,
            records,
            acks,
        } => {
            let records: Vec<ProducerRecord> =
                records.into_iter().map(WireRecord::into_record).collect();
            json(cluster.produce_batch(&topic, partition, records, acks)?)
        }
        Request::ProduceOne {
            topic,
            record,
            acks,
        } => {
            let m = cluster.produce(&topic, record.into_record(), acks)?;
            json((m.partition, m.offset, m.timestamp_ms))
        }
        Request::PartitionFor { topic, key } => {
            let key = key.map(Payload::into_bytes);
            json(cluster.partition_for(&topic, key.as_deref())?)
        }
        Request::Fetch {
            topic,
            partition,
            from,
            until,
            max_records,
        } => {
            let records = if from >= until {
                Vec::new()
            } else {
                cluster.fetch(&topic, partition, from, max_records)?
            };
            let records: Vec<WireFetched> = records
                .iter()
                .take_while(|r| r.offset < until)
                .map(|r| WireFetched {
                    offset: r.offset,
                    timestamp_ms: r.timestamp_ms,
                    key: r.key.as_deref().map(Payload::of),
                    value: r.value.as_deref().map(Payload::of),
                    headers: r
                        .headers
                        .iter()
                        .map(|h| (h.name.clone(), h.value.as_deref().map(Payload::of)))
                        .collect(),
                })
                .collect();
            json(records)
        }
        Request::Offsets { topic, partition } => json(cluster.offsets(&topic, partition)?),
        Request::OffsetForTimestamp {
            topic,
            partition,
            timestamp_ms,
        } => json(cluster.offset_for_timestamp(&topic, partition, timestamp_ms)?),
        Request::AppendCount => json(cluster.append_count()),
        Request::WaitForAppends { seen, timeout_ms } => json(cluster.wait_for_appends(
            seen,
            std::time::Duration::from_millis(timeout_ms.min(WAIT_FOR_APPENDS_MAX_MS)),
        )),
        Request::CommitOffset {
            group,
            topic,
            partition,
            offset,
        } => json(cluster.commit_offset(&group, &topic, partition, offset)?),
        Request::CommittedOffset {
            group,
            topic,
            partition,
        } => json(cluster.committed_offset(&group, &topic, partition)),
        Request::GroupNames => json(cluster.groups()),
        Request::DescribeGroup { group } => json(cluster.describe_group(&group)?),
        Request::Brokers => json(cluster.brokers()),
        Request::StopBroker { id } => json(cluster.stop_broker(id)?),
        Request::StartBroker { id } => json(cluster.start_broker(id)?),
        Request::Subscribe {
            group,
            topic,
            offset_reset,
        } => {
            if member.is_some() {
                return Err(LogError::Remote(
                    "this connection is already a member of a group".into(),
                ));
            }
            let config = ConsumerConfig {
                auto_offset_reset: offset_reset.parse()?,
                ..ConsumerConfig::default()
            };
            let consumer = Consumer::join(cluster, &group, &[&topic], config)?;
            let id = consumer.member_id().to_string();
            *member = Some(consumer);
            Ok(serde_json::Value::String(id))
        }
        Request::Poll => {
            let consumer = member
                .as_mut()
                .ok_or_else(|| LogError::Remote(NOT_A_MEMBER.into()))?;
            let records = consumer.poll()?;
            let polled = Polled {
                generation: consumer.generation(),
                assignment: consumer.assignment()?,
                records,
            };
            json(WirePolled::of(polled))
        }
        Request::Commit => {
            let consumer = member
                .as_mut()
                .ok_or_else(|| LogError::Remote(NOT_A_MEMBER.into()))?;
            consumer.commit()?;
            Ok(serde_json::Value::Null)
        }
    }
}

const NOT_A_MEMBER: &str = "this connection is not a member of a group: subscribe first";

/// Every user topic with its partitions' offsets (what `describe_topics` answers).
pub fn topic_summaries(cluster: &Cluster) -> Vec<TopicSummary> {
    let mut topics = Vec::new();
    for name in cluster.topic_names() {
        let Ok(info) = cluster.describe_topic(&name) else {
            continue; // deleted meanwhile
        };
        topics.push(summary_of(&info));
    }
    topics
}

/// What a listing of topics shows of one.
pub fn summary_of(info: &crate::cluster::TopicInfo) -> TopicSummary {
    TopicSummary {
        name: info.name.clone(),
        config: info.config.clone(),
        partitions: info
            .partitions
            .iter()
            .map(|p| PartitionSummary {
                partition: p.partition,
                leader: p.leader,
                log_start_offset: p.log_start_offset,
                log_end_offset: p.log_end_offset,
                high_watermark: p.high_watermark,
                size_bytes: p.size_bytes,
            })
            .collect(),
    }
}

/// A process that does not own the data directory: its requests go to the owner.
pub struct LocalClient {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl LocalClient {
    /// Connects to the owner of `dir`; fails when no process serves it.
    pub fn connect(dir: &Path) -> std::io::Result<LocalClient> {
        let stream = UnixStream::connect(socket_path(dir))?;
        Ok(LocalClient {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    fn call(&mut self, request: &Request) -> Result<serde_json::Value, LogError> {
        let lost = |e: std::io::Error| {
            LogError::Remote(format!("the connection to the owner was lost: {e}"))
        };
        let mut line = serde_json::to_string(request).map_err(|e| LogError::Io(e.to_string()))?;
        line.push('\n');
        self.writer.write_all(line.as_bytes()).map_err(lost)?;
        let mut answer = String::new();
        let n = self.reader.read_line(&mut answer).map_err(lost)?;
        if n == 0 {
            return Err(LogError::Remote(
                "the owner closed the connection before answering".into(),
            ));
        }
        let mut v: serde_json::Value =
            serde_json::from_str(&answer).map_err(|e| LogError::Remote(e.to_string()))?;
        if let Some(e) = v.get_mut("log_error").map(serde_json::Value::take) {
            if let Ok(e) = serde_json::from_value::<LogError>(e) {
                return Err(e);
            }
        }
        if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
            return Err(LogError::Remote(e.to_string()));
        }
        Ok(v.get_mut("ok")
            .map(serde_json::Value::take)
            .unwrap_or_default())
    }

    /// Creates `topic` unless it exists; true when this call created it.
    pub fn ensure_topic(&mut self, topic: &str, config: TopicConfig) -> Result<bool, LogError> {
        let v = self.call(&Request::EnsureTopic {
            topic: topic.to_string(),
            config,
        })?;
        Ok(v.as_bool().unwrap_or(false))
    }

    /// Appends records with acks=all through the owner; each record's place, in order.
    /// When this returns, the owner has written the records to its log.
    pub fn produce(
        &mut self,
        topic: &str,
        records: &[ProducerRecord],
    ) -> Result<Vec<RecordMetadata>, LogError> {
        let v = self.call(&Request::Produce {
            topic: topic.to_string(),
            records: records.iter().map(WireRecord::of).collect(),
        })?;
        let placed: Vec<(u32, u64, i64)> =
            serde_json::from_value(v).map_err(|e| LogError::Remote(e.to_string()))?;
        Ok(placed
            .into_iter()
            .map(|(partition, offset, timestamp_ms)| RecordMetadata {
                partition,
                offset,
                timestamp_ms,
            })
            .collect())
    }

    /// Every user topic with its partitions' offsets.
    pub fn describe_topics(&mut self) -> Result<Vec<TopicSummary>, LogError> {
        self.call_as(&Request::DescribeTopics)
    }

    fn call_as<T: serde::de::DeserializeOwned>(
        &mut self,
        request: &Request,
    ) -> Result<T, LogError> {
        let v = self.call(request)?;
        serde_json::from_value(v)
            .map_err(|e| LogError::Remote(format!("an answer not understood: {e}")))
    }

    pub fn create_topic(&mut self, topic: &str, config: TopicConfig) -> Result<(), LogError> {
        self.call_as(&Request::CreateTopic {
            topic: topic.to_string(),
            config,
        })
    }

    pub fn delete_topic(&mut self, topic: &str) -> Result<(), LogError> {
        self.call_as(&Request::DeleteTopic {
            topic: topic.to_string(),
        })
    }

    pub fn topic_names(&mut self) -> Result<Vec<String>, LogError> {
        self.call_as(&Request::TopicNames)
    }

    pub fn partition_count(&mut self, topic: &str) -> Result<Option<u32>, LogError> {
        self.call_as(&Request::PartitionCount {
            topic: topic.to_string(),
        })
    }

    pub fn describe_topic(&mut self, topic: &str) -> Result<TopicInfo, LogError> {
        self.call_as(&Request::DescribeTopic {
            topic: topic.to_string(),
        })
    }

    /// Appends records to one partition; the offset of the first.
    pub fn produce_batch(
        &mut self,
        topic: &str,
        partition: u32,
        records: &[ProducerRef],
        acks: Acks,
    ) -> Result<u64, LogError> {
        self.call_as(&Request::ProduceBatch {
            topic: topic.to_string(),
            partition,
            records: records.iter().map(WireRecord::of_ref).collect(),
            acks,
        })
    }

    /// Appends one record where it names or the partitioner picks.
    pub fn produce_one(
        &mut self,
        topic: &str,
        record: &ProducerRecord,
        acks: Acks,
    ) -> Result<RecordMetadata, LogError> {
        let (partition, offset, timestamp_ms) = self.call_as(&Request::ProduceOne {
            topic: topic.to_string(),
            record: WireRecord::of(record),
            acks,
        })?;
        Ok(RecordMetadata {
            partition,
            offset,
            timestamp_ms,
        })
    }

    pub fn partition_for(&mut self, topic: &str, key: Option<&[u8]>) -> Result<u32, LogError> {
        self.call_as(&Request::PartitionFor {
            topic: topic.to_string(),
            key: key.map(Payload::of),
        })
    }

    /// Committed records of a partition from `from` on, none at or after `until`.
    pub fn fetch(
        &mut self,
        topic: &str,
        partition: u32,
        from: u64,
        until: u64,
        max_records: usize,
    ) -> Result<Vec<Record>, LogError> {
        let records: Vec<WireFetched> = self.call_as(&Request::Fetch {
            topic: topic.to_string(),
            partition,
            from,
            until,
            max_records,
        })?;
        Ok(records
            .into_iter()
            .map(|r| Record {
                offset: r.offset,
                timestamp_ms: r.timestamp_ms,
                key: r.key.map(Payload::into_bytes),
                value: r.value.map(Payload::into_bytes),
                headers: r
                    .headers
                    .into_iter()
                    .map(|(name, v)| Header {
                        name,
                        value: v.map(Payload::into_bytes),
                    })
                    .collect(),
            })
            .collect())
    }

    /// Log start, high watermark and log end.
    pub fn offsets(&mut self, topic: &str, partition: u32) -> Result<(u64, u64, u64), LogError> {
        self.call_as(&Request::Offsets {
            topic: topic.to_string(),
            partition,
        })
    }

    pub fn offset_for_timestamp(
        &mut self,
        topic: &str,
        partition: u32,
        timestamp_ms: i64,
    ) -> Result<Option<u64>, LogError> {
        self.call_as(&Request::OffsetForTimestamp {
            topic: topic.to_string(),
            partition,
            timestamp_ms,
        })
    }

    pub fn append_count(&mut self) -> Result<u64, LogError> {
        self.call_as(&Request::AppendCount)
    }

    /// Blocks until an append batch after `seen` or `timeout` (at most a second).
    pub fn wait_for_appends(
        &mut self,
        seen: u64,
        timeout: std::time::Duration,
    ) -> Result<u64, LogError> {
        self.call_as(&Request::WaitForAppends {
            seen,
            timeout_ms: timeout.as_millis().min(u64::MAX as u128) as u64,
        })
    }

    pub fn commit_offset(
        &mut self,
        group: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), LogError> {
        self.call_as(&Request::CommitOffset {
            group: group.to_string(),
            topic: topic.to_string(),
            partition,
            offset,
        })
    }

    pub fn committed_offset(
        &mut self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, LogError> {
        self.call_as(&Request::CommittedOffset {
            group: group.to_string(),
            topic: topic.to_string(),
            partition,
        })
    }

    pub fn group_names(&mut self) -> Result<Vec<String>, LogError> {
        self.call_as(&Request::GroupNames)
    }

    pub fn describe_group(&mut self, group: &str) -> Result<GroupInfo, LogError> {
        self.call_as(&Request::DescribeGroup {
            group: group.to_string(),
        })
    }

    pub fn brokers(&mut self) -> Result<Vec<BrokerInfo>, LogError> {
        self.call_as(&Request::Brokers)
    }

    pub fn stop_broker(&mut self, id: u32) -> Result<(), LogError> {
        self.call_as(&Request::StopBroker { id })
    }

    pub fn start_broker(&mut self, id: u32) -> Result<(), LogError> {
        self.call_as(&Request::StartBroker { id })
    }

    /// Makes this connection a member of `group` reading `topic`; answers the member id.
    /// The member leaves the group when this client is dropped (the connection closes).
    pub fn subscribe(
        &mut self,
        group: &str,
        topic: &str,
        offset_reset: OffsetReset,
    ) -> Result<String, LogError> {
        let offset_reset = match offset_reset {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
            OffsetReset::None => "none",
        };
        let v = self.call(&Request::Subscribe {
            group: group.to_string(),
            topic: topic.to_string(),
            offset_reset: offset_reset.to_string(),
        })?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// The member's next records, following any rebalance first.
    pub fn poll(&mut self) -> Result<Polled, LogError> {
        let v = self.call(&Request::Poll)?;
        serde_json::from_value::<WirePolled>(v)
            .map(WirePolled::into_polled)
            .map_err(|e| LogError::Remote(e.to_string()))
    }

    /// Commits the member's positions.
    pub fn commit(&mut self) -> Result<(), LogError> {
        self.call(&Request::Commit).map(|_| ())
    }
}

/// A data directory opened by `open_or_connect`: owned by this process (and served to
/// others), or owned by another process that this one talks to.
pub enum Opened {
    Owner(Cluster),
    Client(LocalClient),
}

/// Opens `dir` as its owner, serving the others (`Cluster::serve_local`), or, when
/// another process holds it, connects to that process. An owner that is starting (locked,
/// not serving yet) or has just died (serving no more) is waited for, up to `wait`: then
/// the directory is recovered and owned here.
pub fn open_or_connect(
    dir: &Path,
    brokers: u32,
    settings: crate::settings::Settings,
    wait: std::time::Duration,
) -> Result<Opened, LogError> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match Cluster::open(dir, brokers, settings.clone()) {
            Ok(cluster) => {
                cluster.serve_local()?;
                return Ok(Opened::Owner(cluster));
            }
            Err(LogError::DirectoryInUse(d)) => {
                if let Ok(client) = LocalClient::connect(dir) {
                    return Ok(Opened::Client(client));
                }
                if std::time::Instant::now() >= deadline {
                    return Err(LogError::DirectoryInUse(d));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}
