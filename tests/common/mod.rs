//! Helpers shared by the integration tests: run the real `kql` binary and list corpus files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct RunOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs the kql binary with `args` from the repository root.
pub fn kql(args: &[&str]) -> RunOutput {
    let out = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the kql binary runs");
    RunOutput {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Runs the kql binary with `args`, writing `input` to its stdin.
pub fn kql_with_input(args: &[&str], input: &str) -> RunOutput {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the kql binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    RunOutput {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// The `.ksql` files of a folder under `tests/`, sorted, as paths relative to the repository.
pub fn corpus(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("tests").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ksql"))
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .ksql files in tests/{dir}");
    files
}

pub fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// `kql produce TOPIC - --data-dir DIR [extra...]` with `lines` on its stdin.
pub fn produce(data_dir: &str, topic: &str, lines: &str, extra: &[&str]) -> RunOutput {
    let mut args = vec!["produce", topic, "-", "--data-dir", data_dir];
    args.extend_from_slice(extra);
    kql_with_input(&args, lines)
}

/// `kql run SCRIPT --data-dir DIR --format json`.
pub fn run_json(script: &Path, data_dir: &str) -> RunOutput {
    kql(&[
        "run",
        script.to_str().unwrap(),
        "--data-dir",
        data_dir,
        "--format",
        "json",
    ])
}

/// A run's output as the embedded log's default application would print it: EXPLAIN of
/// a running query names its internal topics, which carry the application id.
#[allow(dead_code)]
pub fn as_default_application(stdout: &str, app: &str) -> String {
    stdout.replace(
        &format!("_confluent-ksql-{app}_"),
        "_confluent-ksql-default_",
    )
}
