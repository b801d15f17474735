//! EXPLAIN output, snapshotted: every `tests/plans/NAME.ksql` through `kql explain`.

mod common;

#[test]
fn plans_are_stable_and_readable() {
    for file in common::corpus("plans") {
        let out = common::kql(&["explain", file.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}:\n{}", file.display(), out.stderr);
        insta::with_settings!({snapshot_path => "plans", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(common::stem(&file), out.stdout);
        });
    }
}

#[test]
fn explain_of_a_query_id_shows_the_running_querys_plans() {
    let out = common::kql(&["run", "tests/plans/by_id/explain_query_id.ksql"]);
    assert_eq!(
        out.code, 1,
        "the second EXPLAIN names no query:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Help: did you mean CSAS_BIG_1?"),
        "{}",
        out.stderr
    );
    insta::with_settings!({snapshot_path => "plans/by_id", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("explain_query_id", out.stdout);
    });
}
