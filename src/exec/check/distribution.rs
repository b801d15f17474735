//! The distribution pass: where the physical plan puts repartitions.

use super::{fixture, plan};
use crate::exec::physical::{lower, EdgeKind, Operator, Output, PhysicalPlan};

const DDL: &str = "
CREATE STREAM readings (sensor VARCHAR KEY, site VARCHAR, temp DOUBLE)
  WITH (kafka_topic='readings', partitions=2, value_format='JSON');
CREATE TABLE sites (site VARCHAR PRIMARY KEY, city VARCHAR)
  WITH (kafka_topic='sites', partitions=3, value_format='JSON');";

/// Every repartition of a plan: (its topic, partitions, the operator that reads it).
fn repartitions(p: &PhysicalPlan) -> Vec<(String, u32, &'static str)> {
    let mut out = Vec::new();
    for n in &p.nodes {
        for e in &n.inputs {
            if let Operator::Repartition(r) = &p.node(e.from).operator {
                assert_eq!(
                    e.kind,
                    EdgeKind::Exchange,
                    "a repartition is read through its topic"
                );
                let reader = match n.operator {
                    Operator::Aggregate(_) => "aggregate",
                    Operator::Join(_) => "join",
                    _ => "other",
                };
                out.push((r.topic.clone(), r.partitions, reader));
            }
        }
    }
    out
}

#[test]
fn a_group_by_of_the_key_needs_no_repartition_and_of_a_value_column_one() {
    let mut session = fixture(DDL, &[]);
    let by_key = plan(
        &mut session,
        "SELECT sensor, COUNT(*) FROM readings GROUP BY sensor EMIT CHANGES;",
    );
    assert_eq!(repartitions(&lower(&by_key, Output::Rows).unwrap()), vec![]);
    let by_site = plan(
        &mut session,
        "SELECT site, COUNT(*) FROM readings GROUP BY site EMIT CHANGES;",
    );
    assert_eq!(
        repartitions(&lower(&by_site, Output::Rows).unwrap()),
        vec![("Aggregate-GroupBy-repartition".to_string(), 2, "aggregate")]
    );
}

#[test]
fn a_join_side_not_keyed_by_its_join_expression_is_repartitioned_to_the_other_sides_count() {
    let mut session = fixture(DDL, &[]);
    let joined = plan(
        &mut session,
        "SELECT r.sensor, s.city FROM readings r JOIN sites s ON r.site = s.site EMIT CHANGES;",
    );
    let physical = lower(&joined, Output::Rows).unwrap();
    assert_eq!(
        repartitions(&physical),
        vec![("READINGS-repartition".to_string(), 3, "join")]
    );
    // The join runs one task per partition of the table.
    let join = physical.below_stateless(physical.root);
    assert_eq!(physical.node(join).tasks, 3);
}
