//! Joins: stream-table (co-partitioned and after a repartition), stream-stream, and a
//! global table.

use super::{check_join, rec};

const DDL: &str = "
CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE)
  WITH (kafka_topic='readings', partitions=2, value_format='JSON');
CREATE TABLE sensors (sensor VARCHAR PRIMARY KEY, threshold DOUBLE)
  WITH (kafka_topic='sensors', partitions=2, value_format='JSON');
CREATE TABLE sites (site VARCHAR PRIMARY KEY, city VARCHAR)
  WITH (kafka_topic='sites', partitions=2, value_format='JSON');
CREATE GLOBAL TABLE cities (site VARCHAR PRIMARY KEY, city VARCHAR)
  WITH (kafka_topic='cities', partitions=1, value_format='JSON');";

fn input() -> Vec<super::Rec> {
    vec![
        rec("sensors", "s-1", r#"{"threshold":25}"#, 500),
        rec("sites", "a", r#"{"city":"Oslo"}"#, 500),
        rec("cities", "a", r#"{"city":"Oslo"}"#, 500),
        rec("readings", "s-1", r#"{"site":"a","temp":30}"#, 1000),
        rec("readings", "s-2", r#"{"site":"b","temp":40}"#, 2000),
        // a newer threshold: later readings see it
        rec("sensors", "s-1", r#"{"threshold":35}"#, 2500),
        rec("readings", "s-1", r#"{"site":"a","temp":31}"#, 3000),
    ]
}

#[test]
fn a_stream_table_join_looks_each_record_up_in_the_table_as_of_its_time() {
    check_join(
        DDL,
        &input(),
        "SELECT r.sensor, r.temp, s.threshold FROM readings r LEFT JOIN sensors s
           ON r.sensor = s.sensor EMIT CHANGES;",
        &["s-1, 30.0, 25.0", "s-2, 40.0, null", "s-1, 31.0, 35.0"],
    );
}

#[test]
fn a_stream_joined_on_a_value_column_is_repartitioned_first() {
    check_join(
        DDL,
        &input(),
        "SELECT r.sensor, t.city FROM readings r JOIN sites t ON r.site = t.site EMIT CHANGES;",
        &["s-1, Oslo", "s-1, Oslo"],
    );
}

#[test]
fn a_global_table_is_looked_up_by_any_expression() {
    check_join(
        DDL,
        &input(),
        "SELECT r.sensor, c.city FROM readings r LEFT JOIN cities c ON r.site = c.site EMIT CHANGES;",
        &["s-1, Oslo", "s-2, null", "s-1, Oslo"],
    );
}
