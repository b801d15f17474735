//! GROUP BY without a window: in place on the key, or after a repartition.

use super::{check_aggregate, rec};

const READINGS: &str = "CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE)
  WITH (kafka_topic='readings', partitions=2, value_format='JSON');";

fn input() -> Vec<super::Rec> {
    vec![
        rec("readings", "s-1", r#"{"site":"a","temp":10}"#, 1000),
        rec("readings", "s-2", r#"{"site":"b","temp":20}"#, 2000),
        rec("readings", "s-1", r#"{"site":"b","temp":30}"#, 3000),
        rec("readings", "s-3", r#"{"site":"a","temp":40}"#, 4000),
    ]
}

#[test]
fn grouping_by_the_key_emits_every_update_of_a_group() {
    check_aggregate(
        READINGS,
        &input(),
        "SELECT sensor, COUNT(*) AS n, SUM(temp) AS total FROM readings GROUP BY sensor EMIT CHANGES;",
        &["s-1, 1, 10.0", "s-2, 1, 20.0", "s-1, 2, 40.0", "s-3, 1, 40.0"],
    );
}

#[test]
fn grouping_by_a_value_column_goes_through_a_repartition() {
    check_aggregate(
        READINGS,
        &input(),
        "SELECT site, COUNT(*) AS n, MAX(temp) AS hottest FROM readings GROUP BY site EMIT CHANGES;",
        &["a, 1, 10.0", "b, 1, 20.0", "b, 2, 30.0", "a, 2, 40.0"],
    );
}

#[test]
fn having_filters_groups_after_aggregation() {
    check_aggregate(
        READINGS,
        &input(),
        "SELECT site, COUNT(*) AS n FROM readings GROUP BY site HAVING COUNT(*) > 1 EMIT CHANGES;",
        // A group HAVING rejects is a deletion of its row only if the row was in the
        // table (it passed HAVING before); a and b were not, so nothing is deleted.
        &["b, 2", "a, 2"],
    );
}
