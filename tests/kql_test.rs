//! `kql test`: the ksqlDB test-runner workflow on the examples in `tests/kql_test/`.
//! Input records are fed one at a time; the end of the input does not close windows (the
//! window of s2 at 125000 stays open, as in ksqlDB's runner).

mod common;

#[test]
fn a_matching_expected_file_passes() {
    let out = common::kql(&[
        "test",
        "-s",
        "tests/kql_test/per_minute.ksql",
        "-i",
        "tests/kql_test/per_minute.input.json",
        "-o",
        "tests/kql_test/per_minute.expected.json",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Test passed (5 output records)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_different_output_fails_with_a_readable_diff() {
    let out = common::kql(&[
        "test",
        "-s",
        "tests/kql_test/per_minute.ksql",
        "-i",
        "tests/kql_test/per_minute.input.json",
        "-o",
        "tests/kql_test/failing.expected.json",
    ]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for line in [
        "Test failed:",
        "topic 'HOT' record 2: not expected",
        "topic 'PER_MINUTE' record 1:",
        "\"N\":3",
        "\"N\":2",
    ] {
        assert!(
            out.stdout.contains(line),
            "missing {line:?} in\n{}",
            out.stdout
        );
    }
}

#[test]
fn without_expected_file_every_output_record_is_printed() {
    let out = common::kql(&[
        "test",
        "-s",
        "tests/kql_test/per_minute.ksql",
        "-i",
        "tests/kql_test/per_minute.input.json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/kql_test/per_minute.out"
    ))
    .unwrap();
    assert_eq!(out.stdout, expected);
}

#[test]
fn a_stream_table_join_sees_the_table_as_of_each_record() {
    let out = common::kql(&[
        "test",
        "-s",
        "tests/kql_test/enrich.ksql",
        "-i",
        "tests/kql_test/enrich.input.json",
        "-o",
        "tests/kql_test/enrich.expected.json",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Test passed (3 output records)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_stream_stream_left_join_emits_a_miss_only_when_its_window_has_passed() {
    let out = common::kql(&[
        "test",
        "-s",
        "tests/kql_test/shipments.ksql",
        "-i",
        "tests/kql_test/shipments.input.json",
        "-o",
        "tests/kql_test/shipments.expected.json",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Test passed (2 output records)"),
        "{}",
        out.stdout
    );
}
