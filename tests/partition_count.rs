//! The documented maximum partition count on a data directory: it works where the open
//! file limit allows it, and fails before creating anything, with a message, where not.

mod common;

use std::process::Command;

fn script(dir: &std::path::Path, partitions: u32) -> String {
    let p = dir.join("many.ksql");
    std::fs::write(
        &p,
        format!(
            "CREATE STREAM s (k VARCHAR KEY, n INT) WITH (kafka_topic='s', partitions={partitions});\n\
             INSERT INTO s (k, n) VALUES ('a', 1);\n\
             SELECT k, n FROM s EMIT CHANGES;\n"
        ),
    )
    .unwrap();
    p.to_str().unwrap().to_string()
}

/// `kql run` under a shell whose open file limit is `limit` (soft and hard).
fn run_limited(limit: u32, script: &str, data: &str) -> common::RunOutput {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {limit} && exec \"$0\" run \"$1\" --data-dir \"$2\""
        ))
        .arg(env!("CARGO_BIN_EXE_kql"))
        .arg(script)
        .arg(data)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    common::RunOutput {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// How many replica directories the data directory holds, over all brokers.
fn replica_dirs(data: &std::path::Path) -> usize {
    let Ok(brokers) = std::fs::read_dir(data) else {
        return 0;
    };
    brokers
        .filter_map(|b| std::fs::read_dir(b.unwrap().path()).ok())
        .map(|d| d.count())
        .sum()
}

#[test]
fn more_partitions_than_open_files_fail_cleanly_before_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run_limited(512, &script(dir.path(), 2000), data.to_str().unwrap());
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("topic 's' needs 2000 open files (one per replica's segment)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ulimit -n"), "{}", out.stderr);
    assert_eq!(replica_dirs(&data), 0, "partition directories left behind");
}

#[test]
fn ten_thousand_partitions_work_on_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run_limited(20_000, &script(dir.path(), 10_000), data.to_str().unwrap());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("\"a\"") || out.stdout.contains(" a "),
        "{}",
        out.stdout
    );
    assert_eq!(
        replica_dirs(&data),
        10_000 + 3,
        "10,000 partitions and the catalog log's three replicas"
    );
}
