//! Golden tests: every `tests/golden/NAME.ksql` is run with `kql run --format json`; its
//! stdout must equal `NAME.out` and, when `NAME.err` exists, its warnings on stderr must
//! contain each line of it. `UPDATE_GOLDEN=1 cargo test --test golden` rewrites `.out`
//! files (review the diff: the expected rows are worked out by hand).

mod common;

use std::path::Path;

#[test]
fn golden_files_print_the_expected_rows() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for file in common::corpus("golden") {
        let out = common::kql(&["run", file.to_str().unwrap(), "--format", "json"]);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let expected_path = root.join(file.with_extension("out"));
        if out.code != 0 {
            failures.push(format!(
                "{}: exit {}\n{}",
                file.display(),
                out.code,
                out.stderr
            ));
            continue;
        }
        if update {
            std::fs::write(&expected_path, &out.stdout).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .out file", file.display()));
        if out.stdout != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{}",
                file.display(),
                out.stdout
            ));
        }
        if let Ok(err) = std::fs::read_to_string(root.join(file.with_extension("err"))) {
            for line in err.lines().filter(|l| !l.trim().is_empty()) {
                if !out.stderr.contains(line) {
                    failures.push(format!(
                        "{}: stderr lacks {line:?}:\n{}",
                        file.display(),
                        out.stderr
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_main_example_runs_and_prints_a_table() {
    let out = common::kql(&["run", "queries/temp_alerts.ksql"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("| SENSOR   | LOCATION   | TEMP | TEMP_F | AT_UTC   |"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("| sensor-3 | outflow    | 28.5 |   83.3 | 22:14:00 |"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("| sensor"))
            .count(),
        5
    );
    // status lines go to stderr, never between the rows
    assert!(out.stderr.contains("Stream created"));
}

#[test]
fn every_example_in_queries_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples: Vec<_> = std::fs::read_dir(root.join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ksql"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 5);
    for ex in examples {
        let out = common::kql(&["run", ex.to_str().unwrap()]);
        // An example whose last statement fails on purpose says so in a comment
        // (`-- expected error: TEXT`); it must fail with that text, and only there.
        let text = std::fs::read_to_string(&ex).unwrap();
        let expected_error = text
            .lines()
            .find_map(|l| l.strip_prefix("-- expected error: "));
        if let Some(error) = expected_error {
            assert_eq!(out.code, 1, "{} should fail:\n{}", ex.display(), out.stderr);
            assert!(
                out.stderr.contains(error),
                "{}:\n{}",
                ex.display(),
                out.stderr
            );
            assert_eq!(out.stderr.matches("Error:").count(), 1, "{}", out.stderr);
            continue;
        }
        assert_eq!(out.code, 0, "{} failed:\n{}", ex.display(), out.stderr);
        assert!(
            !out.stderr.contains("warning"),
            "{}:\n{}",
            ex.display(),
            out.stderr
        );
    }
}

#[test]
fn acks_1_loses_a_record_acks_0_hears_no_error_and_acks_all_is_refused() {
    let out = common::kql(&["run", "queries/acks.ksql", "--format", "json"]);
    let ids: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("{\"ID\":\""))
        .map(|l| &l[..3])
        .collect();
    // p-2 (acks=1, leader stopped before a read) and p-4 (acks=0, no leader) are gone.
    assert_eq!(ids, ["p-1", "p-1", "p-3", "p-1", "p-3"], "{}", out.stdout);
    assert!(
        out.stderr.contains("1 record only on the leader"),
        "{}",
        out.stderr
    );
    assert!(out
        .stderr
        .contains("payments-0: leader 1 -> 2, ISR [1, 2, 3] -> [2, 3]"));
    assert!(
        out.stderr.contains("(NOT_ENOUGH_REPLICAS)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_persistent_query_is_a_consumer_group_whose_commits_print_decoded() {
    let file = std::env::temp_dir().join(format!("kql-groups-{}.ksql", std::process::id()));
    std::fs::write(
        &file,
        "CREATE STREAM r (sensor VARCHAR KEY, temp DOUBLE) WITH (kafka_topic='r', partitions=2, value_format='JSON');\n\
         INSERT INTO r (sensor, temp) VALUES ('s1', 1.0);\n\
         INSERT INTO r (sensor, temp) VALUES ('s2', 2.0);\n\
         CREATE STREAM hot AS SELECT * FROM r WHERE temp > 1.5;\n\
         SHOW CONSUMER GROUPS;\n\
         PRINT '__consumer_offsets' FROM BEGINNING LIMIT 4;\n",
    )
    .unwrap();
    // No --data-dir: the group is there all the same.
    let out = common::kql(&["run", file.to_str().unwrap(), "--format", "json"]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains(r#"{"Group":"kql_query_CSAS_HOT_1","Members":0,"Generation":0,"Lag":0}"#),
        "{}",
        out.stdout
    );
    // s1 and s2 are both on partition 1 of r: the query's next offset there is 2.
    assert!(
        out.stdout.contains(r#""key":{"group":"kql_query_CSAS_HOT_1","topic":"r","partition":1},"value":{"offset":2}"#),
        "{}",
        out.stdout
    );
}

#[test]
fn offset_reset_latest_shows_only_what_comes_after_the_query_starts() {
    let out = common::kql(&["run", "queries/offset_reset.ksql", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let users: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("{\"USER_ID\":\""))
        .filter_map(|l| l.split('"').next())
        .collect();
    assert_eq!(users, ["ana", "bo", "cy"], "{}", out.stdout);
}

#[test]
fn stopping_a_stopped_broker_says_so() {
    let file = std::env::temp_dir().join(format!("kql-brokers-{}.ksql", std::process::id()));
    std::fs::write(
        &file,
        "STOP BROKER 2;\nSTOP BROKER 2;\nSTART BROKER 2;\nSTART BROKER 2;\n",
    )
    .unwrap();
    let out = common::kql(&["run", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("Broker 2 stopped\nBroker 2 is already stopped: nothing changed\nBroker 2 started\nBroker 2 is already running: nothing changed"), "{}", out.stderr);
}

#[test]
fn retention_moves_the_log_start_and_hides_expired_records() {
    let out = common::kql(&["run", "queries/retention.ksql", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let partition: serde_json::Value =
        serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    let log_start = partition["Log start"].as_i64().unwrap();
    assert!(log_start > 0, "no segment was deleted: {partition}");
    assert_eq!(partition["Log end"], 6);
    // the query reads from the new log start: exactly the records that remain
    let rows = out.stdout.lines().skip(1).count() as i64;
    assert_eq!(rows, 6 - log_start);
}

#[test]
fn failover_keeps_every_record_and_restores_the_replication_factor() {
    let out = common::kql(&["run", "queries/failover.ksql", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // after STOP BROKER 2 (the second DESCRIBE TOPIC), no replica or leader is on broker 2,
    // and every partition has 2 replicas, both in sync
    let after_stop: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l.get("Partition").is_some())
        .skip(3)
        .take(3)
        .collect();
    for p in &after_stop {
        let replicas = p["Replicas"].as_str().unwrap();
        assert_eq!(replicas.split(',').count(), 2, "{p}");
        assert!(!replicas.split(',').any(|b| b == "2"), "{p}");
        assert_eq!(p["ISR"].as_str().unwrap().split(',').count(), 2, "{p}");
        assert_ne!(p["Leader"], 2);
    }
    // the stopped broker led partition 1, which holds two of the payments
    assert_eq!(after_stop[1]["Log end"], 2, "{}", out.stdout);
    // The stop message names the leader's move and the replicas' moves.
    assert!(
        out.stderr
            .contains("payments-1: leader 2 -> 3, replicas [2, 3] -> [1, 3], ISR [2, 3] -> [1, 3]"),
        "{}",
        out.stderr
    );
    let ids: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.get("ID").and_then(|v| v.as_str()))
        .collect();
    assert_eq!(ids.len(), 4, "{}", out.stdout);
    assert!(out.stderr.contains("Broker 2 stopped"));
}

#[test]
fn show_functions_lists_every_function_by_name_with_its_kind() {
    let file = std::env::temp_dir().join(format!("kql-functions-{}.ksql", std::process::id()));
    std::fs::write(&file, "SHOW FUNCTIONS;\nLIST FUNCTIONS;\n").unwrap();
    let out = common::kql(&["run", file.to_str().unwrap(), "--format", "json"]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = kql::functions::all().count();
    // SHOW and its synonym LIST, each listing every function once.
    assert_eq!(rows.len(), 2 * count, "{}", out.stdout);
    let names: Vec<&str> = rows[..count]
        .iter()
        .map(|r| r["Function Name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted, "by name, each once");
    assert_eq!(rows[..count], rows[count..]);
    for (name, kind) in [
        ("ABS", "SCALAR"),
        ("COUNT", "AGGREGATE"),
        ("EXPLODE", "TABLE"),
    ] {
        assert!(
            rows.iter()
                .any(|r| r["Function Name"] == name && r["Type"] == kind),
            "{name} {kind}: {}",
            out.stdout
        );
    }
}
