//! A stream-table join run again on its data directory: the table's rows come back from
//! the query's state, and stream records that arrive in the later run are joined with
//! them, every field the query reads in place (the state keeps only those fields).

mod common;

use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_resumed_stream_table_join_reads_the_fields_of_the_table_rows_it_restored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let labels = write(
        dir.path(),
        "labels.jsonl",
        "{\"k\":\"a\",\"code\":1,\"label\":\"first\",\"note\":\"x\"}\n\
         {\"k\":\"b\",\"code\":2,\"label\":\"second\",\"note\":\"y\"}\n",
    );
    let events = write(
        dir.path(),
        "events.jsonl",
        "{\"k\":\"b\",\"id\":10}\n{\"k\":\"a\",\"id\":11}\n{\"k\":\"c\",\"id\":12}\n",
    );
    let query = "CREATE STREAM IF NOT EXISTS labelled AS SELECT e.k, e.id, l.label, l.code \
                 FROM events e JOIN labels l ON e.k = l.k;\n";
    let first = write(
        dir.path(),
        "first.ksql",
        &format!(
            "CREATE STREAM events (k VARCHAR KEY, id BIGINT) WITH (kafka_topic='events', partitions=2);\n\
             CREATE TABLE labels (k VARCHAR PRIMARY KEY, code INT, label VARCHAR, note VARCHAR) \
               WITH (kafka_topic='labels', partitions=2);\n\
             CREATE SOURCE CONNECTOR l WITH ('connector.class'='FileStreamSource', \
               'file'='{labels}', 'topic'='labels', 'key'='k');\n{query}"
        ),
    );
    let out = common::kql(&["run", &first, "--data-dir", data]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The second run loads the events only: the table's records were all read by the
    // first run, so its rows come from the state the query left.
    let second = write(
        dir.path(),
        "second.ksql",
        &format!(
            "CREATE SOURCE CONNECTOR e WITH ('connector.class'='FileStreamSource', \
               'file'='{events}', 'topic'='events', 'key'='k');\n{query}\
             SELECT e_k, id, label, code FROM labelled EMIT CHANGES;\n"
        ),
    );
    let out = common::kql(&["run", &second, "--data-dir", data, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v.get("ID").is_some())
        .collect();
    rows.sort_by_key(|v| v["ID"].as_u64());
    assert_eq!(
        rows,
        vec![
            serde_json::json!({"E_K": "b", "ID": 10, "LABEL": "second", "CODE": 2}),
            serde_json::json!({"E_K": "a", "ID": 11, "LABEL": "first", "CODE": 1}),
        ],
        "{}",
        out.stdout
    );
}
