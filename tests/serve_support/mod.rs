//! A `kql serve` process for the wire-protocol tests, and the client tools they need.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `kql serve`; stopped with Ctrl-C (SIGINT) when dropped.
pub struct Served {
    child: Child,
    /// The brokers' addresses, the bootstrap first.
    pub brokers: Vec<String>,
    stderr: mpsc::Receiver<String>,
}

impl Served {
    /// `kql serve` on free loopback ports with `brokers` brokers, `args` appended.
    pub fn start(brokers: u32, args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--brokers",
                &brokers.to_string(),
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kql starts");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut addrs = Vec::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("kql serve reports its brokers and 'ready' on stderr");
            if let Some(rest) = line.strip_prefix("kql serve: broker ") {
                let addr = rest
                    .split(" listening on ")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap();
                addrs.push(addr.to_string());
            }
            if line.starts_with("kql serve: ready") {
                break;
            }
        }
        Served {
            child,
            brokers: addrs,
            stderr: rx,
        }
    }

    pub fn bootstrap(&self) -> &str {
        &self.brokers[0]
    }

    /// Stops the server with Ctrl-C and returns its stdout and exit status.
    pub fn stop(mut self) -> (String, Option<i32>) {
        interrupt(&self.child);
        let mut out = String::new();
        if let Some(mut s) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut s, &mut out);
        }
        let status = self.child.wait().ok().and_then(|s| s.code());
        (out, status)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The stderr lines printed so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        interrupt(&self.child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interrupt(child: &Child) {
    // Quietly: the server may have exited already (stop, then drop).
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Fails the test, saying how to install the missing client, unless `tool` runs.
pub fn require(tool: &str, probe: &[&str]) {
    let ok = Command::new(tool)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{tool} is missing or broken: run scripts/clients-up to install the Kafka clients the tests use");
}

pub fn require_python_module(module: &str) {
    require("python3", &["-c", &format!("import {module}")]);
}

/// Runs a command to its end (at most `timeout`), with stdin from `input`.
pub fn run(cmd: &mut Command, input: &str, timeout: Duration) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the client starts");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let id = child.id();
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if rx.recv_timeout(timeout).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", &id.to_string()])
                .status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = tx.send(());
    out
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// `kql run FILE --data-dir DIR --format json`: its stdout lines.
pub fn kql_json(file: &Path, data_dir: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--format",
            "json",
            "--data-dir",
            data_dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kql run failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs a command for `duration`, then interrupts it (Ctrl-C: a consumer leaves its group
/// and commits) and returns what it printed.
pub fn run_for(cmd: &mut Command, duration: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the client starts");
    std::thread::sleep(duration);
    interrupt(&child);
    let id = child.id();
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", &id.to_string()])
                .status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = tx.send(());
    out
}

/// A file in a fresh temporary directory.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
