//! Windowed aggregation: tumbling windows with EMIT CHANGES and EMIT FINAL, sessions.

use super::{check_aggregate, rec};

const READINGS: &str = "CREATE STREAM readings (sensor VARCHAR KEY, temp DOUBLE)
  WITH (kafka_topic='readings', partitions=1, value_format='JSON');";

fn input() -> Vec<super::Rec> {
    vec![
        rec("readings", "s-1", r#"{"temp":1}"#, 1_000),
        rec("readings", "s-1", r#"{"temp":2}"#, 5_000),
        rec("readings", "s-1", r#"{"temp":3}"#, 12_000),
        // late for [0, 10 s): stream time 12 s is past its end plus the 1 s grace
        rec("readings", "s-1", r#"{"temp":4}"#, 9_000),
        rec("readings", "s-2", r#"{"temp":5}"#, 13_000),
    ]
}

#[test]
fn a_tumbling_window_emits_every_update_and_drops_late_records() {
    check_aggregate(
        READINGS,
        &input(),
        "SELECT sensor, COUNT(*) AS n, SUM(temp) AS total FROM readings
           WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 1 SECOND) GROUP BY sensor EMIT CHANGES;",
        &[
            "s-1, 1, 1.0 [0, 10000)",
            "s-1, 2, 3.0 [0, 10000)",
            "s-1, 1, 3.0 [10000, 20000)",
            "s-2, 1, 5.0 [10000, 20000)",
        ],
    );
}

#[test]
fn emit_final_writes_each_window_once_when_it_closes() {
    check_aggregate(
        READINGS,
        &input(),
        "SELECT sensor, COUNT(*) AS n FROM readings
           WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 1 SECOND) GROUP BY sensor EMIT FINAL;",
        // [0, 10 s) closes at stream time 12 s; the others when the input ends
        &[
            "s-1, 2 [0, 10000)",
            "s-1, 1 [10000, 20000)",
            "s-2, 1 [10000, 20000)",
        ],
    );
}

#[test]
fn records_within_the_gap_merge_into_one_session() {
    check_aggregate(
        READINGS,
        &[
            rec("readings", "s-1", r#"{"temp":1}"#, 1_000),
            rec("readings", "s-1", r#"{"temp":2}"#, 20_000),
            rec("readings", "s-1", r#"{"temp":3}"#, 10_000),
        ],
        "SELECT sensor, COUNT(*) AS n FROM readings WINDOW SESSION (10 SECONDS)
           GROUP BY sensor EMIT CHANGES;",
        // the third record bridges the first two sessions: both are deleted, then the
        // merged one is written
        &[
            "s-1, 1 [1000, 1000)",
            "s-1, 1 [20000, 20000)",
            "DELETE s-1 [1000, 1000)",
            "DELETE s-1 [20000, 20000)",
            "s-1, 3 [1000, 20000)",
        ],
    );
}
