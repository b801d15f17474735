//! The golden files on Apache Kafka: every `tests/golden/NAME.ksql` run with
//! `--bootstrap-servers` prints the rows of `NAME.out`, as it does on the embedded log
//! (tests/golden.rs). Files run one after another; the topics each run created are deleted
//! before the next, since the files reuse topic names; each run is its own application.

mod common;
mod kafka;

use std::collections::BTreeSet;
use std::path::Path;

use kql::exec::log::Topics;
use kql::kafka::{KafkaLog, KafkaSettings};

/// Files whose output cannot be the same on Kafka, and why.
const EMBEDDED_ONLY: &[(&str, &str)] = &[
    (
        "copartition_fix",
        "DESCRIBE TOPIC shows the embedded log's three brokers",
    ),
    (
        "join_stream_table",
        "SHOW TOPICS lists the shared test cluster's topics",
    ),
    (
        "run_script_and_drop",
        "SHOW TOPICS lists the shared test cluster's topics",
    ),
];
// (No golden file writes a record at time 0: librdkafka reads a record timestamp of 0
// as "now", so kql refuses to write one to Kafka, tests/kafka_log.rs checks the error.)

/// Topics other tests create (named by `kafka::unique`: NAME-PID-NANOS), left alone.
fn made_by_another_test(topic: &str) -> bool {
    let mut parts = topic.rsplit('-');
    let nanos = parts.next().unwrap_or("");
    let pid = parts.next().unwrap_or("");
    nanos.len() >= 15
        && nanos.bytes().all(|b| b.is_ascii_digit())
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
}

#[test]
fn golden_files_print_the_same_rows_on_kafka() {
    let bootstrap = kafka::one_node();
    let admin = KafkaLog::connect(KafkaSettings::new(&bootstrap)).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    let mut ran = 0;
    for file in common::corpus("golden") {
        let name = common::stem(&file);
        if EMBEDDED_ONLY.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let before: BTreeSet<String> = admin.topic_names().into_iter().collect();
        let app = kafka::unique(&format!("golden-{name}"));
        let out = common::kql(&[
            "run",
            file.to_str().unwrap(),
            "--format",
            "json",
            "--bootstrap-servers",
            &bootstrap,
            "--application-id",
            &app,
        ]);
        ran += 1;
        let expected = std::fs::read_to_string(root.join(file.with_extension("out"))).unwrap();
        let stdout = common::as_default_application(&out.stdout, &app);
        if out.code != 0 {
            failures.push(format!("{name}: exit {}\n{}", out.code, out.stderr));
        } else if stdout != expected {
            failures.push(format!(
                "{name}:\n--- expected (as on the embedded log)\n{expected}--- got on Kafka\n{stdout}"
            ));
        }
        for topic in admin.topic_names() {
            if !before.contains(&topic) && !made_by_another_test(&topic) {
                admin
                    .delete_topic(&topic)
                    .unwrap_or_else(|e| panic!("{name}: cannot delete topic {topic}: {e}"));
            }
        }
    }
    assert!(ran >= 24, "only {ran} golden files ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} golden files differ on Kafka:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
