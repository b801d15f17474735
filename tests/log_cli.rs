//! The log through the command line: `kql produce`, `kql topics`, `--data-dir` across
//! runs, and bad records skipped and reported with topic, partition and offset.

mod common;

fn produce(data_dir: &str, topic: &str, lines: &str, partitions: &str) -> common::RunOutput {
    common::produce(data_dir, topic, lines, &["--partitions", partitions])
}

use common::run_json;

#[test]
fn bad_records_are_skipped_counted_and_located() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let lines = concat!(
        r#"{"key":"s-1","value":{"temp":21.5},"timestamp":1000}"#,
        "\n",
        r#"{"key":"s-1","value":{"temp":"hot"},"timestamp":2000}"#,
        "\n",
        r#"{"key":"s-1","value":"{not json","timestamp":3000}"#,
        "\n",
        r#"{"key":"s-1","value":{"temp":"30.5"},"timestamp":4000}"#,
        "\n",
    );
    let out = produce(d, "readings", lines, "1");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Produced 4 records to 'readings'"),
        "{}",
        out.stderr
    );
    let script = dir.path().join("q.ksql");
    std::fs::write(&script, "CREATE STREAM readings (sensor VARCHAR KEY, temp DOUBLE) WITH (kafka_topic='readings');\nSELECT sensor, temp FROM readings EMIT CHANGES;\n").unwrap();
    let out = run_json(&script, d);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // a number in a string is accepted for a DOUBLE column, as ksqlDB does
    assert_eq!(
        out.stdout,
        "{\"SENSOR\":\"s-1\",\"TEMP\":21.5}\n{\"SENSOR\":\"s-1\",\"TEMP\":30.5}\n"
    );
    assert!(
        out.stderr.contains("skipped 2 bad record(s) of READINGS"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "topic 'readings' partition 0 offset 1: field TEMP: expected DOUBLE, found \"hot\""
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("topic 'readings' partition 0 offset 2: value is not valid JSON"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_data_dir_keeps_the_log_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let script = dir.path().join("write.ksql");
    std::fs::write(&script, "CREATE STREAM IF NOT EXISTS s (k VARCHAR KEY, n INT) WITH (kafka_topic='s', partitions=2);\nINSERT INTO s (k, n) VALUES ('a', 1);\nINSERT INTO s (k, n) VALUES ('b', 2);\n").unwrap();
    assert_eq!(
        common::kql(&["run", script.to_str().unwrap(), "--data-dir", d]).code,
        0
    );
    assert_eq!(
        common::kql(&["run", script.to_str().unwrap(), "--data-dir", d]).code,
        0
    );
    // --format json: one object per partition, for scripts
    let json = common::kql(&["topics", "--data-dir", d, "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let parts: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["topic"] == "s")
        .collect();
    assert_eq!(parts.len(), 2, "{}", json.stdout);
    let ends: u64 = parts.iter().map(|p| p["log_end"].as_u64().unwrap()).sum();
    assert_eq!(ends, 4, "two runs of two inserts: {}", json.stdout);
    let out = common::kql(&["topics", "--data-dir", d]);
    assert!(
        out.stdout.contains("s: 2 partitions, 1 replica"),
        "{}",
        out.stdout
    );
    let total: u64 = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("s:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split("offsets ").nth(1))
        .map(|r| {
            r.split(' ')
                .next()
                .unwrap()
                .split("..")
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 4, "two runs of two inserts:\n{}", out.stdout);
    // without --data-dir nothing is left behind and nothing is read back
    let out = common::kql(&["topics"]);
    assert_eq!(out.stdout, "");
}

#[test]
fn a_line_that_is_not_a_record_is_an_error_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let out = produce(
        dir.path().to_str().unwrap(),
        "t",
        "{\"value\":1}\n{\"key\":\"k\"}\n",
        "1",
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("-:2: no \"value\" field"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_partition_beyond_32_bits_is_an_error_not_partition_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = produce(
        dir.path().to_str().unwrap(),
        "t",
        "{\"value\":1,\"partition\":4294967296}\n",
        "2",
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("-:1: \"partition\" is not a partition number"),
        "{}",
        out.stderr
    );
}

#[test]
fn streams_declared_in_one_run_are_there_in_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let first = dir.path().join("first.ksql");
    std::fs::write(&first, "CREATE STREAM s (k VARCHAR KEY, n INT) WITH (kafka_topic='s', partitions=2);\nCREATE STREAM gone (k VARCHAR KEY) WITH (kafka_topic='gone');\nINSERT INTO s (k, n) VALUES ('a', 1);\nDROP STREAM gone;\n").unwrap();
    let out = common::kql(&["run", first.to_str().unwrap(), "--data-dir", d]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // the second file declares nothing: S comes from the command topic, GONE stays dropped
    let second = dir.path().join("second.ksql");
    std::fs::write(&second, "SELECT k, n FROM s EMIT CHANGES;\nSHOW STREAMS;\n").unwrap();
    let out = common::kql(&[
        "run",
        second.to_str().unwrap(),
        "--data-dir",
        d,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Restored 3 statement(s)"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stdout,
        "{\"K\":\"a\",\"N\":1}\n{\"Stream Name\":\"S\",\"Kafka Topic\":\"s\",\"Key Format\":\"KAFKA\",\"Value Format\":\"JSON\"}\n"
    );
    // declaring it again is the usual error, as in ksqlDB
    let out = common::kql(&["run", first.to_str().unwrap(), "--data-dir", d]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("[KQL0103] Error: a stream named S already exists"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_table_aggregation_retracts_rows_it_saw_before_a_restart() {
    // The rows a table aggregation must be able to retract are state: those of the
    // repartition stage (GROUP BY region) come back by replaying the table up to the
    // committed offset, those of the aggregate task (GROUP BY the key) from its snapshot.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let first = dir.path().join("first.ksql");
    std::fs::write(
        &first,
        "CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR, balance INT)
           WITH (kafka_topic='users', partitions=1, value_format='JSON');
         CREATE TABLE per_region AS
           SELECT region, COUNT(*) AS n, SUM(balance) AS total FROM users GROUP BY region;
         CREATE TABLE east_users AS
           SELECT id, SUM(balance) AS balance FROM users WHERE region = 'east' GROUP BY id;
         INSERT INTO users (ROWTIME, id, region, balance) VALUES (1000, 'u1', 'east', 10);
         INSERT INTO users (ROWTIME, id, region, balance) VALUES (2000, 'u2', 'east', 20);\n",
    )
    .unwrap();
    let out = common::kql(&["run", first.to_str().unwrap(), "--data-dir", d]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // u2 is deleted: a tombstone, which SQL cannot write
    let out = produce(
        d,
        "users",
        "{\"key\":\"u2\",\"value\":null,\"timestamp\":3000}\n",
        "1",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let second = dir.path().join("second.ksql");
    std::fs::write(
        &second,
        "INSERT INTO users (ROWTIME, id, region, balance) VALUES (4000, 'u1', 'west', 10);
         PRINT 'PER_REGION' FROM BEGINNING;
         PRINT 'EAST_USERS' FROM BEGINNING;\n",
    )
    .unwrap();
    let out = run_json(&second, d);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {} {}", v["topic"], v["key"], v["value"])
        })
        .collect();
    assert_eq!(
        records,
        [
            // first run
            r#""PER_REGION" "east" {"N":1,"TOTAL":10}"#,
            r#""PER_REGION" "east" {"N":2,"TOTAL":30}"#,
            // second run: u2's tombstone takes 20 out of east, then u1 leaves east for
            // west: east is empty, its aggregates back at their start (as in ksqlDB)
            r#""PER_REGION" "east" {"N":1,"TOTAL":10}"#,
            r#""PER_REGION" "east" {"N":0,"TOTAL":0}"#,
            r#""PER_REGION" "west" {"N":1,"TOTAL":10}"#,
            r#""EAST_USERS" "u1" {"BALANCE":10}"#,
            r#""EAST_USERS" "u2" {"BALANCE":20}"#,
            // u2 deleted; u1 no longer passes WHERE: both groups are empty
            r#""EAST_USERS" "u2" {"BALANCE":0}"#,
            r#""EAST_USERS" "u1" {"BALANCE":0}"#,
        ]
    );
}

#[test]
fn print_shows_a_record_s_headers_but_not_kql_s_own_and_a_sink_carries_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = produce(
        d,
        "clicks",
        "{\"key\":\"u1\",\"value\":{\"n\":1},\"headers\":{\"origin\":\"web\",\"trace\":\"t-1\"}}\n\
         {\"key\":\"u2\",\"value\":{\"n\":2}}\n",
        "1",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let script = dir.path().join("print.ksql");
    std::fs::write(
        &script,
        "CREATE STREAM IF NOT EXISTS clicks (u VARCHAR KEY, n INT) WITH (kafka_topic='clicks', value_format='JSON');\n\
         CREATE STREAM IF NOT EXISTS doubled AS SELECT u, n * 2 AS m FROM clicks;\n\
         PRINT 'clicks' FROM BEGINNING;\nPRINT 'DOUBLED' FROM BEGINNING;\n",
    )
    .unwrap();
    let out = common::kql(&["run", script.to_str().unwrap(), "--data-dir", d]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("rowtime:"))
        .collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert!(
        lines[0].ends_with("partition: 0, headers: [origin=web, trace=t-1]"),
        "{}",
        lines[0]
    );
    // The second record has none. The sink's records carry their input record's headers
    // (as ksqlDB's do) and kql's own kql.src, which PRINT leaves out.
    assert!(!lines[1].contains("headers"), "{lines:?}");
    assert!(
        lines[2].ends_with("value: {\"M\":2}, partition: 0, headers: [origin=web, trace=t-1]"),
        "{lines:?}"
    );
    assert!(!lines[3].contains("headers"), "{lines:?}");
    let out = run_json(&script, d);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first: serde_json::Value =
        serde_json::from_str(out.stdout.lines().find(|l| l.contains("\"u1\"")).unwrap()).unwrap();
    assert_eq!(
        first["headers"],
        serde_json::json!([{"key": "origin", "value": "web"}, {"key": "trace", "value": "t-1"}])
    );
}

#[test]
fn a_restored_query_keeps_the_session_properties_it_was_started_with() {
    // The query was compiled after SET ... wrap.single.values = false: restored by a
    // session that never SETs it, it still writes bare values.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let first = dir.path().join("first.ksql");
    std::fs::write(&first, "SET 'ksql.persistence.wrap.single.values'='false';\nCREATE STREAM s (k VARCHAR KEY, n INT) WITH (kafka_topic='s', value_format='JSON');\nCREATE STREAM bare AS SELECT k, n FROM s;\nINSERT INTO s (k, n) VALUES ('a', 1);\n").unwrap();
    let out = common::kql(&["run", first.to_str().unwrap(), "--data-dir", d]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let second = dir.path().join("second.ksql");
    std::fs::write(&second, "INSERT INTO s (k, n) VALUES ('b', 2);\nCREATE STREAM wrapped AS SELECT k, n FROM s;\nPRINT 'BARE' FROM BEGINNING LIMIT 2;\nPRINT 'WRAPPED' FROM BEGINNING LIMIT 2;\n").unwrap();
    let out = common::run_json(&second, d);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let values: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split("\"value\":").nth(1))
        .collect();
    // the restore set them for the restored query only: this session's query is wrapped
    assert_eq!(
        values,
        ["\"1\"}", "\"2\"}", "{\"N\":1}}", "{\"N\":2}}"],
        "{}",
        out.stdout
    );
}
