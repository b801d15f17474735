//! Golden tests: every `tests/golden/NAME.ksql` is run with `kql run --format json`; its
//! stdout must equal `NAME.out` and, when `NAME.err` exists, its warnings on stderr must
//! contain each line of it. `UPDATE_GOLDEN=1 cargo test --test golden` rewrites `.out`
//! files (review the diff: the expected rows are worked out by hand).

mod common;

use std::path::Path;

#[test]
fn golden_files_print_the_expected_rows() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for file in common::corpus("golden") {
        let out = common::kql(&["run", file.to_str().unwrap(), "--format", "json"]);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let expected_path = root.join(file.with_extension("out"));
        if out.code != 0 {
            failures.push(format!(
                "{}: exit {}\n{}",
                file.display(),
                out.code,
                out.stderr
            ));
            continue;
        }
        if update {
            std::fs::write(&expected_path, &out.stdout).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .out file", file.display()));
        if out.stdout != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{}",
                file.display(),
                out.stdout
            ));
        }
        if let Ok(err) = std::fs::read_to_string(root.join(file.with_extension("err"))) {
            for line in err.lines().filter(|l| !l.trim().is_empty()) {
                if !out.stderr.contains(line) {
                    failures.push(format!(
                        "{}: stderr lacks {line:?}:\n{}",
                        file.display(),
                        out.stderr
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_main_example_runs_and_prints_a_table() {
    let out = common::kql(&["run", "queries/temp_alerts.ksql"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("| SENSOR   | LOCATION   | TEMP | TEMP_F | AT_UTC   |"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("| sensor-3 | outflow    | 28.5 |   83.3 | 22:14:00 |"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("| sensor"))
            .count(),
        5
    );
    // status lines go to stderr, never between the rows
    assert!(out.stderr.contains("Stream created"));
}
