//! Statements that show the log: brokers, topics (per partition: leader, replicas, ISR,
//! offsets, bytes, so key skew is visible), consumer groups (committed offsets and lag),
//! and the broker faults that make replication observable.

use crate::exec::log::{EmbeddedLog, LogHandle};

use super::output::{listing, Output};
use crate::data::Value;
use crate::diagnostic::{Code, Diagnostic};

fn ids(v: &[u32]) -> Value {
    Value::string(
        &v.iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(","),
    )
}

fn log_error(e: crate::exec::log::LogError) -> Diagnostic {
    Diagnostic::new(Code::TopicError, e.to_string())
}

/// The embedded log's own capabilities, or an error naming the statement that needs them.
fn embedded<'a>(log: &'a LogHandle, what: &str) -> Result<&'a dyn EmbeddedLog, Diagnostic> {
    log.embedded().ok_or_else(|| {
        Diagnostic::new(
            Code::TopicError,
            format!("{what} works on kql's embedded log only, not on this log"),
        )
    })
}

pub fn show_brokers(log: &LogHandle, out: &mut dyn Output) {
    let brokers = log.embedded().map(|e| e.brokers()).unwrap_or_default();
    let rows = brokers
        .into_iter()
        .map(|b| {
            vec![
                Value::Int(b.id as i32),
                Value::string(if b.alive { "up" } else { "stopped" }),
                Value::Int(b.leader_count as i32),
                Value::Int(b.replica_count as i32),
            ]
        })
        .collect();
    listing(out, &["Broker", "State", "Leaders", "Replicas"], rows);
}

pub fn show_topics(log: &LogHandle, out: &mut dyn Output) {
    let mut rows = Vec::new();
    for t in log
        .topic_names()
        .into_iter()
        .filter(|t| *t != super::naming::command_topic(log.application_id()))
    {
        if let Ok(info) = log.describe_topic(&t) {
            let records: u64 = info
                .partitions
                .iter()
                .map(|p| p.log_end_offset - p.log_start_offset)
                .sum();
            rows.push(vec![
                Value::string(&t),
                Value::Int(info.config.partitions as i32),
                Value::Int(info.config.replicas as i32),
                Value::Bigint(records as i64),
            ]);
        }
    }
    listing(
        out,
        &["Kafka Topic", "Partitions", "Replicas", "Records"],
        rows,
    );
}

pub fn describe_topic(log: &LogHandle, name: &str, out: &mut dyn Output) -> Result<(), Diagnostic> {
    let info = log.describe_topic(name).map_err(|e| {
        let mut d = log_error(e);
        if let Some(s) =
            crate::plan::catalog::did_you_mean(name, log.topic_names().iter().map(|s| s.as_str()))
        {
            d = d.help(format!(
                "did you mean '{s}'? (topic names are case-sensitive)"
            ));
        } else {
            d = d.help("SHOW TOPICS lists the topics");
        }
        d
    })?;
    let rows = info
        .partitions
        .iter()
        .map(|p| {
            vec![
                Value::Int(p.partition as i32),
                p.leader
                    .map_or(Value::string("none"), |l| Value::Int(l as i32)),
                ids(&p.replicas),
                ids(&p.isr),
                Value::Bigint(p.log_start_offset as i64),
                Value::Bigint(p.log_end_offset as i64),
                Value::Bigint(p.high_watermark as i64),
                Value::Bigint(p.size_bytes as i64),
            ]
        })
        .collect();
    listing(
        out,
        &[
            "Partition",
            "Leader",
            "Replicas",
            "ISR",
            "Log start",
            "Log end",
            "High watermark",
            "Bytes",
        ],
        rows,
    );
    let min_isr = info.config.min_insync_replicas;
    out.status(&format!(
        "Topic {}: {}, replication factor {}, min.insync.replicas {min_isr}",
        info.name,
        crate::diagnostic::count(info.partitions.len() as u64, "partition"),
        info.config.replicas
    ));
    for p in &info.partitions {
        if p.leader.is_some() && (p.isr.len() as u32) < min_isr {
            out.status(&format!(
                "  partition {}: {} in sync, fewer than min.insync.replicas {min_isr}: writes with acks=all are refused (NOT_ENOUGH_REPLICAS), acks=1 and 0 are taken",
                p.partition,
                p.isr.len()
            ));
        }
        if p.log_end_offset > p.high_watermark {
            out.status(&format!(
                "  partition {}: {} only on the leader (written with acks=1 or 0; followers copy them when a consumer next reads, and they are lost if the leader stops first)",
                p.partition,
                crate::diagnostic::count(p.log_end_offset - p.high_watermark, "record")
            ));
        }
    }
    Ok(())
}

/// DESCRIBE TOPIC ... EXTENDED: every damaged region of the topic's replicas found since
/// the data directory was opened, and what was done (rebuilt from a replica, skipped, cut).
pub fn storage_reports(log: &LogHandle, name: &str, out: &mut dyn Output) {
    let reports = log
        .embedded()
        .map(|e| e.storage_reports())
        .unwrap_or_default();
    let rows: Vec<Vec<Value>> = reports
        .into_iter()
        .filter(|r| r.topic == name)
        .map(|r| {
            vec![
                Value::Int(r.partition as i32),
                Value::Int(r.broker as i32),
                Value::string(&r.file),
                Value::string(&format!("{}..{}", r.byte_pos, r.byte_pos + r.byte_len)),
                Value::string(&r.offsets),
                Value::string(&r.problem),
                Value::string(&r.action),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.status(&format!(
            "Storage of topic '{name}': no damage found since the data directory was opened"
        ));
        return;
    }
    listing(
        out,
        &[
            "Partition",
            "Broker",
            "File",
            "Bytes",
            "Offsets",
            "Problem",
            "Action",
        ],
        rows,
    );
}

pub fn show_groups(log: &LogHandle, out: &mut dyn Output) {
    let rows = log
        .group_names()
        .into_iter()
        .filter_map(|g| log.describe_group(&g).ok())
        .map(|g| {
            let lag: u64 = g.partitions.iter().filter_map(|p| p.lag).sum();
            vec![
                Value::string(&g.group),
                Value::Int(g.members.len() as i32),
                Value::Bigint(g.generation as i64),
                Value::Bigint(lag as i64),
            ]
        })
        .collect();
    listing(out, &["Group", "Members", "Generation", "Lag"], rows);
}

pub fn describe_group(log: &LogHandle, name: &str, out: &mut dyn Output) -> Result<(), Diagnostic> {
    if !log.group_names().iter().any(|g| g == name) {
        return Err(Diagnostic::new(
            Code::TopicError,
            format!("there is no consumer group named '{name}'"),
        )
        .help("SHOW CONSUMER GROUPS lists the groups"));
    }
    let g = log.describe_group(name).map_err(log_error)?;
    out.status(&format!(
        "Group {}: generation {}, {} member(s)",
        g.group,
        g.generation,
        g.members.len()
    ));
    let rows = g
        .partitions
        .iter()
        .map(|p| {
            vec![
                Value::string(&p.topic),
                Value::Int(p.partition as i32),
                p.committed.map_or(Value::Null, |c| Value::Bigint(c as i64)),
                Value::Bigint(p.log_end_offset as i64),
                p.lag.map_or(Value::Null, |l| Value::Bigint(l as i64)),
                p.owner.as_deref().map_or(Value::Null, Value::string),
            ]
        })
        .collect();
    listing(
        out,
        &[
            "Topic",
            "Partition",
            "Committed",
            "Log end",
            "Lag",
            "Member",
        ],
        rows,
    );
    Ok(())
}

/// `STOP BROKER n` / `START BROKER n`: return once leadership has moved and
/// re-replication has caught up; say what moved.
pub fn broker_control(
    log: &LogHandle,
    broker: u32,
    start: bool,
    out: &mut dyn Output,
) -> Result<(), Diagnostic> {
    let brokers = embedded(log, if start { "START BROKER" } else { "STOP BROKER" })?;
    let running = brokers
        .brokers()
        .iter()
        .find(|b| b.id == broker)
        .map(|b| b.alive);
    if running == Some(start) {
        out.status(&format!(
            "Broker {broker} is already {}: nothing changed",
            if start { "running" } else { "stopped" }
        ));
        return Ok(());
    }
    let before = placements(log);
    let result = if start {
        brokers.start_broker(broker)
    } else {
        brokers.stop_broker(broker)
    };
    result.map_err(|e| {
        log_error(e).help(format!(
            "the brokers are 1 to {}; SHOW BROKERS lists them",
            brokers.broker_count()
        ))
    })?;
    let after = placements(log);
    out.status(&format!(
        "Broker {broker} {}",
        if start { "started" } else { "stopped" }
    ));
    for (b, a) in before.iter().zip(&after) {
        let mut changes = Vec::new();
        if b.leader != a.leader {
            changes.push(format!(
                "leader {} -> {}",
                show_leader(b.leader),
                show_leader(a.leader)
            ));
        }
        if b.replicas != a.replicas {
            changes.push(format!("replicas {:?} -> {:?}", b.replicas, a.replicas));
        }
        if b.isr != a.isr {
            changes.push(format!("ISR {:?} -> {:?}", b.isr, a.isr));
        }
        if !changes.is_empty() {
            out.status(&format!("  {}: {}", b.name, changes.join(", ")));
        }
    }
    Ok(())
}

/// Where a partition is: for the changes STOP/START BROKER makes.
struct Placement {
    name: String,
    leader: Option<u32>,
    replicas: Vec<u32>,
    isr: Vec<u32>,
}

fn placements(log: &LogHandle) -> Vec<Placement> {
    let mut out = Vec::new();
    for t in log.topic_names() {
        if let Ok(info) = log.describe_topic(&t) {
            for p in info.partitions {
                let mut isr = p.isr.clone();
                isr.sort_unstable();
                out.push(Placement {
                    name: format!("{t}-{}", p.partition),
                    leader: p.leader,
                    replicas: p.replicas,
                    isr,
                });
            }
        }
    }
    out
}

fn show_leader(l: Option<u32>) -> String {
    l.map_or("none".into(), |l| l.to_string())
}

/// `SHOW FUNCTIONS`: every function of the registry, as ksqlDB lists them (by name).
pub fn show_functions(out: &mut dyn Output) {
    let mut functions: Vec<_> = crate::functions::all().collect();
    functions.sort_by_key(|f| f.name);
    let rows = functions
        .into_iter()
        .map(|f| {
            vec![
                Value::string(f.name),
                Value::string(match f.kind {
                    crate::functions::Kind::Scalar => "SCALAR",
                    crate::functions::Kind::Aggregate => "AGGREGATE",
                    crate::functions::Kind::Table => "TABLE",
                }),
                Value::string(f.category.title()),
            ]
        })
        .collect();
    listing(out, &["Function Name", "Type", "Category"], rows);
}

/// `DESCRIBE FUNCTION f` (the planner checked that it exists).
pub fn describe_function(name: &str, out: &mut dyn Output) {
    let Some(f) = crate::functions::lookup(name) else {
        return;
    };
    let row = vec![
        Value::string(f.name),
        Value::string(f.signature),
        Value::string(f.doc),
        Value::string(f.example),
    ];
    listing(
        out,
        &["Name", "Signature", "Description", "Example"],
        vec![row],
    );
}

/// `SHOW TYPES`: ksqlDB lists the types made with CREATE TYPE; kql has none, so the
/// built-in types are listed instead, and said so.
/// The types declared with CREATE TYPE, then the built-in ones.
pub fn show_types(catalog: &crate::plan::Catalog, out: &mut dyn Output) {
    let declared: Vec<Vec<Value>> = catalog
        .types()
        .map(|(name, ty)| vec![Value::string(name), Value::string(&ty.to_string())])
        .collect();
    if !declared.is_empty() {
        listing(out, &["Type", "Schema"], declared);
    }
    let rows = [
        ("BOOLEAN", "true or false"),
        ("INT", "32-bit integer (INTEGER)"),
        ("BIGINT", "64-bit integer"),
        ("DOUBLE", "64-bit floating point"),
        ("DECIMAL(p, s)", "exact number, up to 38 digits"),
        ("VARCHAR", "text (STRING)"),
        ("BYTES", "bytes, base64 in JSON"),
        ("TIMESTAMP", "milliseconds since the epoch, UTC"),
        ("DATE", "days since the epoch"),
        ("TIME", "milliseconds since midnight"),
        ("ARRAY<T>", "list of T"),
        ("MAP<VARCHAR, T>", "text keys to T"),
        ("STRUCT<name T, ...>", "named fields"),
    ]
    .into_iter()
    .map(|(t, d)| vec![Value::string(t), Value::string(d)])
    .collect();
    listing(out, &["Type", "Description"], rows);
}
