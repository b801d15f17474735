//! `kql serve` with kcat (librdkafka, from Debian): metadata, keyed produce (plain and
//! compressed with gzip, snappy and lz4), consume from the beginning and the end, a group
//! of two sharing partitions with committed offsets, and Kafka's partitioner for produced
//! keys. Run scripts/clients-up first.

mod serve_support;

use std::process::Command;
use std::time::Duration;

use serve_support::*;

const SECS_10: Duration = Duration::from_secs(10);

fn kcat(served: &Served, args: &[&str]) -> Command {
    require("kcat", &["-V"]);
    let mut c = Command::new("kcat");
    c.args(["-b", served.bootstrap()]).args(args);
    c
}

const READINGS: &str = "CREATE STREAM readings (id VARCHAR KEY, temp DOUBLE) \
    WITH (kafka_topic='readings', partitions=4, value_format='JSON');\n";

#[test]
fn metadata_lists_every_broker_on_its_own_port_and_each_partitions_leader() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "p.ksql", READINGS);
    let served = Served::start(3, &[file.to_str().unwrap()]);
    let out = run(&mut kcat(&served, &["-L", "-J"]), "", SECS_10);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let brokers: Vec<String> = m["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect();
    let mut expected: Vec<String> = served.brokers.iter().map(|a| a.to_string()).collect();
    expected.sort();
    let mut got = brokers.clone();
    got.sort();
    assert_eq!(got, expected, "every broker is listed with its own port");
    let topic = m["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "readings")
        .expect("readings is listed");
    let partitions = topic["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 4);
    for p in partitions {
        let leader = p["leader"].as_i64().unwrap();
        assert!((1..=3).contains(&leader));
        assert_eq!(
            p["replicas"][0]["id"].as_i64(),
            Some(leader),
            "one replica, on the leader"
        );
        assert_eq!(p["isrs"][0]["id"].as_i64(), Some(leader));
    }
}

#[test]
fn keyed_records_produced_by_kcat_come_back_from_the_beginning_and_only_new_ones_from_the_end() {
    let served = Served::start(1, &[]);
    let produced = run(
        &mut kcat(&served, &["-t", "events", "-P", "-K:"]),
        "k1:one\nk2:two\nk3:three\n",
        SECS_10,
    );
    assert!(produced.status.success(), "{}", text(&produced.stderr));
    let out = run(
        &mut kcat(
            &served,
            &[
                "-t",
                "events",
                "-C",
                "-o",
                "beginning",
                "-e",
                "-f",
                "%k=%s@%o\n",
            ],
        ),
        "",
        SECS_10,
    );
    assert_eq!(
        text(&out.stdout),
        "k1=one@0\nk2=two@1\nk3=three@2\n",
        "{}",
        text(&out.stderr)
    );
    // From the end: a consumer waiting there sees only what is produced after it started.
    let bootstrap = served.bootstrap().to_string();
    let tail = std::thread::spawn(move || {
        run(
            Command::new("kcat").args([
                "-b",
                &bootstrap,
                "-t",
                "events",
                "-C",
                "-o",
                "end",
                "-c",
                "1",
                "-f",
                "%k=%s@%o\n",
            ]),
            "",
            Duration::from_secs(20),
        )
    });
    std::thread::sleep(Duration::from_secs(3));
    let more = run(
        &mut kcat(&served, &["-t", "events", "-P", "-K:"]),
        "k4:four\n",
        SECS_10,
    );
    assert!(more.status.success());
    let tail = tail.join().unwrap();
    assert_eq!(text(&tail.stdout), "k4=four@3\n", "{}", text(&tail.stderr));
}

#[test]
fn records_kcat_compresses_with_each_codec_are_taken_and_read_back() {
    let served = Served::start(1, &[]);
    // Alike lines, so that every codec makes the batch smaller (librdkafka sends a batch
    // uncompressed when compressing does not pay).
    let lines: String = (0..300)
        .map(|i| format!("s{}:{{\"sensor\":\"s{}\",\"reading\":{i}}}\n", i % 3, i % 3))
        .collect();
    // (Debian's librdkafka is built without zstd: confluent-kafka's test sends zstd.)
    for codec in ["gzip", "snappy", "lz4"] {
        let topic = format!("zipped-{codec}");
        let produced = run(
            &mut kcat(&served, &["-t", &topic, "-P", "-K:", "-z", codec]),
            &lines,
            SECS_10,
        );
        assert!(
            produced.status.success(),
            "{codec}: {}",
            text(&produced.stderr)
        );
        let out = run(
            &mut kcat(
                &served,
                &["-t", &topic, "-C", "-o", "beginning", "-e", "-f", "%k:%s\n"],
            ),
            "",
            SECS_10,
        );
        assert_eq!(text(&out.stdout), lines, "{codec}: {}", text(&out.stderr));
    }
}

/// Records of `n` sensors, JSON values keyed by sensor id, as kcat -K: input.
fn sensor_lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("s-{}:{{\"temp\":{}.5}}\n", i % 7, i))
        .collect()
}

#[test]
fn two_group_members_share_the_partitions_and_kql_shows_their_committed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = write_file(dir.path(), "p.ksql", READINGS);
    let served = Served::start(
        1,
        &[file.to_str().unwrap(), "--data-dir", data.to_str().unwrap()],
    );
    let produced = run(
        &mut kcat(
            &served,
            &[
                "-t",
                "readings",
                "-P",
                "-K:",
                "-X",
                "partitioner=murmur2_random",
            ],
        ),
        &sensor_lines(40),
        SECS_10,
    );
    assert!(produced.status.success(), "{}", text(&produced.stderr));
    let member = |name: &'static str| {
        let bootstrap = served.bootstrap().to_string();
        std::thread::spawn(move || {
            run_for(
                Command::new("kcat").args([
                    "-b",
                    &bootstrap,
                    "-G",
                    "sensors",
                    "readings",
                    "-o",
                    "beginning",
                    "-u",
                    "-X",
                    "auto.commit.interval.ms=200",
                    "-f",
                    &format!("{name} %p %o\\n"),
                ]),
                Duration::from_secs(14),
            )
        })
    };
    let (a, b) = (member("a"), member("b"));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let records = |out: &std::process::Output| -> Vec<(String, String)> {
        text(&out.stdout)
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f[1].to_string(), f[2].to_string())
            })
            .collect()
    };
    let (from_a, from_b) = (records(&a), records(&b));
    let partitions = |rs: &[(String, String)]| {
        rs.iter()
            .map(|(p, _)| p.clone())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (a_parts, b_parts) = (partitions(&from_a), partitions(&from_b));
    let mut seen: Vec<(String, String)> = from_a.iter().chain(&from_b).cloned().collect();
    let lines = seen.clone();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        40,
        "every record reached the group: {lines:?}\n{}\n{}",
        text(&a.stderr),
        text(&b.stderr)
    );
    assert!(
        !a_parts.is_empty() && !b_parts.is_empty(),
        "both members got partitions: a {a_parts:?}, b {b_parts:?}"
    );
    assert!(
        a_parts.is_disjoint(&b_parts) || lines.len() > 40,
        "a partition is read by one member at a time"
    );
    drop(served);
    let describe = write_file(dir.path(), "d.ksql", "DESCRIBE CONSUMER GROUP `sensors`;\n");
    let rows = kql_json(&describe, &data);
    assert_eq!(rows.len(), 4, "one row per partition: {rows:?}");
    let committed: i64 = rows.iter().map(|r| r["Committed"].as_i64().unwrap()).sum();
    let lag: i64 = rows.iter().map(|r| r["Lag"].as_i64().unwrap()).sum();
    assert_eq!((committed, lag), (40, 0), "{rows:?}");
}

#[test]
fn keys_land_where_kafkas_partitioner_puts_them_and_a_query_sees_what_insert_values_gives() {
    let dir = tempfile::tempdir().unwrap();
    let served_data = dir.path().join("served");
    let file = write_file(dir.path(), "p.ksql", READINGS);
    let served = Served::start(
        1,
        &[
            file.to_str().unwrap(),
            "--data-dir",
            served_data.to_str().unwrap(),
        ],
    );
    let lines: String = (0..12)
        .map(|i| format!("s-{i}:{{\"temp\":{i}.5}}\n"))
        .collect();
    let produced = run(
        &mut kcat(
            &served,
            &[
                "-t",
                "readings",
                "-P",
                "-K:",
                "-X",
                "partitioner=murmur2_random",
            ],
        ),
        &lines,
        SECS_10,
    );
    assert!(produced.status.success(), "{}", text(&produced.stderr));
    drop(served);
    let query = "SELECT id, temp, ROWPARTITION AS p FROM readings EMIT CHANGES;\n";
    let over_served = kql_json(&write_file(dir.path(), "q.ksql", query), &served_data);
    let inserts: String = (0..12)
        .map(|i| format!("INSERT INTO readings (id, temp) VALUES ('s-{i}', {i}.5);\n"))
        .collect();
    let inserted_data = dir.path().join("inserted");
    let by_insert = kql_json(
        &write_file(dir.path(), "i.ksql", &format!("{READINGS}{inserts}{query}")),
        &inserted_data,
    );
    let sorted = |mut v: Vec<serde_json::Value>| {
        v.sort_by_key(|r| r["ID"].as_str().unwrap().to_string());
        v
    };
    assert_eq!(over_served.len(), 12);
    assert_eq!(
        sorted(over_served),
        sorted(by_insert),
        "same rows, same partitions"
    );
}

/// The leader of each partition of `topic` as kcat's metadata shows it.
fn leaders(served: &Served, topic: &str) -> Vec<i64> {
    let out = run(&mut kcat(served, &["-L", "-J", "-t", topic]), "", SECS_10);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    m["topics"][0]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["leader"].as_i64().unwrap())
        .collect()
}

#[test]
fn a_broker_stopped_from_a_shell_on_the_servers_data_directory_moves_leadership_for_clients() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = write_file(
        dir.path(),
        "p.ksql",
        "CREATE STREAM readings (id VARCHAR KEY, temp DOUBLE) \
         WITH (kafka_topic='readings', partitions=1, replicas=3, value_format='JSON');\n",
    );
    let served = Served::start(
        3,
        &[file.to_str().unwrap(), "--data-dir", data.to_str().unwrap()],
    );
    let before = leaders(&served, "readings")[0];
    let shell = |input: &str| {
        let out = run(
            Command::new(env!("CARGO_BIN_EXE_kql"))
                .args(["--data-dir", data.to_str().unwrap()])
                .env("NO_COLOR", "1"),
            input,
            SECS_10,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    let said = shell(&format!("STOP BROKER {before};\n"));
    assert!(said.contains(&format!("Broker {before} stopped")), "{said}");
    let after = leaders(&served, "readings")[0];
    assert_ne!(after, before, "the leader moved off the stopped broker");
    // Records still go in and come out through the new leader.
    let produced = run(
        &mut kcat(&served, &["-t", "readings", "-P", "-K:"]),
        "s-1:{\"temp\":20.5}\n",
        SECS_10,
    );
    assert!(produced.status.success(), "{}", text(&produced.stderr));
    let read = run(
        &mut kcat(
            &served,
            &[
                "-t",
                "readings",
                "-C",
                "-o",
                "beginning",
                "-e",
                "-f",
                "%k %s\\n",
            ],
        ),
        "",
        SECS_10,
    );
    assert_eq!(text(&read.stdout), "s-1 {\"temp\":20.5}\n");
    shell(&format!("START BROKER {before};\n"));
}
