//! Operator tests: each operator kind run on its own over the in-memory log
//! (`log::MemoryLog`), from input records to the rows or records it gives, through the
//! same construction the drivers use (the physical plan of a compiled query). One
//! `check_*` helper per operator kind; the tests beside it state the rows a user would
//! see, worked out by hand.

mod aggregate;
mod distribution;
mod filter_project;
mod join;
mod repartition;
mod sink;
mod window;

use std::sync::Arc;

use bytes::Bytes;

use super::log::{Acks, LogHandle, MemoryLog, Offsets, ProducerRecord};
use super::output::Progress;
use super::physical::{self, StartAt};
use super::task::read_partition;
use super::task::OutputRow;
use super::{Captured, Session};
use crate::data::Value;
use crate::plan::QueryPlan;
use crate::syntax::ast::StatementKind;

/// An input record: its topic, key (as text: a STRING key's bytes), JSON value and time.
pub(crate) struct Rec {
    pub topic: &'static str,
    pub key: Option<&'static str>,
    pub value: &'static str,
    pub timestamp_ms: i64,
}

pub(crate) fn rec(topic: &'static str, key: &'static str, value: &'static str, ts: i64) -> Rec {
    Rec {
        topic,
        key: Some(key),
        value,
        timestamp_ms: ts,
    }
}

/// A session on a new in-memory log with `ddl` run, and `input` appended (each record
/// where Kafka's partitioner puts its key).
pub(crate) fn fixture(ddl: &str, input: &[Rec]) -> Session {
    let mut session = Session::new(MemoryLog::new());
    let mut out = Captured::default();
    session
        .run_text("ddl.ksql", ddl, &mut out)
        .unwrap_or_else(|d| panic!("the DDL runs: {d:?}"));
    for r in input {
        let record = ProducerRecord {
            key: r.key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: Some(Bytes::copy_from_slice(r.value.as_bytes())),
            timestamp_ms: Some(r.timestamp_ms),
            partition: None,
            headers: Vec::new(),
        };
        session
            .log
            .produce(r.topic, record, Acks::All)
            .expect("the input is appended");
    }
    session
}

/// The plan of a SELECT against the session's catalog.
pub(crate) fn plan(session: &mut Session, select: &str) -> QueryPlan {
    let source = session.sources.add("query.ksql", select.to_string());
    let stmt = crate::syntax::parse_statement(source, select, 0).expect("the query parses");
    let StatementKind::Select(q) = &stmt.kind else {
        panic!("not a SELECT: {select}");
    };
    session.compile_query(q).expect("the query compiles")
}

/// A row as text: its values joined by ", ".
pub(crate) fn row_text(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn assert_rows(got: Vec<String>, expected: &[&str]) {
    let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, expected, "rows differ");
}

/// The tasks a transient query's physical plan makes (a scan with filter and project, or
/// a join), run to the end of the input: their rows, merged by event time.
pub(crate) fn run_tasks(session: &mut Session, select: &str) -> Vec<String> {
    let plan = plan(session, select);
    let (tasks, _) =
        physical::tasks_and_topics(&session.runtime, &session.log, &plan, StartAt::Earliest)
            .expect("the query has tasks");
    let progress = Arc::new(Progress::default());
    let mut rows = Vec::new();
    super::drivers::query::run_bounded(&session.runtime, tasks, &progress, |r| {
        rows.push(row_text(&r.values));
        true
    })
    .expect("the tasks run");
    rows
}

/// Filter and project: `select` over `input` gives `expected` rows.
pub(crate) fn check_stateless(ddl: &str, input: &[Rec], select: &str, expected: &[&str]) {
    let mut session = fixture(ddl, input);
    assert_rows(run_tasks(&mut session, select), expected);
}

/// A join: `select` over `input` gives `expected` rows.
pub(crate) fn check_join(ddl: &str, input: &[Rec], select: &str, expected: &[&str]) {
    check_stateless(ddl, input, select, expected)
}

/// The stages of an aggregating query (repartition, aggregate) run to the end of the
/// input, its windows closed: every row it emits, a deletion shown as `DELETE key`.
pub(crate) fn run_aggregate(session: &mut Session, select: &str) -> Vec<String> {
    let plan = plan(session, select);
    let (rows, _) = super::persistent::run_transient(
        &session.runtime,
        &session.log,
        &plan,
        "check",
        false,
        None,
    )
    .expect("the aggregation runs");
    rows.iter().map(emitted_text).collect()
}

fn emitted_text(r: &OutputRow) -> String {
    let mut s = if r.tombstone {
        format!("DELETE {}", row_text(&r.values[..1]))
    } else {
        row_text(&r.values)
    };
    if let Some((start, end)) = r.window {
        s.push_str(&format!(" [{start}, {end})"));
    }
    s
}

/// An aggregation (GROUP BY, maybe windowed): `select` over `input` gives `expected`.
pub(crate) fn check_aggregate(ddl: &str, input: &[Rec], select: &str, expected: &[&str]) {
    let mut session = fixture(ddl, input);
    assert_rows(run_aggregate(&mut session, select), expected);
}

/// Every record of a topic, partition by partition: `p<partition> <key> -> <value> @<time>`.
pub(crate) fn topic_records(log: &LogHandle, topic: &str) -> Vec<String> {
    let text = |b: Option<&[u8]>| {
        b.map_or("null".to_string(), |b| {
            String::from_utf8_lossy(b).into_owned()
        })
    };
    let mut out = Vec::new();
    let partitions = log.partition_count(topic).expect("the topic exists");
    for p in 0..partitions {
        let Offsets { high_watermark, .. } = log.offsets(topic, p).expect("offsets");
        read_partition(log, topic, p, 0, high_watermark, |r| {
            out.push(format!(
                "p{p} {} -> {} @{}",
                text(r.key),
                text(r.value),
                r.timestamp_ms
            ));
            Ok(())
        })
        .expect("the topic reads");
    }
    out
}
