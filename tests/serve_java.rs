//! `kql serve` with the Java client from Maven Central (kafka-clients): the default
//! producer (idempotent, acks=all) and a group consumer that commits. A small program
//! compiled with javac against the jars scripts/clients-up fetched.

mod serve_support;

use std::process::Command;
use std::time::Duration;

use kql_runtime::partitioner::partition_for_key;
use serve_support::*;

const RECORDS: usize = 40;

#[test]
fn the_default_idempotent_java_producer_and_a_group_consumer_work_and_keys_land_where_java_puts_them(
) {
    require("javac", &["-version"]);
    let lib = root().join("target/kafka-clients/lib");
    let jars: Vec<_> = std::fs::read_dir(&lib)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jar"))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        jars.iter().any(|j| j.file_name().unwrap().to_string_lossy().starts_with("kafka-clients-")),
        "the Java kafka-clients jars are missing from target/kafka-clients/lib: run scripts/clients-up"
    );
    let classes = tempfile::tempdir().unwrap();
    let classpath = jars
        .iter()
        .map(|j| j.to_str().unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let javac = Command::new("javac")
        .args(["-cp", &classpath, "-d", classes.path().to_str().unwrap()])
        .arg(root().join("tests/serve_clients/KafkaClients.java"))
        .output()
        .unwrap();
    assert!(javac.status.success(), "{}", text(&javac.stderr));
    let served = Served::start(3, &[]);
    let out = run(
        Command::new("java").args([
            "-cp",
            &format!("{}:{classpath}", classes.path().display()),
            "KafkaClients",
            served.bootstrap(),
            "java-events",
            "java-group",
            &RECORDS.to_string(),
        ]),
        "",
        Duration::from_secs(120),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let placed: Vec<(String, u32)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("placed "))
        .map(|l| {
            let (k, p) = l.split_once(' ').unwrap();
            (k.to_string(), p.parse().unwrap())
        })
        .collect();
    assert_eq!(placed.len(), RECORDS);
    for (key, partition) in &placed {
        assert_eq!(
            *partition,
            partition_for_key(key.as_bytes(), 3),
            "Java put {key} on {partition}: kql's partitioner agrees"
        );
    }
    assert!(
        stdout.contains(&format!("consumed {RECORDS} committed {RECORDS}")),
        "the group read every record once and committed past them: {stdout}"
    );
}
