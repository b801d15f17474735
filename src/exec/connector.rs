//! FileStreamSource: reads a file of lines (JSON objects or DELIMITED text) to its end into
//! a topic. The file is read in large chunks; records are grouped by partition and appended
//! with one `produce_batch` per partition and chunk. With `'key'='field'` each record's key
//! is that field of the JSON line, as KAFKA bytes of its text (strings unquoted, numbers as
//! written); otherwise keys are null and records go round-robin.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use kql_runtime::{Acks, Cluster, ProducerRecord, TopicConfig};

/// Bytes read from the file at a time.
pub const READ_CHUNK_BYTES: usize = 8 << 20;

/// Reads `file` into `topic`; returns how many records were written.
pub fn load_file(
    cluster: &Cluster,
    file: &Path,
    topic: &str,
    key_field: Option<&str>,
) -> Result<u64, String> {
    if cluster.partition_count(topic).is_none() {
        cluster
            .create_topic(
                topic,
                TopicConfig {
                    partitions: 1,
                    replicas: 1,
                    ..Default::default()
                },
            )
            .map_err(|e| e.to_string())?;
    }
    let n = cluster.partition_count(topic).unwrap_or(1);
    let f =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    // Reading and parsing one chunk overlaps with appending the previous one to the log.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<ProducerRecord>>>(2);
        let appender = scope.spawn(move || -> Result<(), String> {
            for by_partition in rx {
                for (p, records) in by_partition.into_iter().enumerate() {
                    if !records.is_empty() {
                        cluster
                            .produce_batch(topic, p as u32, records, Acks::All)
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            Ok(())
        });
        let read = read_chunks(f, file, key_field, n, &tx);
        drop(tx);
        let appended = appender
            .join()
            .unwrap_or_else(|_| Err("the connector's writer stopped".to_string()));
        appended.and(read)
    })
}

/// Reads the file in chunks, splits lines, keys and partitions them, and sends each
/// chunk's records, by partition, to the appender.
fn read_chunks(
    mut f: std::fs::File,
    file: &Path,
    key_field: Option<&str>,
    n: u32,
    tx: &std::sync::mpsc::SyncSender<Vec<Vec<ProducerRecord>>>,
) -> Result<u64, String> {
    // The read buffer is zeroed once; a line cut by a chunk's end is carried over.
    let mut read_buf = vec![0u8; READ_CHUNK_BYTES];
    let mut carry: Vec<u8> = Vec::new();
    let mut total = 0u64;
    let mut eof = false;
    let mut rr = 0u32;
    while !eof {
        let got = f
            .read(&mut read_buf)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        eof = got == 0;
        let data = &read_buf[..got];
        let cut = if eof {
            0
        } else {
            match memrchr(b'\n', data) {
                Some(i) => i + 1,
                None => {
                    carry.extend_from_slice(data);
                    continue;
                }
            }
        };
        // One shared buffer for the chunk (copied once); records are slices of it.
        let mut whole = Vec::with_capacity(carry.len() + cut);
        whole.extend_from_slice(&carry);
        whole.extend_from_slice(&data[..cut]);
        carry.clear();
        carry.extend_from_slice(&data[cut..]);
        let chunk = Bytes::from(whole);
        let mut by_partition: Vec<Vec<ProducerRecord>> = (0..n).map(|_| Vec::new()).collect();
        let mut start = 0;
        while start < chunk.len() {
            let end = memchr(b'\n', &chunk[start..]).map_or(chunk.len(), |i| start + i);
            let mut line_end = end;
            if line_end > start && chunk[line_end - 1] == b'\r' {
                line_end -= 1;
            }
            let line = &chunk[start..line_end];
            if !line.iter().all(u8::is_ascii_whitespace) {
                let key = key_field.and_then(|k| match json_field_range(line, k)? {
                    (s, e, false) => Some(chunk.slice(start + s..start + e)),
                    (s, e, true) => serde_json::from_slice::<String>(&line[s - 1..e + 1])
                        .ok()
                        .map(Bytes::from),
                });
                let p = match &key {
                    Some(k) => kql_runtime::partitioner::partition_for_key(k, n.max(1)),
                    None => {
                        rr = (rr + 1) % n;
                        rr
                    }
                };
                by_partition[p as usize].push(ProducerRecord {
                    key,
                    value: Some(chunk.slice(start..line_end)),
                    timestamp_ms: None,
                    partition: None,
                    headers: Vec::new(),
                });
                total += 1;
            }
            start = end + 1;
        }
        if tx.send(by_partition).is_err() {
            break; // the appender failed; its error is reported
        }
    }
    Ok(total)
}

fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&x| x == b)
}

fn memrchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().rposition(|&x| x == b)
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
            name.eq_ignore_ascii_case(field.as_bytes())
        };
        i = skip_ws(line, name_end + 1);
        if line.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(line, i + 1);
        let (vstart, vend) = value_span(line, i)?;
        if matches {
            let v = &line[vstart..vend];
            return match v.first() {
                Some(b'"') => Some((vstart + 1, vend - 1, v.contains(&b'\\'))),
                _ if v == b"null" => None,
                _ => Some((vstart, vend, false)),
            };
        }
        i = skip_ws(line, vend);
        match line.get(i) {
            Some(b',') => i += 1,
            _ => return None,
        }
    }
}

pub fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The index of the closing quote of a string whose contents start at `i`, and whether it
/// has escapes.
pub fn string_end(s: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    while i < s.len() {
        match s[i] {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// The byte range of the JSON value starting at `i`.
pub fn value_span(s: &[u8], i: usize) -> Option<(usize, usize)> {
    match s.get(i)? {
        b'"' => string_end(s, i + 1).map(|(e, _)| (i, e + 1)),
        b'{' | b'[' => {
            let mut depth = 0i32;
            let mut j = i;
            while j < s.len() {
                match s[j] {
                    b'"' => j = string_end(s, j + 1)?.0,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some((i, j + 1));
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < s.len() && !matches!(s[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            (j > i).then_some((i, j))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
