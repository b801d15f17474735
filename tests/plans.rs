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
