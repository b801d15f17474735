//! `kql produce` of plain JSON values: the key and timestamp taken from fields
//! (`--key-field`, `--key-format`, `--timestamp-field`), read back by a query as a Java
//! producer's records would be; and a produce that fails leaves no topic behind.

mod common;

use common::{kql, produce, run_json};

#[test]
fn plain_values_get_their_key_and_time_from_fields() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let lines = concat!(
        r#"{"id":1234,"temp":21.5,"ts":"2024-01-01T00:00:00Z"}"#,
        "\n",
        r#"{"id":7,"temp":30.0,"ts":1704067260000}"#,
        "\n",
    );
    let out = produce(
        d,
        "readings",
        lines,
        &[
            "--partitions",
            "3",
            "--key-field",
            "id",
            "--key-format",
            "int",
            "--timestamp-field",
            "ts",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Created topic 'readings' with 3 partitions"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Produced 2 records to 'readings'"),
        "{}",
        out.stderr
    );

    let script = dir.path().join("q.ksql");
    std::fs::write(
        &script,
        "CREATE STREAM readings (id INT KEY, temp DOUBLE) WITH (kafka_topic='readings');\n\
         SELECT id, temp, ROWTIME, ROWPARTITION FROM readings EMIT CHANGES;\n",
    )
    .unwrap();
    let out = run_json(&script, d);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The INT key is 4 bytes big-endian, placed as a Java producer places it.
    let partition = |id: i32| kql_runtime::partitioner::partition_for_key(&id.to_be_bytes(), 3);
    let mut rows: Vec<&str> = out.stdout.lines().collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            format!(
                "{{\"ID\":1234,\"TEMP\":21.5,\"ROWTIME\":1704067200000,\"ROWPARTITION\":{}}}",
                partition(1234)
            ),
            format!(
                "{{\"ID\":7,\"TEMP\":30.0,\"ROWTIME\":1704067260000,\"ROWPARTITION\":{}}}",
                partition(7)
            ),
        ]
    );
}

#[test]
fn without_options_the_first_line_decides_between_value_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = produce(d, "plain", "{\"sensor\":\"s-1\",\"temp\":21.5}\n", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let script = dir.path().join("p.ksql");
    std::fs::write(&script, "PRINT 'plain' FROM BEGINNING;\n").unwrap();
    let out = run_json(&script, d);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(r#""key":null"#) && out.stdout.contains(r#""sensor":"s-1""#),
        "{}",
        out.stdout
    );
}

#[test]
fn a_produce_that_fails_leaves_no_topic_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // the first line is not JSON: nothing is written, and no topic is created
    let out = produce(d, "never", "{not json\n", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("-:1: not JSON"), "{}", out.stderr);
    // a partition the new topic would not have: refused before the topic exists
    let out = produce(
        d,
        "never",
        "{\"value\":1,\"partition\":5}\n",
        &["--partitions", "2"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("-:1: \"partition\" is 5, and topic 'never' has 2 partitions (0 to 1)"),
        "{}",
        out.stderr
    );
    // a timestamp field missing from the first value
    let out = produce(d, "never", "{\"v\":1}\n", &["--timestamp-field", "ts"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("-:1: no timestamp field \"ts\""),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Created topic"), "{}", out.stderr);
    let out = kql(&["topics", "--data-dir", d]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("never"), "{}", out.stdout);
}
