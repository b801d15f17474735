//! FileStreamSource: reads a file of lines (JSON objects or DELIMITED text) to its end into
//! a topic. The file is read in large chunks; records are grouped by partition and appended
//! with one `produce_refs` per partition and chunk, borrowing keys and values from the
//! chunk's buffer. With `'key'='field'` each record's key is that field of the JSON line,
//! written as the key format and type declared on the topic write it (an INT key 1234 is
//! the 4 bytes a Java producer writes, and lands on the partition it would choose; a
//! STRING key is its text); otherwise keys are null and records go round-robin. With
//! `'timestamp.field'='field'` a record's timestamp is that field (epoch milliseconds or
//! ISO-8601 text); otherwise it is the time of loading, as Kafka Connect stamps records.
//!
//! Memory is bounded whatever the file holds: a line longer than `LINE_BYTES_MAX` stops the
//! connector with its file and line number (it could not be one record of the log), so at
//! most a line and a chunk are buffered per chunk. A file that is not a regular file (a
//! device such as /dev/zero, a pipe, a socket) may never end: at most
//! `STREAM_BYTES_MAX` bytes are read from it per run, then the connector stops with an
//! error. A regular file is read to the end it has when the connector reaches it.

use std::io::Read;
use std::ops::Range;
use std::path::Path;

use crate::exec::limits::LOAD_LEAD_BYTES;
use crate::exec::log::{Acks, LoadProgress, LogHandle, ProducerRef, TopicConfig};

use crate::data::SqlType;
use crate::exec::format::json_scan::{skip_ws, string_end, value_span};
use crate::plan::catalog::Format;

pub use crate::exec::limits::{LINE_BYTES_MAX, STREAM_BYTES_MAX};

/// Why a source connector stopped, and what to do about it.
#[derive(Debug)]
pub struct SourceError {
    pub message: String,
    pub help: &'static str,
}

impl SourceError {
    pub(crate) fn file(message: String) -> SourceError {
        SourceError {
            message,
            help: "the connector's 'file' is relative to the .ksql file",
        }
    }

    fn too_long(file: &Path, line: u64, loaded: u64) -> SourceError {
        SourceError {
            message: format!(
                "{}:{line}: a line longer than {LINE_BYTES_MAX} bytes, the longest record; \
                 the connector stopped there ({loaded} records before it were loaded)",
                file.display()
            ),
            help: "split the line, or check that the file is text with one record per line",
        }
    }
}

impl From<SourceError> for crate::diagnostic::Diagnostic {
    fn from(e: SourceError) -> Self {
        crate::diagnostic::Diagnostic::new(crate::diagnostic::Code::FileError, e.message)
            .help(e.help)
    }
}

/// Which fields of a line give the record's key and timestamp, and how the key is written.
#[derive(Debug, Clone, Default)]
pub struct LineFields<'a> {
    pub key: Option<&'a str>,
    /// The declared key format and type (None: the field's text as it is).
    pub key_type: Option<(Format, SqlType)>,
    pub timestamp: Option<&'a str>,
}

impl<'a> LineFields<'a> {
    /// The fields a connector's statement names.
    pub fn of(c: &'a crate::plan::persistent::ConnectorPlan) -> LineFields<'a> {
        LineFields {
            key: c.key_field.as_deref(),
            key_type: c.key_type.clone(),
            timestamp: c.timestamp_field.as_deref(),
        }
    }
}

/// What a load wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Loaded {
    pub records: u64,
    /// Records whose timestamp field was missing or not a time: stamped with the load time.
    pub untimed: u64,
}

/// Bytes read from the file at a time: a query that runs while the file loads
/// (`exec/loads.rs`) gets its first records soon, and the chunk buffers stay in the
/// processor's caches (2 MiB took a tenth less CPU and wall time than 8 MiB on W1 and W4).
pub const READ_CHUNK_BYTES: usize = 2 << 20;

/// Chunk buffers in use at once: one being read, the others waiting for or in the append.
const CHUNK_BUFFERS: usize = 3;

/// A chunk of the file and its records by partition, as ranges of its buffers.
struct Chunk {
    /// The chunk's bytes: `buf[..len]`; the buffer is zeroed once and reused.
    buf: Vec<u8>,
    len: usize,
    /// Keys rewritten from their text (unescaped, or typed as the key format writes them):
    /// `Key::Unescaped` ranges are in here.
    unescaped: Vec<u8>,
    by_partition: Vec<Vec<Line>>,
}

#[derive(Debug, Clone)]
enum Key {
    None,
    InLine(Range<usize>),
    Unescaped(Range<usize>),
}

#[derive(Debug, Clone)]
struct Line {
    key: Key,
    value: Range<usize>,
    timestamp_ms: Option<i64>,
}

impl Chunk {
    fn new(partitions: u32) -> Chunk {
        Chunk {
            buf: vec![0u8; READ_CHUNK_BYTES],
            len: 0,
            unescaped: Vec::new(),
            by_partition: (0..partitions).map(|_| Vec::new()).collect(),
        }
    }

    /// `LOAD_LEAD_BYTES` in records, at this chunk's mean line length.
    fn lead_records(&self) -> u64 {
        let lines: usize = self.by_partition.iter().map(Vec::len).sum();
        let mean = (self.len / lines.max(1)).max(1) as u64;
        (LOAD_LEAD_BYTES / mean).max(1)
    }

    fn records(&self, lines: &[Line]) -> Vec<ProducerRef<'_>> {
        lines
            .iter()
            .map(|l| ProducerRef {
                key: match &l.key {
                    Key::None => None,
                    Key::InLine(r) => Some(&self.buf[r.clone()]),
                    Key::Unescaped(r) => Some(&self.unescaped[r.clone()]),
                },
                value: Some(&self.buf[l.value.clone()]),
                timestamp_ms: l.timestamp_ms,
                headers: &[],
            })
            .collect()
    }
}

/// Reads `file` into `topic`; says how many records were written.
pub fn load_file(
    log: &LogHandle,
    file: &Path,
    topic: &str,
    fields: &LineFields,
) -> Result<Loaded, SourceError> {
    load_file_bounded(log, file, topic, fields, STREAM_BYTES_MAX, None)
}

/// `load_file` while queries read the topic (`exec/loads.rs`): the load keeps within
/// `LOAD_LEAD_BYTES` of the slowest of them (`LoadProgress`).
pub fn load_file_paced(
    log: &LogHandle,
    file: &Path,
    topic: &str,
    fields: &LineFields,
    progress: &LoadProgress,
) -> Result<Loaded, SourceError> {
    load_file_bounded(log, file, topic, fields, STREAM_BYTES_MAX, Some(progress))
}

/// Creates a connector's topic (one partition) when no statement declared it.
pub fn ensure_topic(log: &LogHandle, topic: &str) -> Result<u32, SourceError> {
    if log.partition_count(topic).is_none() {
        log.create_topic(
            topic,
            TopicConfig {
                partitions: 1,
                replicas: 1,
                ..Default::default()
            },
        )
        .map_err(|e| SourceError::file(e.to_string()))?;
    }
    Ok(log.partition_count(topic).unwrap_or(1))
}

/// `load_file`, reading at most `stream_bytes_max` bytes if `file` is not a regular file.
fn load_file_bounded(
    log: &LogHandle,
    file: &Path,
    topic: &str,
    fields: &LineFields,
    stream_bytes_max: u64,
    pace: Option<&LoadProgress>,
) -> Result<Loaded, SourceError> {
    let n = ensure_topic(log, topic)?;
    let cannot_read =
        |e: std::io::Error| SourceError::file(format!("cannot read {}: {e}", file.display()));
    let f = std::fs::File::open(file).map_err(cannot_read)?;
    let regular = f.metadata().map_err(cannot_read)?.file_type().is_file();
    let bytes_max = if regular { u64::MAX } else { stream_bytes_max };
    // Reading and parsing one chunk overlaps with appending the previous one to the log;
    // appended chunks come back for the next reads (no new buffer, no page faults).
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(CHUNK_BUFFERS - 1);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Chunk>();
        let appender = scope.spawn(move || -> Result<(), String> {
            // Each partition's end offset after this load's last append to it.
            let mut ends: Vec<Option<u64>> = vec![None; n as usize];
            for chunk in rx {
                let lead = chunk.lead_records();
                for (p, lines) in chunk.by_partition.iter().enumerate() {
                    if lines.is_empty() {
                        continue;
                    }
                    if let (Some(pace), Some(end)) = (pace, ends[p]) {
                        pace.wait_for_readers(p as u32, end, lead);
                    }
                    let first = log
                        .produce_batch(topic, p as u32, &chunk.records(lines), Acks::All)
                        .map_err(|e| e.to_string())?;
                    ends[p] = Some(first + lines.len() as u64);
                }
                let _ = back_tx.send(chunk);
            }
            Ok(())
        });
        let read = read_chunks(f, file, fields, n, bytes_max, &tx, &back_rx);
        drop(tx);
        let appended = appender
            .join()
            .unwrap_or_else(|_| Err("the connector's writer stopped".to_string()));
        appended.map_err(SourceError::file).and(read)
    })
}

/// Reads the file in chunks, splits lines, keys and partitions them, and sends each
/// chunk, with its records by partition, to the appender.
fn read_chunks(
    mut f: std::fs::File,
    file: &Path,
    fields: &LineFields,
    n: u32,
    bytes_max: u64,
    tx: &std::sync::mpsc::SyncSender<Chunk>,
    back: &std::sync::mpsc::Receiver<Chunk>,
) -> Result<Loaded, SourceError> {
    // A line cut by a chunk's end is carried over to the next chunk.
    let mut carry: Vec<u8> = Vec::new();
    let mut total = Loaded::default();
    // Lines (blank ones too) before the current chunk, for messages.
    let mut lines_before = 0u64;
    let mut bytes_read = 0u64;
    let mut made = 0;
    let mut rr = 0u32;
    let mut spare = None;
    loop {
        let mut chunk = match spare.take().map_or_else(|| back.try_recv(), Ok) {
            Ok(c) => c,
            Err(_) if made < CHUNK_BUFFERS => {
                made += 1;
                Chunk::new(n)
            }
            Err(_) => match back.recv() {
                Ok(c) => c,
                Err(_) => break, // the appender failed; its error is reported
            },
        };
        if chunk.buf.len() < carry.len() + READ_CHUNK_BYTES {
            // A line longer than a chunk.
            chunk.buf.resize(carry.len() + READ_CHUNK_BYTES, 0);
        }
        chunk.buf[..carry.len()].copy_from_slice(&carry);
        let room = (bytes_max - bytes_read).min(READ_CHUNK_BYTES as u64) as usize;
        let got = f
            .read(&mut chunk.buf[carry.len()..carry.len() + room])
            .map_err(|e| SourceError::file(format!("cannot read {}: {e}", file.display())))?;
        bytes_read += got as u64;
        if got == 0 && room == 0 {
            return Err(SourceError {
                message: format!(
                    "{} is not a regular file and may never end: the connector stopped after \
                     {bytes_max} bytes ({} records were loaded)",
                    file.display(),
                    total.records
                ),
                help: "copy what it produces into a file and read that file",
            });
        }
        let eof = got == 0;
        let filled = carry.len() + got;
        let cut = if eof {
            filled
        } else {
            match memchr::memrchr(b'\n', &chunk.buf[carry.len()..filled]) {
                Some(i) => carry.len() + i + 1,
                None if filled > LINE_BYTES_MAX => {
                    return Err(SourceError::too_long(file, lines_before + 1, total.records));
                }
                None => {
                    carry = chunk.buf[..filled].to_vec();
                    spare = Some(chunk);
                    continue;
                }
            }
        };
        carry.clear();
        carry.extend_from_slice(&chunk.buf[cut..filled]);
        chunk.len = cut;
        chunk.unescaped.clear();
        chunk.by_partition.iter_mut().for_each(Vec::clear);
        let split = split_lines(
            &mut chunk,
            fields,
            n,
            &mut rr,
            &mut total,
            &mut lines_before,
        );
        if let Err(line) = split {
            // The records before it, in this chunk too, are loaded.
            let _ = tx.send(chunk);
            return Err(SourceError::too_long(file, line, total.records));
        }
        if tx.send(chunk).is_err() || eof {
            break; // at the end, or the appender failed (its error is reported)
        }
    }
    Ok(total)
}

/// Splits a chunk into lines, with their keys, timestamps and partitions; counts them.
/// `line_number` counts every line (blank ones too); a line longer than `LINE_BYTES_MAX`
/// with its key is an error carrying its number, and the lines before it stay in `chunk`.
fn split_lines(
    chunk: &mut Chunk,
    fields: &LineFields,
    n: u32,
    rr: &mut u32,
    total: &mut Loaded,
    line_number: &mut u64,
) -> Result<(), u64> {
    let data = &chunk.buf[..chunk.len];
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        *line_number += 1;
        let mut line_end = end;
        if line_end > start && data[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let line = &data[start..line_end];
        if !line.iter().all(u8::is_ascii_whitespace) {
            let key = match fields.key.and_then(|k| json_field_range(line, k)) {
                None => Key::None,
                Some(range) => {
                    let at = chunk.unescaped.len();
                    match typed_key(line, range, &fields.key_type, &mut chunk.unescaped) {
                        None => Key::None,
                        Some(true) => Key::Unescaped(at..chunk.unescaped.len()),
                        Some(false) => Key::InLine(start + range.0..start + range.1),
                    }
                }
            };
            let timestamp_ms = fields.timestamp.and_then(|f| {
                let ts = field_timestamp(line, f);
                total.untimed += ts.is_none() as u64;
                ts
            });
            let p = match &key {
                Key::None => {
                    *rr = (*rr + 1) % n;
                    *rr
                }
                Key::InLine(r) => crate::exec::log::partition_for_key(&data[r.clone()], n),
                Key::Unescaped(r) => {
                    crate::exec::log::partition_for_key(&chunk.unescaped[r.clone()], n)
                }
            };
            let key_len = match &key {
                Key::None => 0,
                Key::InLine(r) | Key::Unescaped(r) => r.len(),
            };
            if line.len() + key_len > LINE_BYTES_MAX {
                return Err(*line_number);
            }
            chunk.by_partition[p as usize].push(Line {
                key,
                value: start..line_end,
                timestamp_ms,
            });
            total.records += 1;
        }
        start = end + 1;
    }
    Ok(())
}

/// The key bytes for a field of `line` at `(start, end, escaped)` (a string's range is
/// inside its quotes): written into `out` (Some(true)), the field's text as it is
/// (Some(false)), or None when an escaped string cannot be read. A text that is not a
/// number of the key's type is kept as text: queries then report it as a bad record.
fn typed_key(
    line: &[u8],
    (start, end, escaped): (usize, usize, bool),
    key_type: &Option<(Format, SqlType)>,
    out: &mut Vec<u8>,
) -> Option<bool> {
    let quoted = start > 0 && line[start - 1] == b'"' && line.get(end) == Some(&b'"');
    let text = &line[start..end];
    let number = || std::str::from_utf8(text).ok().map(str::trim);
    match key_type {
        // JSON text: a string keeps its quotes (and escapes)
        Some((Format::Json, _)) if quoted => out.extend_from_slice(&line[start - 1..end + 1]),
        Some((Format::Json, _)) => return Some(false),
        Some((_, SqlType::Int)) if !quoted => match number()?.parse::<i32>() {
            Ok(i) => out.extend_from_slice(&i.to_be_bytes()),
            Err(_) => return Some(false),
        },
        Some((_, SqlType::Bigint)) if !quoted => match number()?.parse::<i64>() {
            Ok(i) => out.extend_from_slice(&i.to_be_bytes()),
            Err(_) => return Some(false),
        },
        Some((_, SqlType::Double)) if !quoted => match number()?.parse::<f64>() {
            Ok(d) => out.extend_from_slice(&d.to_be_bytes()),
            Err(_) => return Some(false),
        },
        _ if escaped => {
            let k = serde_json::from_slice::<String>(&line[start - 1..end + 1]).ok()?;
            out.extend_from_slice(k.as_bytes());
        }
        _ => return Some(false),
    }
    Some(true)
}

/// A line's timestamp field: epoch milliseconds, or ISO-8601 text; None when missing or
/// not a time.
fn field_timestamp(line: &[u8], field: &str) -> Option<i64> {
    let text = json_field_text(line, field)?;
    let text = std::str::from_utf8(&text).ok()?;
    text.parse::<i64>()
        .ok()
        .or_else(|| crate::data::value::parse_timestamp(text))
}

/// The text of a top-level field of a flat JSON object: a string's contents (unescaped
/// when it has escapes), or a number, boolean as written. None when missing or null.
pub fn json_field_text(line: &[u8], field: &str) -> Option<Vec<u8>> {
    let (s, e, escaped) = json_field_range(line, field)?;
    if escaped {
        serde_json::from_slice::<String>(&line[s - 1..e + 1])
            .ok()
            .map(String::into_bytes)
    } else {
        Some(line[s..e].to_vec())
    }
}

/// Where the text of a top-level field is: (start, end, has escapes); a string's range is
/// inside its quotes. None when missing or null.
pub fn json_field_range(line: &[u8], field: &str) -> Option<(usize, usize, bool)> {
    let mut i = line.iter().position(|&c| c == b'{')? + 1;
    loop {
        i = skip_ws(line, i);
        if line.get(i) != Some(&b'"') {
            return None;
        }
        let (name_end, escaped) = string_end(line, i + 1)?;
        let name = &line[i + 1..name_end];
        let matches = if escaped {
            serde_json::from_slice::<String>(&line[i..=name_end]).ok()? == field
        } else {
            // (the field is usually written as the connector names it: the exact
            // comparison is the quick one)
            name.len() == field.len()
                && (name == field.as_bytes() || name.eq_ignore_ascii_case(field.as_bytes()))
        };
        i = skip_ws(line, name_end + 1);
        if line.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(line, i + 1);
        if matches && line.get(i) == Some(&b'"') {
            let (end, escaped) = string_end(line, i + 1)?;
            return Some((i + 1, end, escaped));
        }
        let (vstart, vend) = value_span(line, i)?;
        if matches {
            let v = &line[vstart..vend];
            return (v != b"null").then_some((vstart, vend, false));
        }
        i = skip_ws(line, vend);
        match line.get(i) {
            Some(b',') => i += 1,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::task::read_partition;

    #[test]
    fn a_lines_field_is_found_whatever_its_value() {
        let line = br#"{"n":{"k":"inner"},"S":"a\"b","k":"plain","num":-1.5e3,"nil":null}"#;
        let text = |f: &str| {
            json_field_range(line, f)
                .map(|(s, e, escaped)| (std::str::from_utf8(&line[s..e]).unwrap(), escaped))
        };
        assert_eq!(text("k"), Some(("plain", false)));
        assert_eq!(text("K"), Some(("plain", false)));
        assert_eq!(text("s"), Some((r#"a\"b"#, true)));
        assert_eq!(text("num"), Some(("-1.5e3", false)));
        assert_eq!(text("n"), Some((r#"{"k":"inner"}"#, false)));
        assert_eq!(text("nil"), None);
        assert_eq!(text("missing"), None);
        assert_eq!(json_field_range(br#"{"k":"open"#, "k"), None);
    }

    #[test]
    fn loads_every_line_across_chunks_with_its_key_and_partition() {
        let mut text = String::new();
        let mut expected = Vec::new();
        for i in 0..300_000 {
            let line = format!("{{\"k\":\"key-{i}\",\"v\":{i}}}");
            text.push_str(&line);
            text.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
            expected.push((format!("key-{i}"), line));
            if i == 1000 {
                // A line of nearly a chunk (it straddles two), a blank line, a key with an escape.
                let long = format!(
                    "{{\"k\":\"long\",\"pad\":\"{}\"}}",
                    "x".repeat(READ_CHUNK_BYTES - 4096)
                );
                text.push_str(&long);
                text.push_str("\n  \n");
                expected.push(("long".into(), long));
                let escaped = r#"{"k":"a\"b","v":0}"#.to_string();
                text.push_str(&escaped);
                text.push('\n');
                expected.push(("a\"b".into(), escaped));
            }
        }
        text.push_str(r#"{"v":"no key, no newline"}"#);
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("lines.jsonl");
        std::fs::write(&file, &text).unwrap();
        let log = crate::exec::log::in_memory(1);
        let config = TopicConfig {
            partitions: 3,
            ..Default::default()
        };
        log.create_topic("t", config).unwrap();
        let fields = LineFields {
            key: Some("k"),
            ..LineFields::default()
        };
        let n = load_file(&log, &file, "t", &fields).unwrap().records;
        assert_eq!(n as usize, expected.len() + 1);
        let mut got = std::collections::HashMap::new();
        let mut keyless = Vec::new();
        for p in 0..3 {
            let end = log.offsets("t", p).unwrap().high_watermark;
            read_partition(&log, "t", p, 0, end, |r| {
                let value = String::from_utf8(r.value.unwrap().to_vec()).unwrap();
                match r.key {
                    Some(k) => {
                        let k = String::from_utf8(k.to_vec()).unwrap();
                        assert_eq!(crate::exec::log::partition_for_key(k.as_bytes(), 3), p);
                        assert!(got.insert(k, value).is_none());
                    }
                    None => keyless.push(value),
                }
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(keyless, vec![r#"{"v":"no key, no newline"}"#.to_string()]);
        assert_eq!(got.len(), expected.len());
        for (k, line) in expected {
            assert_eq!(got.get(&k), Some(&line), "{k}");
        }
    }

    #[test]
    fn finds_fields_of_flat_objects() {
        let line = br#"{"sensor":"s-1","site":"a","temp":20.8,"ts":1699999998112}"#;
        assert_eq!(
            json_field_text(line, "sensor").as_deref(),
            Some(&b"s-1"[..])
        );
        assert_eq!(
            json_field_text(line, "TS").as_deref(),
            Some(&b"1699999998112"[..])
        );
        assert_eq!(json_field_text(line, "nope"), None);
        let line = br#"{ "a" : {"x":[1,2]}, "k" : "q\"x" }"#;
        assert_eq!(json_field_text(line, "k").as_deref(), Some(&b"q\"x"[..]));
    }

    fn records_in(log: &LogHandle, topic: &str) -> u64 {
        log.offsets(topic, 0).unwrap().high_watermark
    }

    #[test]
    fn a_line_over_the_limit_stops_the_connector_with_its_file_and_line_number() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("long.jsonl");
        let mut text = String::from("{\"v\":1}\n\n{\"v\":2}\n");
        text.push_str(&"x".repeat(LINE_BYTES_MAX + 1));
        text.push_str("\n{\"v\":3}\n");
        std::fs::write(&file, &text).unwrap();
        let log = crate::exec::log::in_memory(1);
        let e = load_file(&log, &file, "t", &LineFields::default()).unwrap_err();
        assert!(
            e.message
                .starts_with(&format!("{}:4: a line longer than", file.display())),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("2 records before it were loaded"),
            "{}",
            e.message
        );
        assert_eq!(records_in(&log, "t"), 2);
    }

    #[test]
    fn a_line_without_end_stops_at_the_limit_not_at_the_end_of_memory() {
        // /dev/zero is one endless line: read up to the line limit, then stop.
        let log = crate::exec::log::in_memory(1);
        let e = load_file(&log, Path::new("/dev/zero"), "t", &LineFields::default()).unwrap_err();
        assert!(
            e.message.starts_with("/dev/zero:1: a line longer than"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_file_that_is_not_regular_is_read_up_to_a_bound() {
        // /dev/urandom has newlines and no end: it stops after the bound.
        let log = crate::exec::log::in_memory(1);
        let bound = 1 << 20;
        let e = load_file_bounded(
            &log,
            Path::new("/dev/urandom"),
            "t",
            &LineFields::default(),
            bound,
            None,
        )
        .unwrap_err();
        assert!(
            e.message
                .starts_with("/dev/urandom is not a regular file and may never end"),
            "{}",
            e.message
        );
        assert!(records_in(&log, "t") > 0);
    }
}
