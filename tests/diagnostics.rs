//! Diagnostics as a user sees them: every `tests/diagnostics/NAME.ksql` fails `kql run`
//! with exit code 1 (compile errors before anything runs, runtime errors when their
//! statement runs) and its rendered report (no colour) is snapshotted. Every diagnostic
//! code has a file here named after it and an entry in docs/diagnostics.md.

mod common;

use kql::diagnostic::Code;

#[test]
fn each_bad_file_gets_its_report() {
    for file in common::corpus("diagnostics") {
        let out = common::kql(&["run", file.to_str().unwrap()]);
        assert_eq!(
            out.code,
            1,
            "{} should fail to compile:\n{}",
            file.display(),
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        insta::with_settings!({snapshot_path => "diagnostics", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(common::stem(&file), out.stderr);
        });
    }
}

#[test]
fn every_code_is_documented() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/diagnostics.md"))
        .unwrap();
    for code in Code::ALL {
        let heading = format!("## {}", code.id());
        assert!(
            docs.contains(&heading),
            "docs/diagnostics.md has no section `{heading}` ({})",
            code.title()
        );
    }
}

#[test]
fn every_code_has_an_example_file() {
    let files: Vec<String> = common::corpus("diagnostics")
        .iter()
        .map(|f| common::stem(f))
        .collect();
    // Internal errors cannot be caused on purpose; Kafka cluster errors come from the
    // command line's cluster (tests/kafka_cli.rs); a state bound takes millions of keys
    // to reach (tested with the bound lowered, src/exec/operators/aggregate/bounds_tests.rs).
    let elsewhere = [Code::Internal, Code::KafkaCluster, Code::StateLimit];
    for code in Code::ALL.iter().filter(|c| !elsewhere.contains(c)) {
        assert!(
            files.iter().any(|f| f.starts_with(&code.id())),
            "tests/diagnostics has no {}_*.ksql example ({})",
            code.id(),
            code.title()
        );
    }
}

#[test]
fn a_runtime_error_is_a_diagnostic_not_a_panic() {
    let out = common::kql(&["run", "tests/no/such/file.ksql"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("[KQL0602] cannot read tests/no/such/file.ksql"),
        "{}",
        out.stderr
    );
}

#[test]
fn command_line_mistakes_exit_with_1_and_help_exits_with_0() {
    let out = common::kql(&["run"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("required arguments were not provided"),
        "{}",
        out.stderr
    );
    assert_eq!(common::kql(&["frobnicate"]).code, 1);
    assert_eq!(common::kql(&["--help"]).code, 0);
}
