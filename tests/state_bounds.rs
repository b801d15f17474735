//! The bounds on a query's state (docs/execution.md, "Limits"), seen as a user sees them:
//! `KQL_STATE_ROWS_MAX` lowers them for the process, and a record past the bound stops the
//! query with KQL0604 and exit code 1, naming what is full; a run within the bound is
//! unchanged.

mod common;

use std::process::Command;

/// Runs `kql run` on `text` with the state bounds lowered to `max` rows.
fn run_bounded(max: &str, text: &str) -> common::RunOutput {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("q.ksql");
    std::fs::write(&script, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(["run", "--format", "json", script.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .env("KQL_STATE_ROWS_MAX", max)
        .output()
        .expect("the kql binary runs");
    common::RunOutput {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Asserts that the run stopped at a state bound with `message`.
fn assert_stopped(out: &common::RunOutput, message: &str) {
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("[KQL0604]") && out.stderr.contains(message),
        "expected {message:?} in:\n{}",
        out.stderr
    );
    assert!(out.stderr.contains("more partitions"), "{}", out.stderr);
}

const SENSORS: &str = "
CREATE TABLE sensors (id VARCHAR PRIMARY KEY, room VARCHAR)
  WITH (kafka_topic='sensors', partitions=1, value_format='JSON');
CREATE STREAM readings (id VARCHAR KEY, temp DOUBLE)
  WITH (kafka_topic='readings', partitions=1, value_format='JSON');
INSERT INTO sensors (id, room) VALUES ('s-1', 'hall');
INSERT INTO sensors (id, room) VALUES ('s-2', 'attic');
INSERT INTO sensors (id, room) VALUES ('s-1', 'cellar');
INSERT INTO readings (id, temp) VALUES ('s-1', 20.5);
INSERT INTO readings (id, temp) VALUES ('s-2', 21.5);
";

#[test]
fn a_stream_table_join_within_the_bound_runs_as_before() {
    // Three table records, two keys: at the bound, never past it (an update adds no row).
    let out = run_bounded(
        "2",
        &format!(
            "{SENSORS}SELECT r.id, s.room, r.temp FROM readings r JOIN sensors s ON r.id = s.id EMIT CHANGES;"
        ),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "{\"R_ID\":\"s-1\",\"ROOM\":\"cellar\",\"TEMP\":20.5}\n\
         {\"R_ID\":\"s-2\",\"ROOM\":\"attic\",\"TEMP\":21.5}\n"
    );
}

#[test]
fn a_table_row_past_the_bound_stops_a_persistent_stream_table_join() {
    let out = run_bounded(
        "2",
        &format!(
            "{SENSORS}INSERT INTO sensors (id, room) VALUES ('s-3', 'kitchen');
CREATE STREAM located AS SELECT r.id, s.room, r.temp FROM readings r JOIN sensors s ON r.id = s.id;"
        ),
    );
    assert_stopped(
        &out,
        "the stream-table join of partition 0 holds 2 table rows, the most one task keeps, \
         and a record would add one more",
    );
    assert!(out.stderr.contains("query CSAS_LOCATED_"), "{}", out.stderr);
}

#[test]
fn records_past_the_bound_stop_a_stream_stream_join() {
    let text = "
CREATE STREAM clicks (id VARCHAR KEY, page VARCHAR, ts BIGINT)
  WITH (kafka_topic='clicks', partitions=1, value_format='JSON', timestamp='ts');
CREATE STREAM views (id VARCHAR KEY, ad VARCHAR, ts BIGINT)
  WITH (kafka_topic='views', partitions=1, value_format='JSON', timestamp='ts');
INSERT INTO views (id, ad, ts) VALUES ('u-1', 'a', 1000);
INSERT INTO clicks (id, page, ts) VALUES ('u-1', 'p', 1500);
INSERT INTO views (id, ad, ts) VALUES ('u-2', 'b', 2000);
SELECT c.id, c.page, v.ad FROM clicks c JOIN views v WITHIN 1 MINUTE ON c.id = v.id EMIT CHANGES;";
    // Three records within the window: two fit, the third is one too many.
    let within = run_bounded("3", text);
    assert_eq!(within.code, 0, "{}", within.stderr);
    assert_eq!(
        within.stdout,
        "{\"C_ID\":\"u-1\",\"PAGE\":\"p\",\"AD\":\"a\"}\n"
    );
    assert_stopped(
        &run_bounded("2", text),
        "the stream-stream join of partition 0 holds 2 records in its windows",
    );
}

#[test]
fn rows_past_the_bound_stop_a_table_table_join() {
    let text = "
CREATE TABLE users (id VARCHAR PRIMARY KEY, name VARCHAR)
  WITH (kafka_topic='users', partitions=1, value_format='JSON');
CREATE TABLE plans (id VARCHAR PRIMARY KEY, tier VARCHAR)
  WITH (kafka_topic='plans', partitions=1, value_format='JSON');
INSERT INTO users (id, name) VALUES ('u-1', 'Ada');
INSERT INTO plans (id, tier) VALUES ('u-1', 'gold');
INSERT INTO users (id, name) VALUES ('u-2', 'Bo');
CREATE TABLE user_plans AS SELECT u.id, u.name, p.tier FROM users u JOIN plans p ON u.id = p.id;";
    assert_stopped(
        &run_bounded("2", text),
        "the table-table join of partition 0 holds 2 rows of its tables",
    );
}

#[test]
fn rows_past_the_bound_stop_a_global_table_join() {
    let text = "
CREATE GLOBAL TABLE sites (site VARCHAR PRIMARY KEY, city VARCHAR)
  WITH (kafka_topic='sites', partitions=1, value_format='JSON');
CREATE STREAM visits (id INT KEY, site VARCHAR)
  WITH (kafka_topic='visits', partitions=1, value_format='JSON');
INSERT INTO sites (site, city) VALUES ('north', 'Oslo');
INSERT INTO sites (site, city) VALUES ('south', 'Lima');
INSERT INTO sites (site, city) VALUES ('west', 'Pune');
INSERT INTO visits (id, site) VALUES (1, 'north');
SELECT v.id, g.city FROM visits v JOIN sites g ON v.site = g.site EMIT CHANGES;";
    assert_eq!(
        run_bounded("3", text).stdout,
        "{\"ID\":1,\"CITY\":\"Oslo\"}\n"
    );
    assert_stopped(
        &run_bounded("2", text),
        "the global table SITES holds 2 rows",
    );
}

#[test]
fn rows_past_the_bound_stop_a_foreign_key_join() {
    let text = "
CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR)
  WITH (kafka_topic='orders', partitions=1, value_format='JSON');
CREATE TABLE customers (id VARCHAR PRIMARY KEY, name VARCHAR)
  WITH (kafka_topic='customers', partitions=1, value_format='JSON');
INSERT INTO customers (id, name) VALUES ('c-1', 'Ada');
INSERT INTO orders (id, customer) VALUES (1, 'c-1');
INSERT INTO orders (id, customer) VALUES (2, 'c-1');
CREATE TABLE order_names AS SELECT o.id, c.name FROM orders o JOIN customers c ON o.customer = c.id;";
    assert_stopped(
        &run_bounded("2", text),
        "the foreign-key join holds 2 rows of its tables",
    );
}

#[test]
fn the_variable_lowers_the_aggregation_bound_too() {
    let text = format!(
        "{SENSORS}INSERT INTO readings (id, temp) VALUES ('s-3', 22.5);
CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM readings GROUP BY id;"
    );
    assert_stopped(
        &run_bounded("2", &text),
        "the aggregation of partition 0 holds 2 groups",
    );
}
