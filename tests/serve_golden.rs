//! kql as a Kafka client of kql: every `tests/golden/NAME.ksql` run with
//! `--bootstrap-servers` against a fresh `kql serve` prints the rows of `NAME.out`, as it
//! does on the embedded log (tests/golden.rs) and on Apache Kafka (tests/kafka_golden.rs).
//! This drives the server with librdkafka through everything a pipeline does: topic
//! creation and deletion, metadata, produce, fetch, list offsets, consumer groups and
//! committed offsets.

mod common;
mod serve_support;

use std::path::Path;

use serve_support::Served;

/// Files whose output cannot be the same through a Kafka client, and why.
const EMBEDDED_ONLY: &[(&str, &str)] = &[(
    "copartition_fix",
    "DESCRIBE TOPIC shows the replicas of the embedded log",
)];

#[test]
fn golden_files_print_the_same_rows_through_kql_serve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    let mut ran = 0;
    for file in common::corpus("golden") {
        let name = common::stem(&file);
        if EMBEDDED_ONLY.iter().any(|(n, _)| *n == name) {
            continue;
        }
        // A server per file: the files reuse topic names.
        let served = Served::start(3, &[]);
        let out = common::kql(&[
            "run",
            file.to_str().unwrap(),
            "--format",
            "json",
            "--bootstrap-servers",
            served.bootstrap(),
            "--application-id",
            &format!("golden-{name}"),
        ]);
        ran += 1;
        let expected = std::fs::read_to_string(root.join(file.with_extension("out"))).unwrap();
        let stdout = common::as_default_application(&out.stdout, &format!("golden-{name}"));
        if out.code != 0 {
            failures.push(format!("{name}: exit {}\n{}", out.code, out.stderr));
        } else if stdout != expected {
            failures.push(format!(
                "{name}:\n--- expected (as on the embedded log)\n{expected}--- got through kql serve\n{stdout}"
            ));
        }
        let (_, status) = served.stop();
        assert_eq!(status, Some(0), "{name}: kql serve did not stop cleanly");
    }
    assert!(ran >= 25, "only {ran} golden files ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} golden files differ through kql serve:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
