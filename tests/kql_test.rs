//! `kql test`: the ksqlDB test-runner workflow on the examples in `tests/kql_test/`.
//! Input records are fed one at a time; the end of the input does not close windows (the
//! window of s2 at 125000 stays open, as in ksqlDB's runner).

mod common;

/// `kql test` on the example `NAME` (`NAME.ksql` and `NAME.input.json`), against the
/// expected file `expected` (`EXPECTED.expected.json`) when given.
fn kql_test(name: &str, expected: Option<&str>) -> common::RunOutput {
    let dir = "tests/kql_test";
    let (script, input) = (
        format!("{dir}/{name}.ksql"),
        format!("{dir}/{name}.input.json"),
    );
    let mut args = vec!["test", "-s", &script, "-i", &input];
    let output = expected.map(|e| format!("{dir}/{e}.expected.json"));
    if let Some(o) = &output {
        args.extend(["-o", o]);
    }
    common::kql(&args)
}

/// The example passes against its own expected file, with `records` output records.
fn passes(name: &str, records: usize) {
    let out = kql_test(name, Some(name));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let passed = format!("Test passed ({records} output records)");
    assert!(out.stdout.contains(&passed), "{}", out.stdout);
}

#[test]
fn a_matching_expected_file_passes() {
    passes("per_minute", 5);
}

#[test]
fn a_different_output_fails_with_a_readable_diff() {
    let out = kql_test("per_minute", Some("failing"));
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
    let out = kql_test("per_minute", None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/kql_test/per_minute.out"
    ))
    .unwrap();
    assert_eq!(out.stdout, expected);
}

#[test]
fn header_columns_read_the_record_headers_and_outputs_carry_the_input_headers() {
    passes("headers", 5);
}

#[test]
fn a_null_header_value_stays_null_in_header_columns_and_written_records() {
    passes("null_headers", 2);
}

#[test]
fn output_headers_are_compared() {
    let out = kql_test("headers", Some("headers_failing"));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("topic 'PAID' record 1:"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\"cQ==\""), "{}", out.stdout);
}

#[test]
fn a_stream_table_join_sees_the_table_as_of_each_record() {
    passes("enrich", 3);
}

#[test]
fn a_foreign_key_join_deletes_the_rows_of_a_deleted_right_row_or_keeps_them_with_nulls() {
    passes("foreign_key", 11);
}

#[test]
fn a_stream_stream_left_join_emits_a_miss_only_when_its_window_has_passed() {
    passes("shipments", 2);
}

#[test]
fn a_stream_record_without_a_value_goes_through_a_projection_and_not_through_where() {
    passes("null_values", 4);
}

#[test]
fn a_record_that_does_not_match_its_schema_is_skipped_with_a_warning() {
    // The query reads only the key, yet the record with "x" in its DOUBLE column is bad.
    passes("bad_record", 2);
    let out = kql_test("bad_record", Some("bad_record"));
    assert!(
        out.stderr
            .contains("warning: query CSAS_SENSORS_1 skipped 1 bad record(s)")
            && out.stderr.contains(
                "topic 'readings' partition 0 offset 1: field TEMP: expected DOUBLE, found \"x\""
            ),
        "{}",
        out.stderr
    );
}

#[test]
fn kafka_format_values_are_read_and_written_in_kafkas_serializer_bytes() {
    passes("kafka_values", 6);
}

/// `passes`, and each of `skipped` is named in the warnings about skipped records.
fn passes_skipping(name: &str, records: usize, skipped: &[&str]) {
    let out = kql_test(name, Some(name));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let passed = format!("Test passed ({records} output records)");
    assert!(out.stdout.contains(&passed), "{}", out.stdout);
    for s in skipped {
        assert!(out.stderr.contains(s), "missing {s:?} in\n{}", out.stderr);
    }
}

#[test]
fn a_sink_timestamp_column_stamps_its_records_and_rows_without_a_valid_time_are_counted() {
    passes_skipping(
        "sink_timestamp",
        4,
        &["TAKEN_AT holds -2", "SEEN holds 'yesterday'"],
    );
}

#[test]
fn delimited_bytes_are_base64_and_text_that_is_not_is_a_bad_record() {
    passes_skipping(
        "delimited_bytes",
        2,
        &["expected BYTES, found 'not base64!'"],
    );
}

#[test]
fn emit_final_writes_a_window_when_it_closes_unless_stream_time_jumped_past_its_retention() {
    passes("final_windows", 5);
}

#[test]
fn windowed_sources_read_windows_from_keys_keep_them_and_join_only_equal_windows() {
    passes("windowed_sources", 7);
}

#[test]
fn joined_streams_keyed_in_different_key_formats_are_re_keyed_so_equal_keys_meet() {
    passes("join_key_formats", 3);
}

#[test]
fn select_star_of_a_join_re_keyed_by_partition_by_names_the_sides_system_columns() {
    passes("join_partition_star", 1);
}

#[test]
fn partition_by_several_columns_writes_a_key_of_nulls_and_a_keyless_record_stays_keyless() {
    passes("partition_nulls", 4);
}

#[test]
fn a_delimited_key_delimiter_separates_key_fields_and_a_sink_inherits_it() {
    passes("key_delimiter", 6);
}

#[test]
fn a_delimited_value_delimiter_separates_fields_and_a_sink_inherits_it() {
    passes("delimited_separators", 4);
}

#[test]
fn a_copied_table_forwards_deletes_and_skips_records_without_a_key() {
    passes_skipping("table_copy", 3, &["a table's record needs a key"]);
}

#[test]
fn joined_tables_keyed_in_different_key_formats_meet_and_the_right_tables_deletions_reach_the_join()
{
    passes("table_join_key_formats", 10);
}

#[test]
fn a_record_without_a_value_re_keyed_by_partition_by_gets_null_for_key_parts_not_from_its_key() {
    passes("partition_null_values", 4);
}

#[test]
fn an_aggregation_of_a_table_join_retracts_a_changed_or_deleted_join_row_from_its_group() {
    passes("aggregate_table_join", 14);
}
