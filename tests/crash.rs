//! A real `kql produce` process is killed with SIGKILL while it writes to a `--data-dir`
//! log; reopening the directory must find every record whose offset the process printed
//! (it prints an offset only once the record is acknowledged with acks=all).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn records_acknowledged_before_a_sigkill_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args([
            "produce",
            "events",
            "-",
            "--data-dir",
            &data_dir,
            "--partitions",
            "3",
            "--print-offsets",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..200_000u64 {
            let line = format!(
                "{{\"key\":\"k-{}\",\"value\":{{\"n\":{i}}},\"timestamp\":{i}}}\n",
                i % 97
            );
            if stdin.write_all(line.as_bytes()).is_err() {
                break; // the process is gone
            }
        }
    });
    let mut acked: Vec<(u32, u64)> = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 2_000 {
        let line = lines.next().expect("kql produce printed offsets").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        acked.push((
            v["partition"].as_u64().unwrap() as u32,
            v["offset"].as_u64().unwrap(),
        ));
    }
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    drop(lines);
    let _ = writer.join();

    // Reopen the directory: every acknowledged offset is there.
    let out = common::kql(&["topics", "--data-dir", &data_dir]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut end = [0u64; 3];
    for line in out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("partition"))
    {
        // "  partition P: offsets S..E (high watermark H), ..."
        let p: usize = line.trim_start()["partition ".len()..]
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let hw: u64 = line
            .split("high watermark ")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        end[p] = hw;
    }
    for (p, offset) in &acked {
        assert!(
            *offset < end[*p as usize],
            "acknowledged offset {offset} of partition {p} was lost (high watermark {})",
            end[*p as usize]
        );
    }
    // And the log is readable through the language after the crash.
    let script = dir.path().join("count.ksql");
    std::fs::write(&script, "CREATE STREAM events (k VARCHAR KEY, n BIGINT) WITH (kafka_topic='events');\nSELECT k, n FROM events WHERE n = 0 EMIT CHANGES;\n").unwrap();
    let out = common::kql(&[
        "run",
        script.to_str().unwrap(),
        "--data-dir",
        &data_dir,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "{\"K\":\"k-0\",\"N\":0}\n");
}

/// A data directory and the files of one kill scenario.
struct Scenario {
    dir: tempfile::TempDir,
}

impl Scenario {
    fn new() -> Scenario {
        Scenario {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes a file of the scenario and returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("log").to_str().unwrap().to_string()
    }

    /// `kql run SCRIPT --data-dir` (JSON rows on stdout).
    fn run(&self, script: &str) -> common::RunOutput {
        common::kql(&[
            "run",
            script,
            "--data-dir",
            &self.data_dir(),
            "--format",
            "json",
        ])
    }

    /// The setup file of `n` events keyed k0..k10 (`{"k":"k<i % 11>","<field>":i}`) and a
    /// table `keys` giving key k<j> the group g<j % 3>; `more` (statements) runs before the
    /// events are loaded, after the table's rows, so every event finds its key's row.
    fn keyed_events(&self, n: u64, field: &str, more: &str) -> String {
        self.file(
            "events.jsonl",
            &(0..n)
                .map(|i| format!("{{\"k\":\"k{}\",\"{field}\":{i}}}\n", i % 11))
                .collect::<String>(),
        );
        let mut setup = format!(
            "CREATE TABLE keys (k VARCHAR PRIMARY KEY, g VARCHAR) WITH (kafka_topic='keys', partitions=2);\n\
             CREATE STREAM events (k VARCHAR KEY, {field} BIGINT) WITH (kafka_topic='events', partitions=2);\n"
        );
        for k in 0..11 {
            setup.push_str(&format!(
                "INSERT INTO keys (k, g) VALUES ('k{k}', 'g{}');\n",
                k % 3
            ));
        }
        setup.push_str(more);
        setup.push_str("CREATE SOURCE CONNECTOR load WITH ('connector.class'='FileStreamSource', 'file'='events.jsonl', 'topic'='events', 'key'='k');\n");
        self.file("setup.ksql", &setup)
    }

    /// Starts `kql run SCRIPT` on the data directory and kills it (SIGKILL) after
    /// `delay_ms`; false when it had ended before.
    fn run_killed_after(&self, script: &str, delay_ms: u64) -> bool {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["run", script, "--data-dir", &self.data_dir()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let ended = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        child.wait().unwrap();
        !ended
    }
}

/// One field of every JSON row of an output, as numbers or strings.
fn column(out: &common::RunOutput, name: &str) -> Vec<serde_json::Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()[name].clone())
        .collect()
}

/// Sorted ids, after checking that none appears twice.
fn ids_once(out: &common::RunOutput, what: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = column(out, "ID")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let written = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), written, "{what}: duplicates in the sink");
    ids
}

/// A persistent query is killed (SIGKILL) at a different moment in each round; the next
/// run on the same data directory restores it from the command topic and its committed
/// offsets. Whatever the moment, the sink ends with every expected row exactly once.
#[test]
fn a_persistent_query_killed_at_any_moment_resumes_without_gap_or_duplicate() {
    const EVENTS: u64 = 60_000;
    for delay_ms in [30u64, 120, 250] {
        let s = Scenario::new();
        s.file(
            "events.jsonl",
            &(0..EVENTS)
                .map(|i| format!("{{\"id\":{i},\"n\":{}}}\n", i % 7))
                .collect::<String>(),
        );
        let setup = s.file(
            "setup.ksql",
            "CREATE STREAM events (id BIGINT, n INT) WITH (kafka_topic='events', partitions=2);\n\
             CREATE SOURCE CONNECTOR load WITH ('connector.class'='FileStreamSource', 'file'='events.jsonl', 'topic'='events');\n",
        );
        let query = "CREATE STREAM {IF} odd AS SELECT id, n FROM events WHERE n % 2 = 1;\n";
        let csas = s.file("csas.ksql", &query.replace("{IF}", ""));
        let check = s.file(
            "check.ksql",
            &(query.replace("{IF}", "IF NOT EXISTS") + "SELECT id FROM odd EMIT CHANGES;\n"),
        );
        assert_eq!(s.run(&setup).code, 0);
        s.run_killed_after(&csas, delay_ms);
        let out = s.run(&check);
        assert_eq!(out.code, 0, "kill after {delay_ms} ms: {}", out.stderr);
        let expected: Vec<u64> = (0..EVENTS).filter(|i| (i % 7) % 2 == 1).collect();
        assert_eq!(
            ids_once(&out, &format!("kill after {delay_ms} ms")),
            expected
        );
    }
}

/// The same for an aggregation, whose state comes back from its changelog: whatever the
/// moment of the kill, the table's final counts are exact (no record counted twice or
/// missed) once the query has caught up after the restart.
#[test]
fn a_killed_aggregation_restores_its_state_and_counts_every_record_once() {
    const EVENTS: u64 = 60_000;
    for delay_ms in [40u64, 150, 300] {
        let s = Scenario::new();
        s.file(
            "events.jsonl",
            &(0..EVENTS)
                .map(|i| format!("{{\"k\":\"k{}\",\"n\":{i}}}\n", i % 7))
                .collect::<String>(),
        );
        let setup = s.file(
            "setup.ksql",
            "CREATE STREAM events (k VARCHAR KEY, n BIGINT) WITH (kafka_topic='events', partitions=2);\n\
             CREATE SOURCE CONNECTOR load WITH ('connector.class'='FileStreamSource', 'file'='events.jsonl', 'topic'='events', 'key'='k');\n",
        );
        let query = "CREATE TABLE {IF} counts AS SELECT k, COUNT(*) AS c, SUM(n) AS total FROM events GROUP BY k EMIT CHANGES;\n";
        let ctas = s.file("ctas.ksql", &query.replace("{IF}", ""));
        let check = s.file(
            "check.ksql",
            &(query.replace("{IF}", "IF NOT EXISTS") + "SELECT k, c, total FROM counts;\n"),
        );
        assert_eq!(s.run(&setup).code, 0);
        s.run_killed_after(&ctas, delay_ms);
        let out = s.run(&check);
        assert_eq!(out.code, 0, "kill after {delay_ms} ms: {}", out.stderr);
        let mut got: Vec<(String, u64, u64)> = column(&out, "K")
            .iter()
            .zip(column(&out, "C"))
            .zip(column(&out, "TOTAL"))
            .map(|((k, c), t)| {
                (
                    k.as_str().unwrap().to_string(),
                    c.as_u64().unwrap(),
                    t.as_u64().unwrap(),
                )
            })
            .collect();
        got.sort();
        let expected: Vec<(String, u64, u64)> = (0..7u64)
            .map(|k| {
                let ns: Vec<u64> = (0..EVENTS).filter(|i| i % 7 == k).collect();
                (format!("k{k}"), ns.len() as u64, ns.iter().sum())
            })
            .collect();
        assert_eq!(got, expected, "kill after {delay_ms} ms");
    }
}

/// A persistent stream-table join killed at several moments: after the restart the sink
/// holds every joined row once (the join reads its table from the beginning again, and
/// rows already written after the last commit are not written twice).
#[test]
fn a_killed_join_resumes_without_gap_or_duplicate() {
    const EVENTS: u64 = 40_000;
    for delay_ms in [60u64, 200] {
        let s = Scenario::new();
        s.file(
            "events.jsonl",
            &(0..EVENTS)
                .map(|i| format!("{{\"id\":{i},\"k\":\"k{}\"}}\n", i % 5))
                .collect::<String>(),
        );
        s.file(
            "labels.jsonl",
            &(0..4)
                .map(|k| format!("{{\"k\":\"k{k}\",\"label\":\"L{k}\"}}\n"))
                .collect::<String>(),
        );
        let setup = s.file(
            "setup.ksql",
            "CREATE STREAM events (k VARCHAR KEY, id BIGINT) WITH (kafka_topic='events', partitions=2);\n\
             CREATE TABLE labels (k VARCHAR PRIMARY KEY, label VARCHAR) WITH (kafka_topic='labels', partitions=2);\n\
             CREATE SOURCE CONNECTOR l WITH ('connector.class'='FileStreamSource', 'file'='labels.jsonl', 'topic'='labels', 'key'='k');\n\
             CREATE SOURCE CONNECTOR e WITH ('connector.class'='FileStreamSource', 'file'='events.jsonl', 'topic'='events', 'key'='k');\n",
        );
        let query = "CREATE STREAM {IF} labelled AS SELECT e.k, e.id, l.label FROM events e JOIN labels l ON e.k = l.k;\n";
        let csas = s.file("csas.ksql", &query.replace("{IF}", ""));
        let check = s.file(
            "check.ksql",
            &(query.replace("{IF}", "IF NOT EXISTS") + "SELECT id FROM labelled EMIT CHANGES;\n"),
        );
        assert_eq!(s.run(&setup).code, 0);
        s.run_killed_after(&csas, delay_ms);
        let out = s.run(&check);
        assert_eq!(out.code, 0, "kill after {delay_ms} ms: {}", out.stderr);
        let expected: Vec<u64> = (0..EVENTS).filter(|i| i % 5 != 4).collect();
        assert_eq!(
            ids_once(&out, &format!("kill after {delay_ms} ms")),
            expected
        );
    }
}

/// The end offset of partition 0 of a topic in a scenario's data directory.
fn log_end(s: &Scenario, topic: &str) -> u64 {
    end_of_first(s, |name| name == topic)
}

/// The end offset of partition 0 of the first topic whose name `is` (0 when none is).
fn end_of_first(s: &Scenario, is: impl Fn(&str) -> bool) -> u64 {
    let out = common::kql(&["topics", "--data-dir", &s.data_dir()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut lines = out.stdout.lines();
    lines.find(|l| !l.starts_with(' ') && l.split(':').next().is_some_and(&is));
    let partition = lines.next().unwrap_or_default();
    partition
        .split("..")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A persistent stream-stream LEFT JOIN fed in chunks, with a catch-up (and so a snapshot
/// of its window buffers and a commit) after each, killed at several moments. The next run
/// loads what the killed one had not, and every order then appears once: matched with its
/// shipment, or, once stream time has passed its window, without one.
#[test]
fn a_killed_stream_stream_join_restores_its_windows() {
    const CHUNKS: u64 = 8;
    const PER_CHUNK: u64 = 5_000;
    const N: u64 = CHUNKS * PER_CHUNK;
    let order = |i: u64| format!("{{\"k\":\"k{i}\",\"id\":{i},\"ts\":{}}}\n", i * 10);
    let shipment = |i: u64| format!("{{\"k\":\"k{i}\",\"sid\":{i},\"ts\":{}}}\n", i * 10 + 5);
    let shipped: Vec<u64> = (0..N).filter(|i| i % 3 != 0).collect();
    let connector = |name: &str, file: &str, topic: &str| {
        format!("CREATE SOURCE CONNECTOR {name} WITH ('connector.class'='FileStreamSource', 'file'='{file}', 'topic'='{topic}', 'key'='k');\n")
    };
    for delay_ms in [120u64, 300, 600] {
        let s = Scenario::new();
        let declarations =
            "CREATE STREAM orders (k VARCHAR KEY, id BIGINT, ts BIGINT) WITH (kafka_topic='orders', partitions=1, timestamp='ts');\n\
             CREATE STREAM shipments (k VARCHAR KEY, sid BIGINT, ts BIGINT) WITH (kafka_topic='shipments', partitions=1, timestamp='ts');\n";
        let mut csas = String::from(declarations);
        let query = "CREATE STREAM {IF} shipped AS SELECT o.k, o.id, s.sid FROM orders o LEFT JOIN shipments s WITHIN 1 SECOND GRACE PERIOD 0 SECONDS ON o.k = s.k;\n";
        csas.push_str(&query.replace("{IF}", ""));
        for c in 0..CHUNKS {
            let ids = c * PER_CHUNK..(c + 1) * PER_CHUNK;
            s.file(
                &format!("orders{c}.jsonl"),
                &ids.clone().map(order).collect::<String>(),
            );
            s.file(
                &format!("shipments{c}.jsonl"),
                &ids.filter(|i| i % 3 != 0).map(shipment).collect::<String>(),
            );
            csas.push_str(&connector(
                &format!("o{c}"),
                &format!("orders{c}.jsonl"),
                "orders",
            ));
            csas.push_str(&connector(
                &format!("s{c}"),
                &format!("shipments{c}.jsonl"),
                "shipments",
            ));
            csas.push_str("PRINT 'shipments' FROM BEGINNING LIMIT 1;\n");
        }
        let csas = s.file("csas.ksql", &csas);
        let killed = s.run_killed_after(&csas, delay_ms);
        // The records the killed run appended are a prefix of each input: add the rest.
        let (orders_in, shipments_in) = (log_end(&s, "orders"), log_end(&s, "shipments"));
        s.file(
            "orders_rest.jsonl",
            &(orders_in..N).map(order).collect::<String>(),
        );
        s.file(
            "shipments_rest.jsonl",
            &shipped[shipments_in as usize..]
                .iter()
                .map(|&i| shipment(i))
                .collect::<String>(),
        );
        // On a loaded machine the kill can come before the streams were declared: the
        // check declares them too (IF NOT EXISTS), so it tests the restart either way.
        let mut check = declarations.replace("CREATE STREAM", "CREATE STREAM IF NOT EXISTS");
        check.push_str(&query.replace("{IF}", "IF NOT EXISTS"));
        check.push_str(&connector("o_rest", "orders_rest.jsonl", "orders"));
        check.push_str(&connector("s_rest", "shipments_rest.jsonl", "shipments"));
        check.push_str("DESCRIBE shipped EXTENDED;\nSELECT id, sid FROM shipped EMIT CHANGES;\n");
        let mut out = s.run(&s.file("check.ksql", &check));
        assert_eq!(out.code, 0, "kill after {delay_ms} ms: {}", out.stderr);
        let lines: Vec<&str> = out.stdout.lines().collect();
        let stats = lines.iter().filter(|l| l.contains("\"Records read\""));
        let rows = lines.iter().filter(|l| l.starts_with("{\"ID\""));
        // Once a catch-up has ended (the second chunk is in), the restarted query starts from
        // its snapshot, not from the beginning of its inputs.
        let read = stats
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|v| v["Records read"].as_u64())
            .expect("DESCRIBE EXTENDED lists the query");
        if orders_in >= 2 * PER_CHUNK {
            assert!(
                read < N + shipped.len() as u64,
                "kill after {delay_ms} ms: the restarted join read all {read} input records again"
            );
        }
        out.stdout = rows.map(|l| format!("{l}\n")).collect();
        let ids = ids_once(&out, &format!("kill after {delay_ms} ms"));
        // Stream time is the last shipment's; an unmatched order's window closes when stream
        // time passes its time plus one second, or when a run ends (a run not killed, or
        // one killed after its end had closed them, before the process exited: then all
        // of them are there).
        let stream_time = shipped.last().unwrap() * 10 + 5;
        let open_at_end = |i: &u64| i % 3 == 0 && i * 10 + 1000 >= stream_time;
        let closed = !killed
            || (0..N)
                .filter(open_at_end)
                .all(|i| ids.binary_search(&i).is_ok());
        let expected: Vec<u64> = (0..N).filter(|i| closed || !open_at_end(i)).collect();
        let missing: Vec<&u64> = expected
            .iter()
            .filter(|i| ids.binary_search(i).is_err())
            .collect();
        let extra: Vec<&u64> = ids
            .iter()
            .filter(|i| expected.binary_search(i).is_err())
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "kill after {delay_ms} ms ({orders_in} orders and {shipments_in} shipments before the kill): missing {:?}, unexpected {:?}",
            &missing[..missing.len().min(20)],
            &extra[..extra.len().min(20)]
        );
        for (id, sid) in column(&out, "ID").iter().zip(column(&out, "SID")) {
            let id = id.as_u64().unwrap();
            if id % 3 == 0 {
                assert!(sid.is_null(), "order {id} has no shipment");
            } else {
                assert_eq!(sid.as_u64(), Some(id), "order {id}");
            }
        }
    }
}

/// An aggregation that repartitions (GROUP BY a value column) writes an internal topic
/// before it aggregates: records written there after the last commit are not written
/// again after a kill, so no record is counted twice.
#[test]
fn a_killed_repartitioning_aggregation_counts_every_record_once() {
    const EVENTS: u64 = 40_000;
    for delay_ms in [80u64, 250] {
        let s = Scenario::new();
        s.file(
            "events.jsonl",
            &(0..EVENTS)
                .map(|i| format!("{{\"k\":\"k{}\",\"g\":\"g{}\"}}\n", i % 11, i % 3))
                .collect::<String>(),
        );
        let setup = s.file(
            "setup.ksql",
            "CREATE STREAM events (k VARCHAR KEY, g VARCHAR) WITH (kafka_topic='events', partitions=2);\n\
             CREATE SOURCE CONNECTOR load WITH ('connector.class'='FileStreamSource', 'file'='events.jsonl', 'topic'='events', 'key'='k');\n",
        );
        let query = "CREATE TABLE {IF} per_g AS SELECT g, COUNT(*) AS c FROM events GROUP BY g EMIT CHANGES;\n";
        let ctas = s.file("ctas.ksql", &query.replace("{IF}", ""));
        let check = s.file(
            "check.ksql",
            &(query.replace("{IF}", "IF NOT EXISTS") + "SELECT g, c FROM per_g;\n"),
        );
        assert_eq!(s.run(&setup).code, 0);
        s.run_killed_after(&ctas, delay_ms);
        let out = s.run(&check);
        assert_eq!(out.code, 0, "kill after {delay_ms} ms: {}", out.stderr);
        let mut got: Vec<(String, u64)> = column(&out, "G")
            .iter()
            .zip(column(&out, "C"))
            .map(|(g, c)| (g.as_str().unwrap().to_string(), c.as_u64().unwrap()))
            .collect();
        got.sort();
        let expected: Vec<(String, u64)> = (0..3u64)
            .map(|g| {
                (
                    format!("g{g}"),
                    (0..EVENTS).filter(|i| i % 3 == g).count() as u64,
                )
            })
            .collect();
        assert_eq!(got, expected, "kill after {delay_ms} ms");
    }
}

/// An aggregation of a join: the join writes its rows to the GROUP BY's internal topic, and
/// the aggregation reads them. A kill between the two leaves rows in that topic that the
/// join makes again on restart; they must not be counted twice.
#[test]
fn a_killed_aggregation_of_a_join_counts_every_joined_record_once() {
    const EVENTS: u64 = 40_000;
    for delay_ms in [80u64, 250] {
        let s = Scenario::new();
        let setup = s.keyed_events(EVENTS, "v", "");
        let query = "CREATE TABLE {IF} per_g AS SELECT t.g, COUNT(*) AS c FROM events e JOIN keys t ON e.k = t.k GROUP BY t.g EMIT CHANGES;\n";
        let ctas = s.file("ctas.ksql", &query.replace("{IF}", ""));
        let check = s.file(
            "check.ksql",
            &(query.replace("{IF}", "IF NOT EXISTS") + "SELECT g, c FROM per_g;\n"),
        );
        assert_eq!(s.run(&setup).code, 0);
        s.run_killed_after(&ctas, delay_ms);
        let out = s.run(&check);
        assert_eq!(out.code, 0, "kill after {delay_ms} ms: {}", out.stderr);
        let mut got: Vec<(String, u64)> = column(&out, "G")
            .iter()
            .zip(column(&out, "C"))
            .map(|(g, c)| (g.as_str().unwrap().to_string(), c.as_u64().unwrap()))
            .collect();
        got.sort();
        let expected: Vec<(String, u64)> = (0..3u64)
            .map(|g| {
                let n = (0..EVENTS).filter(|i| (i % 11) % 3 == g).count() as u64;
                (format!("g{g}"), n)
            })
            .collect();
        assert_eq!(got, expected, "kill after {delay_ms} ms");
    }
}

/// A join of joins: the inner stream-table join writes its rows, re-keyed by the outer
/// join's key, to an internal topic that the outer join reads. A kill between the two
/// leaves rows in that topic that the inner join makes again on restart; the sink must
/// still hold every joined event once.
#[test]
fn a_killed_join_of_joins_resumes_without_gap_or_duplicate() {
    const EVENTS: u64 = 100_000;
    // Whether some round was killed after the inner join had begun writing its internal
    // topic and before the outer one had written all of the sink (partition 0's ends).
    let mut cut_mid_way = false;
    for delay_ms in [60u64, 120, 250, 500, 900, 1500] {
        let s = Scenario::new();
        let setup = s.keyed_events(
            EVENTS,
            "id",
            "CREATE TABLE groups (g VARCHAR PRIMARY KEY, name VARCHAR) WITH (kafka_topic='groups', partitions=2);\n\
             INSERT INTO groups (g, name) VALUES ('g0', 'zero');\n\
             INSERT INTO groups (g, name) VALUES ('g1', 'one');\n",
        );
        let query = "CREATE STREAM {IF} named AS SELECT gr.g, e.id, gr.name FROM events e JOIN keys t ON e.k = t.k JOIN groups gr ON t.g = gr.g;\n";
        let csas = s.file("csas.ksql", &query.replace("{IF}", ""));
        let check = s.file(
            "check.ksql",
            &(query.replace("{IF}", "IF NOT EXISTS")
                + "SELECT id, name FROM named EMIT CHANGES;\n"),
        );
        assert_eq!(s.run(&setup).code, 0);
        s.run_killed_after(&csas, delay_ms);
        let inner_at_kill = end_of_first(&s, |name| name.ends_with("-repartition"));
        let sink_at_kill = log_end(&s, "NAMED");
        let out = s.run(&check);
        cut_mid_way |= inner_at_kill > 0 && sink_at_kill < log_end(&s, "NAMED");
        assert_eq!(out.code, 0, "kill after {delay_ms} ms: {}", out.stderr);
        let what = format!("kill after {delay_ms} ms");
        let expected: Vec<u64> = (0..EVENTS).filter(|i| (i % 11) % 3 != 2).collect();
        assert_eq!(ids_once(&out, &what), expected, "{what}");
        let names = column(&out, "NAME");
        let ids = column(&out, "ID");
        for (id, name) in ids.iter().zip(&names) {
            let g = (id.as_u64().unwrap() % 11) % 3;
            assert_eq!(name.as_str(), Some(["zero", "one"][g as usize]), "{what}");
        }
    }
    assert!(
        cut_mid_way,
        "no kill came while the join of joins was writing"
    );
}

/// GROUP BY over a table keeps the table's rows in its first stage (to retract a row's
/// old group when it moves): that state is saved like every other task's, in its own
/// changelog. Users move between regions in chunks, with a catch-up (a snapshot and a
/// commit) after each; the run is killed at several moments and the next one loads the
/// rest. Every user is then counted once, in the region it moved to last.
#[test]
fn a_killed_table_regrouping_counts_every_row_once_in_its_last_group() {
    const USERS: u64 = 2_000;
    const CHUNKS: u64 = 6;
    const REGIONS: u64 = 5;
    const N: u64 = USERS * CHUNKS;
    // Record j moves user j % USERS to the region of chunk j / USERS.
    let record = |j: u64| {
        let (c, u) = (j / USERS, j % USERS);
        format!("{{\"k\":\"u{u}\",\"region\":\"r{}\"}}\n", (u + c) % REGIONS)
    };
    let connector = |name: &str, file: &str| {
        format!("CREATE SOURCE CONNECTOR {name} WITH ('connector.class'='FileStreamSource', 'file'='{file}', 'topic'='users', 'key'='k');\n")
    };
    for delay_ms in [150u64, 400] {
        let s = Scenario::new();
        let declaration = "CREATE TABLE users (k VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=1);\n";
        let query = "CREATE TABLE {IF} per_region AS SELECT region, COUNT(*) AS c FROM users GROUP BY region EMIT CHANGES;\n";
        let mut ctas = String::from(declaration);
        ctas.push_str(&query.replace("{IF}", ""));
        for c in 0..CHUNKS {
            s.file(
                &format!("users{c}.jsonl"),
                &(c * USERS..(c + 1) * USERS).map(record).collect::<String>(),
            );
            ctas.push_str(&connector(&format!("u{c}"), &format!("users{c}.jsonl")));
            ctas.push_str("PRINT 'users' FROM BEGINNING LIMIT 1;\n");
        }
        let ctas = s.file("ctas.ksql", &ctas);
        s.run_killed_after(&ctas, delay_ms);
        // What the killed run appended is a prefix of the input: add the rest.
        let loaded = log_end(&s, "users");
        s.file("rest.jsonl", &(loaded..N).map(record).collect::<String>());
        let mut check = declaration.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS");
        check.push_str(&query.replace("{IF}", "IF NOT EXISTS"));
        check.push_str(&connector("rest", "rest.jsonl"));
        check.push_str("SELECT region, c FROM per_region;\n");
        let out = s.run(&s.file("check.ksql", &check));
        assert_eq!(out.code, 0, "kill after {delay_ms} ms: {}", out.stderr);
        let mut got: Vec<(String, u64)> = column(&out, "REGION")
            .iter()
            .zip(column(&out, "C"))
            .map(|(r, c)| (r.as_str().unwrap().to_string(), c.as_u64().unwrap()))
            .collect();
        got.sort();
        let expected: Vec<(String, u64)> = (0..REGIONS)
            .map(|r| (format!("r{r}"), USERS / REGIONS))
            .collect();
        assert_eq!(
            got, expected,
            "kill after {delay_ms} ms ({loaded} of {N} records loaded before the kill)"
        );
    }
}
