//! The bound on an aggregation's state (`limits::GROUPS_PER_TASK_MAX`), seen as a user
//! sees it, with the bound lowered on the running query's tasks.

use crate::diagnostic::{Code, Diagnostic};
use crate::exec::log::MemoryLog;
use crate::exec::{Captured, Session};

/// Runs `query` over `inserts` with every aggregation task bounded to `groups_max`
/// groups; returns the run's error, if any.
fn run_bounded_to(groups_max: usize, query: &str, inserts: &str) -> Option<Diagnostic> {
    let mut session = Session::new(MemoryLog::new());
    let mut out = Captured::default();
    let ddl = "CREATE STREAM readings (sensor VARCHAR KEY, temp DOUBLE, ts BIGINT)
      WITH (kafka_topic='readings', partitions=1, value_format='JSON', timestamp='ts');";
    session
        .run_text("ddl.ksql", &format!("{ddl}\n{query}"), &mut out)
        .unwrap();
    for q in &mut session.registry.queries {
        for stage in &mut q.stages {
            for slot in &mut stage.tasks {
                if let Some(agg) = &mut slot.agg {
                    agg.groups_max = Some(groups_max);
                }
            }
        }
    }
    let ran = session
        .run_text("inserts.ksql", inserts, &mut out)
        .map_err(|mut d| d.remove(0));
    ran.and_then(|()| session.finish(&mut out)).err()
}

const INSERTS: &str = "
INSERT INTO readings (sensor, temp, ts) VALUES ('s-1', 20.0, 1000);
INSERT INTO readings (sensor, temp, ts) VALUES ('s-2', 21.0, 2000);
INSERT INTO readings (sensor, temp, ts) VALUES ('s-1', 22.0, 3000);
INSERT INTO readings (sensor, temp, ts) VALUES ('s-3', 23.0, 4000);";

#[test]
fn a_group_past_the_bound_stops_the_query_with_its_code() {
    let d = run_bounded_to(
        2,
        "CREATE TABLE counts AS SELECT sensor, COUNT(*) AS n FROM readings GROUP BY sensor;",
        INSERTS,
    )
    .expect("the third sensor is one group too many");
    assert_eq!(d.code, Code::StateLimit);
    assert_eq!(
        d.message,
        "the aggregation of partition 0 holds 2 groups, the most one task keeps, and a \
         record would open one more"
    );
    assert!(
        d.notes.iter().any(|n| n.starts_with("query CTAS_COUNTS_")),
        "{d:?}"
    );
    assert!(d.help.as_deref().unwrap().contains("more partitions"));
}

#[test]
fn records_of_known_groups_stay_within_the_bound() {
    // Three sensors, three groups: at the bound, never past it.
    let d = run_bounded_to(
        3,
        "CREATE TABLE counts AS SELECT sensor, COUNT(*) AS n FROM readings GROUP BY sensor;",
        INSERTS,
    );
    assert_eq!(d, None);
}

#[test]
fn sessions_count_once_per_key() {
    let query = "CREATE TABLE visits AS SELECT sensor, COUNT(*) AS n FROM readings
      WINDOW SESSION (1 SECOND) GROUP BY sensor;";
    // s-1's two records are two sessions (2 s apart) of one key: two keys fit in two.
    let two_keys = "
INSERT INTO readings (sensor, temp, ts) VALUES ('s-1', 20.0, 1000);
INSERT INTO readings (sensor, temp, ts) VALUES ('s-2', 21.0, 2000);
INSERT INTO readings (sensor, temp, ts) VALUES ('s-1', 22.0, 4000);";
    assert_eq!(run_bounded_to(2, query, two_keys), None);
    let d = run_bounded_to(2, query, INSERTS).expect("a third key is past the bound");
    assert_eq!(d.code, Code::StateLimit);
}
