//! Repartition: the first stage of a GROUP BY on a value column writes each row to the
//! internal topic keyed by the GROUP BY key, where Kafka's partitioner puts that key.

use super::{fixture, plan, rec, topic_records};
use crate::exec::persistent::{build_stages, run_collect};

#[test]
fn rows_are_written_keyed_by_the_group_by_key_with_their_event_time() {
    let ddl = "CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE)
      WITH (kafka_topic='readings', partitions=1, value_format='JSON');";
    let mut session = fixture(
        ddl,
        &[
            rec("readings", "s-1", r#"{"site":"a","temp":10}"#, 1000),
            rec("readings", "s-2", r#"{"site":null,"temp":20}"#, 2000),
            rec("readings", "s-3", r#"{"site":"b","temp":30}"#, 3000),
        ],
    );
    let plan = plan(
        &mut session,
        "SELECT site, COUNT(*) FROM readings WHERE temp > 15 GROUP BY site EMIT CHANGES;",
    );
    let mut stages = build_stages(&plan, &session.log, "check").unwrap();
    let topic = stages[1].input_topic.clone();
    assert_eq!(topic, "check-Aggregate-GroupBy-repartition");
    // Only the repartition stage runs.
    run_collect(
        &session.runtime,
        &session.log,
        &mut stages[..1],
        false,
        &mut crate::exec::task::TaskStats::default(),
    )
    .unwrap();
    // The WHERE runs before the repartition; a NULL key is written too (the aggregation
    // drops it). The internal topic has the source's one partition.
    assert_eq!(
        topic_records(&session.log, &topic),
        vec![
            r#"p0 null -> {"SENSOR":"s-2","SITE":null,"TEMP":20.0} @2000"#,
            r#"p0 "b" -> {"SENSOR":"s-3","SITE":"b","TEMP":30.0} @3000"#,
        ]
    );
}
