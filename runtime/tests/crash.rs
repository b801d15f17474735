//! Crash test: a child process (this test binary, re-run with an environment variable)
//! appends with acks=all and fsync=always and prints each acknowledged offset; the test
//! kills it with SIGKILL mid-write, reopens the directory and reads every printed offset.
//! Three kill cycles run on the same directory.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use kql_runtime::*;

const DIR_VAR: &str = "KQL_CRASH_WRITER_DIR";

fn settings() -> Settings {
    Settings {
        segment_bytes: 4096,
        fsync: FsyncPolicy::Always,
        ..Settings::default()
    }
}

/// The child: runs only when the test binary is started with `KQL_CRASH_WRITER_DIR`.
#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let c = Cluster::open(&dir, 2, settings()).unwrap();
    let cfg = TopicConfig {
        replicas: 2,
        ..Default::default()
    };
    match c.create_topic("crash", cfg) {
        Ok(()) | Err(LogError::TopicExists(_)) => {}
        Err(e) => panic!("{e}"),
    }
    let pid = std::process::id();
    for i in 0.. {
        let v = format!("{pid}-{i}-{}", "p".repeat(i % 200));
        let r = ProducerRecord::new(None, Some(Bytes::from(v.clone())));
        let o = c.produce_batch("crash", 0, vec![r], Acks::All).unwrap();
        println!("ACK {o} {v}");
    }
}

#[test]
fn every_acknowledged_offset_survives_sigkill() {
    let d = tempfile::tempdir().unwrap();
    let mut acked: Vec<(u64, String)> = Vec::new();
    for cycle in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_writer_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, d.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < 200 + cycle * 50 {
            let line = lines.next().expect("the writer runs").unwrap();
            if let Some(rest) = line.strip_prefix("ACK ") {
                let (o, v) = rest.split_once(' ').unwrap();
                acked.push((o.parse().unwrap(), v.to_string()));
                seen += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(3));
        child.kill().unwrap(); // SIGKILL
                               // Lines printed before the kill are acknowledged too.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("ACK ") {
                let (o, v) = rest.split_once(' ').unwrap();
                acked.push((o.parse().unwrap(), v.to_string()));
            }
        }
        child.wait().unwrap();

        let c = Cluster::open(d.path(), 2, settings()).unwrap();
        let (_, hw, _) = c.offsets("crash", 0).unwrap();
        let all = c.fetch("crash", 0, 0, usize::MAX).unwrap();
        for (o, v) in &acked {
            assert!(
                *o < hw,
                "acknowledged offset {o} is below the high watermark {hw}"
            );
            let r = &all[*o as usize];
            assert_eq!(r.offset, *o);
            assert_eq!(r.value.as_deref(), Some(v.as_bytes()), "offset {o}");
        }
    }
}
