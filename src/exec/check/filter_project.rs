//! Filter and project over a scan.

use super::{check_stateless, rec};

const READINGS: &str = "CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE)
  WITH (kafka_topic='readings', partitions=1, value_format='JSON');";

#[test]
fn a_filter_keeps_the_rows_it_accepts_and_the_projection_computes_each_column() {
    check_stateless(
        READINGS,
        &[
            rec("readings", "s-1", r#"{"site":"a","temp":20.5}"#, 1000),
            rec("readings", "s-2", r#"{"site":"b","temp":31.0}"#, 2000),
            rec("readings", "s-3", r#"{"site":"c","temp":40.0"#, 3000),
            rec("readings", "s-4", r#"{"site":"a","temp":35.0}"#, 4000),
        ],
        "SELECT sensor, temp * 2 AS t2, UCASE(site) AS s FROM readings WHERE temp > 30 EMIT CHANGES;",
        // s-3's value is cut short: a bad record, skipped
        &["s-2, 62.0, B", "s-4, 70.0, A"],
    );
}

#[test]
fn rows_of_several_partitions_are_merged_by_event_time_each_partition_in_its_order() {
    // Kafka's partitioner puts s-1, s-2 and s-4 on partition 3 of 4, s-3 on partition 2.
    for (key, p) in [("s-1", 3), ("s-2", 3), ("s-3", 2), ("s-4", 3)] {
        assert_eq!(crate::exec::log::partition_for_key(key.as_bytes(), 4), p);
    }
    let ddl = "CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE)
      WITH (kafka_topic='readings', partitions=4, value_format='JSON');";
    check_stateless(
        ddl,
        &[
            rec("readings", "s-1", r#"{"site":"a","temp":1}"#, 4000),
            rec("readings", "s-2", r#"{"site":"a","temp":2}"#, 1000),
            rec("readings", "s-3", r#"{"site":"a","temp":3}"#, 3000),
            rec("readings", "s-4", r#"{"site":"a","temp":4}"#, 2000),
        ],
        "SELECT sensor, ROWTIME AS t, ROWPARTITION AS p FROM readings EMIT CHANGES;",
        // The heads are s-1 (4000, partition 3) and s-3 (3000, partition 2): s-3 goes
        // first; then partition 3 in its own order, whatever its times.
        &[
            "s-3, 3000, 2",
            "s-1, 4000, 3",
            "s-2, 1000, 3",
            "s-4, 2000, 3",
        ],
    );
}
