//! `kql produce` and `kql topics` with `--bootstrap-servers`: the commands on a real Apache
//! Kafka cluster (started by scripts/kafka-up), and the errors a user can cause there.

mod common;
mod kafka;

use kafka::unique;

#[test]
fn produced_records_land_in_the_partitions_of_their_keys_and_topics_lists_them() {
    let bootstrap = kafka::one_node();
    let topic = unique("cli-readings");
    let input = r#"{"key":"s-1","value":{"temp":21.5},"timestamp":1700000000000}
{"key":"s-2","value":{"temp":30.0}}
{"key":"s-1","value":{"temp":22.0}}
"#;
    let out = common::kql_with_input(
        &[
            "produce",
            &topic,
            "-",
            "--partitions",
            "3",
            "--print-offsets",
            "--bootstrap-servers",
            &bootstrap,
        ],
        input,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("Created topic '{topic}' with 3 partitions")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Produced 3 records"), "{}", out.stderr);
    // Kafka's partitioner: murmur2("s-1") % 3 = 1 and murmur2("s-2") % 3 = 0, as on the
    // embedded log (the next test); tests/kafka_log.rs checks placement against librdkafka's
    // own Java-compatible partitioner.
    let placed: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        placed,
        vec![
            r#"{"partition":1,"offset":0}"#,
            r#"{"partition":0,"offset":0}"#,
            r#"{"partition":1,"offset":1}"#
        ]
    );

    let listed = common::kql(&["topics", "--bootstrap-servers", &bootstrap]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let at = listed
        .stdout
        .find(&format!("{topic}: 3 partitions, 1 replica"))
        .expect(&listed.stdout);
    let lines: Vec<&str> = listed.stdout[at..].lines().take(4).collect();
    assert!(
        lines[1].starts_with("  partition 0: offsets 0..1 (high watermark 1)"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("  partition 1: offsets 0..2 (high watermark 2)"),
        "{lines:?}"
    );
    assert!(
        lines[3].starts_with("  partition 2: offsets 0..0 (high watermark 0)"),
        "{lines:?}"
    );
}

#[test]
fn the_same_file_on_the_embedded_log_places_keys_identically() {
    let input = "{\"key\":\"s-1\",\"value\":1}\n{\"key\":\"s-2\",\"value\":2}\n";
    let out = common::kql_with_input(
        &["produce", "t", "-", "--partitions", "3", "--print-offsets"],
        input,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        vec![
            r#"{"partition":1,"offset":0}"#,
            r#"{"partition":0,"offset":0}"#
        ]
    );
}

#[test]
fn an_unreachable_cluster_is_a_diagnostic_naming_the_address() {
    let address = kafka::address_nobody_listens_on();
    let out = common::kql(&["topics", "--bootstrap-servers", &address]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "[KQL0603] no Kafka broker answered at {address} within 10000 ms (last error: "
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Connection refused"), "{}", out.stderr);
}

#[test]
fn a_properties_file_is_read_and_an_unknown_property_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.properties");
    std::fs::write(
        &good,
        format!("bootstrap.servers={}\nacks=all\nkey.serializer=org.apache.kafka.common.serialization.StringSerializer\n", kafka::one_node()),
    )
    .unwrap();
    let out = common::kql(&["topics", "--config", good.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let bad = dir.path().join("bad.properties");
    std::fs::write(&bad, "no.such.setting=1\n").unwrap();
    let out = common::kql(&[
        "topics",
        "--bootstrap-servers",
        &kafka::one_node(),
        "--config",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "[KQL0603] invalid configuration: Kafka client property 'no.such.setting'='1'"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn data_dir_and_application_id_are_refused_where_they_mean_nothing() {
    let out = common::kql(&[
        "topics",
        "--bootstrap-servers",
        &kafka::one_node(),
        "--data-dir",
        "somewhere",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("--data-dir somewhere is for the embedded log"),
        "{}",
        out.stderr
    );
    let out = common::kql(&["topics", "--application-id", "alerts"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("--application-id names an application on Kafka"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_application_keeps_its_statements_groups_and_internal_topics_under_its_name() {
    let bootstrap = kafka::one_node();
    let app = unique("alerts");
    let topic = unique("temps");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipeline.ksql");
    std::fs::write(
        &file,
        format!(
            "CREATE STREAM temps (sensor VARCHAR KEY, temp DOUBLE) \
             WITH (kafka_topic='{topic}', partitions=2, value_format='JSON');\n\
             INSERT INTO temps (ROWTIME, sensor, temp) VALUES (1000, 's-1', 21.0);\n\
             INSERT INTO temps (ROWTIME, sensor, temp) VALUES (2000, 's-1', 27.0);\n\
             INSERT INTO temps (ROWTIME, sensor, temp) VALUES (3000, 's-2', 30.0);\n\
             CREATE TABLE maxes AS SELECT sensor, MAX(temp) AS hottest FROM temps GROUP BY sensor EMIT CHANGES;\n\
             SELECT * FROM maxes;\n"
        ),
    )
    .unwrap();
    let run = common::kql(&[
        "run",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--bootstrap-servers",
        &bootstrap,
        "--application-id",
        &app,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut rows: Vec<&str> = run.stdout.lines().collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            r#"{"SENSOR":"s-1","HOTTEST":27.0}"#,
            r#"{"SENSOR":"s-2","HOTTEST":30.0}"#
        ]
    );

    // A shell of the same application finds the stream and table again, and the query's
    // consumer group and changelog under the application's name.
    let shell = common::kql_with_input(
        &[
            "--bootstrap-servers",
            &bootstrap,
            "--application-id",
            &app,
            "--format",
            "json",
        ],
        "SHOW STREAMS;\nSHOW CONSUMER GROUPS;\nSHOW TOPICS;\n",
    );
    assert_eq!(shell.code, 0, "{}", shell.stderr);
    assert!(
        shell.stderr.contains(&format!(
            "Restored 2 statement(s) from the command topic '_confluent-ksql-{app}_command_topic'"
        )),
        "{}",
        shell.stderr
    );
    assert!(shell.stdout.contains("\"TEMPS\""), "{}", shell.stdout);
    assert!(
        shell.stdout.contains(&format!("\"{app}-CTAS_MAXES_1\"")),
        "{}",
        shell.stdout
    );
    assert!(
        shell.stdout.contains(&format!(
            "\"_confluent-ksql-{app}_query_CTAS_MAXES_1-Aggregate-Materialize-changelog\""
        )),
        "{}",
        shell.stdout
    );

    // Another application on the same cluster sees none of it.
    let other = common::kql_with_input(
        &[
            "--bootstrap-servers",
            &bootstrap,
            "--application-id",
            &unique("other"),
            "--format",
            "json",
        ],
        "SHOW STREAMS;\n",
    );
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert!(!other.stdout.contains("TEMPS"), "{}", other.stdout);
    assert!(!other.stderr.contains("Restored"), "{}", other.stderr);
}

#[test]
fn set_passes_client_properties_to_kafka_and_refuses_unknown_ones() {
    let bootstrap = kafka::one_node();
    let topic = unique("compressed");
    let statements = format!(
        "SET 'compression.type'='lz4';\n\
         CREATE STREAM c (id VARCHAR KEY, v INT) WITH (kafka_topic='{topic}', partitions=1, value_format='JSON');\n\
         INSERT INTO c (ROWTIME, id, v) VALUES (1000, 'a', 1);\n\
         SELECT id, v FROM c EMIT CHANGES;\n\
         SET 'no.such.property'='1';\n"
    );
    let out = common::kql_with_input(
        &[
            "--bootstrap-servers",
            &bootstrap,
            "--application-id",
            &unique("set"),
            "--format",
            "json",
        ],
        &statements,
    );
    assert!(
        out.stderr.contains("Successfully changed local property 'compression.type' to 'lz4' (passed to the Kafka client)."),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout.trim(), r#"{"ID":"a","V":1}"#, "{}", out.stderr);
    assert!(out.stderr.contains("[KQL0503]"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("No such configuration property: \"no.such.property\""),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, 1, "a failed statement in piped input exits 1");
}
