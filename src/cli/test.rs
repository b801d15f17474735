//! `kql test -s statements.ksql -i input.json [-o expected.json]`: a pipeline's unit test in
//! the file formats of ksqlDB's `ksql-test-runner`. The statements run first; then each input
//! record is appended to its topic and every persistent query catches up before the next
//! one, so the result is deterministic. As in ksqlDB's runner, the end of the input does not
//! close windows. Outputs are the records written to the topics the input does not write
//! to (INSERT VALUES included), compared topic by topic in order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::exec::log::{in_memory, Acks, Header, Offsets, ProducerRecord, Record};
use crate::exec::task::read_partition;
use bytes::Bytes;
use serde_json::{json, Value as Json};

use super::{read_file, Failure};
use crate::data::{SqlType, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::exec::format::key::encode_kafka;
use crate::exec::persistent::{split_window_key, window_key_suffix};
use crate::exec::{Captured, Session};
use crate::plan::catalog::{ColumnRole, Format};
use crate::plan::window::WindowType;

fn bad_file(path: &Path, why: impl std::fmt::Display) -> Failure {
    Failure::plain(
        Diagnostic::new(Code::FileError, format!("{}: {why}", path.display())).help(
            "input files look like {\"inputs\":[{\"topic\":\"t\",\"key\":\"k\",\"value\":{...},\"timestamp\":0}]}, \
             expected files like {\"outputs\":[...]} with the same fields and an optional \"window\"",
        ),
    )
}

fn records(path: &Path, field: &str) -> Result<Vec<Json>, Failure> {
    let text = read_file(path)?;
    let doc: Json = serde_json::from_str(&text).map_err(|e| bad_file(path, e))?;
    match doc.get(field) {
        Some(Json::Array(items)) => Ok(items.clone()),
        _ => Err(bad_file(path, format!("there is no \"{field}\" array"))),
    }
}

pub fn run(statements: &Path, input: &Path, expected: Option<&Path>) -> Result<(), Failure> {
    let text = read_file(statements)?;
    let inputs = records(input, "inputs")?;
    let expected = expected.map(|p| records(p, "outputs")).transpose()?;
    let mut session = Session::new(in_memory(1));
    let mut quiet = Captured::default();
    let fail = |session: &Session, diagnostics| Failure {
        diagnostics,
        sources: session.sources.clone(),
    };
    session
        .run_text(&statements.display().to_string(), &text, &mut quiet)
        .map_err(|d| fail(&session, d))?;
    let input_topics: BTreeSet<String> = inputs
        .iter()
        .filter_map(|r| r.get("topic").and_then(Json::as_str).map(str::to_string))
        .collect();
    let mut collector = Collector::default();
    collector.collect(&session, &input_topics);
    for (i, r) in inputs.iter().enumerate() {
        let record = input_record(&session, r)
            .map_err(|e| bad_file(input, format!("input {}: {e}", i + 1)))?;
        let topic = r["topic"].as_str().unwrap_or_default();
        session
            .log()
            .produce(topic, record, Acks::All)
            .map_err(|e| bad_file(input, format!("input {}: topic '{topic}': {e}", i + 1)))?;
        session.catch_up().map_err(|d| fail(&session, vec![d]))?;
        collector.collect(&session, &input_topics);
    }
    // Windows stay open (see above), but what the queries skipped is reported.
    session.report_skipped(&mut quiet);
    for w in quiet.warnings {
        eprintln!("warning: {w}");
    }
    let actual = collector.records;
    match expected {
        None => {
            for line in &collector.lines {
                println!("{line}");
            }
            Ok(())
        }
        Some(expected) => {
            let diff = compare(&expected, &actual);
            if diff.is_empty() {
                println!("Test passed ({} output records)", actual.len());
                Ok(())
            } else {
                println!("Test failed:\n{diff}");
                Err(Failure {
                    diagnostics: Vec::new(),
                    sources: session.sources.clone(),
                })
            }
        }
    }
}

/// The producer record for an input: the key in the KAFKA (or JSON) bytes of the topic's
/// stream or table, the value as JSON text (DELIMITED: the string as given; KAFKA: the
/// bytes Kafka's serializer writes for the one value column's type).
fn input_record(session: &Session, r: &Json) -> Result<ProducerRecord, String> {
    let topic = r
        .get("topic")
        .and_then(Json::as_str)
        .ok_or("it has no \"topic\"")?;
    let def = session.catalog.sources().find(|d| d.topic == topic);
    let key = match r.get("key") {
        None | Some(Json::Null) => None,
        Some(k) => {
            let mut bytes = key_bytes(def, k);
            // A windowed source's key carries its window (`"window":{"start","end"}`).
            if let (Some(w), Some(window)) = (def.and_then(|d| d.window), r.get("window")) {
                let bound = |f: &str| {
                    window
                        .get(f)
                        .and_then(Json::as_i64)
                        .ok_or_else(|| format!("its window has no \"{f}\" time"))
                };
                window_key_suffix(w, bound("start")?, bound("end")?, &mut bytes);
            }
            Some(Bytes::from(bytes))
        }
    };
    let value = match r.get("value") {
        None | Some(Json::Null) => None,
        Some(v) if def.is_some_and(|d| d.value_format == Format::Kafka) => {
            Some(Bytes::from(kafka_value_bytes(def, v)?))
        }
        Some(Json::String(s)) if def.is_some_and(|d| d.value_format != Format::Json) => {
            Some(Bytes::from(s.clone()))
        }
        Some(v) => Some(Bytes::from(v.to_string())),
    };
    Ok(ProducerRecord {
        key,
        value,
        timestamp_ms: Some(r.get("timestamp").and_then(Json::as_i64).unwrap_or(0)),
        partition: None,
        headers: input_headers(r.get("headers"))?,
    })
}

/// An input's `"headers": [{"KEY": "k", "VALUE": "<base64>"}, ...]` (field names in any
/// case). The log holds no header without a value: a null VALUE is an empty one.
fn input_headers(headers: Option<&Json>) -> Result<Vec<Header>, String> {
    let items = match headers {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Array(items)) => items,
        Some(_) => return Err("\"headers\" is not an array".into()),
    };
    let field = |h: &Json, name: &str| {
        h.as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.clone())
    };
    items
        .iter()
        .map(|h| {
            let Some(Json::String(name)) = field(h, "key") else {
                return Err(format!("header {h} has no string \"KEY\""));
            };
            let value = match field(h, "value") {
                None | Some(Json::Null) => None,
                Some(Json::String(b64)) => Some(
                    crate::functions::base64_decode(&b64)
                        .ok_or_else(|| format!("header '{name}': VALUE is not base64"))?,
                ),
                Some(_) => return Err(format!("header '{name}': VALUE is not base64 text")),
            };
            Ok(Header {
                name,
                value: value.map(Bytes::from),
            })
        })
        .collect()
}

/// A written record's headers as the test files show them (kql's own left out).
fn output_headers(r: &Record) -> Json {
    Json::Array(
        r.headers
            .iter()
            .filter(|h| !crate::exec::row_headers::is_internal(h.name.as_bytes()))
            .map(|h| {
                let value = h.value.as_deref().map(crate::data::value::base64);
                json!({"KEY": h.name, "VALUE": value})
            })
            .collect(),
    )
}

/// A KAFKA-format value: the JSON value read as the type of the source's one value column.
fn kafka_value_bytes(def: Option<&crate::plan::SourceDef>, v: &Json) -> Result<Vec<u8>, String> {
    let columns: Vec<_> = def
        .map(|d| {
            d.columns
                .iter()
                .filter(|c| c.role == ColumnRole::Value)
                .collect()
        })
        .unwrap_or_default();
    let [column] = columns.as_slice() else {
        return Err("the KAFKA value format holds a single column".into());
    };
    let value = crate::exec::format::json::from_json(v, &column.ty)?;
    let mut out = Vec::new();
    encode_kafka(&value, &mut out);
    Ok(out)
}

fn key_bytes(def: Option<&crate::plan::SourceDef>, k: &Json) -> Vec<u8> {
    let ty = def.and_then(|d| {
        let keys: Vec<_> = d
            .columns
            .iter()
            .filter(|c| c.role == ColumnRole::Key)
            .collect();
        match (d.key_format, keys.as_slice()) {
            (Format::Kafka, [c]) => Some(c.ty.clone()),
            _ => None,
        }
    });
    let value = match (ty, k) {
        (Some(SqlType::Int), Json::Number(n)) => Value::Int(n.as_i64().unwrap_or(0) as i32),
        (Some(SqlType::Bigint), Json::Number(n)) => Value::Bigint(n.as_i64().unwrap_or(0)),
        (Some(SqlType::Double), Json::Number(n)) => Value::Double(n.as_f64().unwrap_or(0.0)),
        (Some(_), Json::String(s)) => Value::string(s),
        (None, _) if def.is_some_and(|d| d.key_format == Format::Json) => {
            return k.to_string().into_bytes()
        }
        (_, Json::String(s)) => Value::string(s),
        (_, other) => Value::string(&other.to_string()),
    };
    let mut out = Vec::new();
    encode_kafka(&value, &mut out);
    out
}

/// Reads what was appended to the output topics since the last call.
#[derive(Default)]
struct Collector {
    offsets: BTreeMap<(String, u32), u64>,
    records: Vec<Json>,
    /// The same records as printed: fields in the outputs' order, values as written.
    lines: Vec<String>,
}

impl Collector {
    fn collect(&mut self, session: &Session, inputs: &BTreeSet<String>) {
        let log = session.log();
        let mut topics = log.topic_names();
        topics.sort();
        for topic in topics
            .iter()
            .filter(|t| !inputs.contains(*t) && !t.starts_with('_'))
        {
            let n = log.partition_count(topic).unwrap_or(0);
            for p in 0..n {
                let Ok(Offsets { high_watermark, .. }) = log.offsets(topic, p) else {
                    continue;
                };
                let offset = self.offsets.entry((topic.clone(), p)).or_insert(0);
                let mut read = Vec::new();
                let Ok(next) = read_partition(log, topic, p, *offset, high_watermark, |r| {
                    read.push(r.to_record());
                    Ok(())
                }) else {
                    continue;
                };
                *offset = next;
                for r in &read {
                    let j = output_json(session, topic, r);
                    let kafka_value = session
                        .catalog
                        .sources()
                        .any(|d| d.topic == *topic && d.value_format == Format::Kafka);
                    let value = match &r.value {
                        Some(v) if !kafka_value && serde_json::from_slice::<Json>(v).is_ok() => {
                            String::from_utf8_lossy(v.trim_ascii()).into_owned()
                        }
                        _ => j["value"].to_string(),
                    };
                    let mut line = format!(
                        "{{\"topic\":{},\"key\":{},\"value\":{value},\"timestamp\":{}",
                        j["topic"], j["key"], j["timestamp"]
                    );
                    if let Some(w) = j.get("window") {
                        line.push_str(&format!(
                            ",\"window\":{{\"start\":{},\"end\":{},\"type\":{}}}",
                            w["start"], w["end"], w["type"]
                        ));
                    }
                    line.push_str(&format!(",\"headers\":{}}}", j["headers"]));
                    self.lines.push(line);
                    self.records.push(j);
                }
            }
        }
    }
}

fn output_json(session: &Session, topic: &str, r: &Record) -> Json {
    let def = session.catalog.sources().find(|d| d.topic == topic);
    let window = session.registry.windowed_topics.get(topic).copied();
    let mut key = r.key.as_deref();
    let mut win = None;
    if let (Some(w), Some(k)) = (window, key) {
        if let Some((inner, s, e)) = split_window_key(w, k) {
            key = Some(inner);
            win = Some(json!({
                "start": s,
                "end": e,
                "type": match w {
                    WindowType::Session { .. } => "session",
                    _ => "time",
                }
            }));
        }
    }
    let key = key.map_or(Json::Null, |k| {
        serde_json::from_str(&crate::exec::running_key_json(def, k)).unwrap_or(Json::Null)
    });
    let value = r.value.as_deref().map_or(Json::Null, |v| {
        kafka_value_json(def, v).unwrap_or_else(|| {
            serde_json::from_slice(v)
                .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(v).into_owned()))
        })
    });
    let mut out = json!({
        "topic": topic,
        "key": key,
        "value": value,
        "timestamp": r.timestamp_ms,
    });
    if let Some(w) = win {
        out["window"] = w;
    }
    out["headers"] = output_headers(r);
    out
}

/// A KAFKA-format value as JSON, read as the type of the sink's one value column.
fn kafka_value_json(def: Option<&crate::plan::SourceDef>, v: &[u8]) -> Option<Json> {
    let def = def.filter(|d| d.value_format == Format::Kafka)?;
    let mut columns = def.columns.iter().filter(|c| c.role == ColumnRole::Value);
    let (Some(column), None) = (columns.next(), columns.next()) else {
        return None;
    };
    let value = crate::exec::format::key::decode_kafka(v, &column.ty).ok()?;
    let mut out = Vec::new();
    crate::exec::format::json::write_value(&value, &column.ty, &mut out);
    serde_json::from_slice(&out).ok()
}

/// Numbers compare by value (1 = 1.0); objects by their fields.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

/// An expected record matches when every field it gives matches (timestamp, window and
/// headers may be left out).
fn matches(expected: &Json, actual: &Json) -> bool {
    ["topic", "key", "value", "timestamp", "window", "headers"]
        .iter()
        .all(|f| match expected.get(*f) {
            None => true,
            Some(e) => same(e, actual.get(*f).unwrap_or(&Json::Null)),
        })
}

/// A readable difference, topic by topic; empty when the outputs match.
fn compare(expected: &[Json], actual: &[Json]) -> String {
    let by_topic = |records: &[Json]| {
        let mut m: BTreeMap<String, Vec<Json>> = BTreeMap::new();
        for r in records {
            let t = r
                .get("topic")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            m.entry(t).or_default().push(r.clone());
        }
        m
    };
    let (want, got) = (by_topic(expected), by_topic(actual));
    let topics: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    let mut out = String::new();
    for t in topics {
        let empty = Vec::new();
        let (w, g) = (want.get(t).unwrap_or(&empty), got.get(t).unwrap_or(&empty));
        for i in 0..w.len().max(g.len()) {
            match (w.get(i), g.get(i)) {
                (Some(e), Some(a)) if matches(e, a) => {}
                (Some(e), Some(a)) => out.push_str(&format!(
                    "  topic '{t}' record {}:\n    expected: {e}\n    actual:   {a}\n",
                    i + 1
                )),
                (Some(e), None) => out.push_str(&format!(
                    "  topic '{t}' record {}: missing\n    expected: {e}\n",
                    i + 1
                )),
                (None, Some(a)) => out.push_str(&format!(
                    "  topic '{t}' record {}: not expected\n    actual:   {a}\n",
                    i + 1
                )),
                (None, None) => {}
            }
        }
        if w.len() != g.len() {
            out.push_str(&format!(
                "  topic '{t}': {} record(s) expected, {} written\n",
                w.len(),
                g.len()
            ));
        }
    }
    out
}
