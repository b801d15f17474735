//! Depth and size limits of the parser: every recursive rule of the grammar, nested far
//! past the limit, gets the nesting diagnostic (never a stack overflow), the same rule
//! nested a little still parses, and checking time grows linearly with the text.

mod common;

use std::time::{Duration, Instant};

use kql::diagnostic::render;
use kql::exec::Session;
use kql::sources::Sources;
use kql::syntax::parse;
use kql_runtime::Cluster;

/// A hundred times the limit (`kql check` is run below on the sizes that used to crash).
const DEEP: usize = 10_000;
const SHALLOW: usize = 30;
const TOO_DEEP: &str = "nested more than 100 levels deep";

/// One way to nest: a statement whose expression or type nests `n` levels.
struct Nesting {
    name: &'static str,
    statement: fn(usize) -> String,
}

fn select(expr: String) -> String {
    format!("SELECT {expr} FROM s EMIT CHANGES;")
}

fn repeat(s: &str, n: usize) -> String {
    s.repeat(n)
}

fn nestings() -> Vec<Nesting> {
    vec![
        Nesting {
            name: "NOT",
            statement: |n| select(repeat("NOT ", n) + "TRUE"),
        },
        Nesting {
            name: "unary minus",
            statement: |n| select(repeat("- ", n) + "1"),
        },
        Nesting {
            name: "NOT after comparisons",
            statement: |n| select("a".to_string() + &repeat(" = NOT a", n)),
        },
        Nesting {
            name: "CASE WHEN without brackets",
            statement: |n| select(repeat("CASE WHEN TRUE THEN ", n) + "1" + &repeat(" END", n)),
        },
        Nesting {
            name: "CASE operand",
            statement: |n| select(repeat("CASE ", n) + "1" + &repeat(" WHEN 1 THEN 2 END", n)),
        },
        Nesting {
            name: "ELSE branch",
            statement: |n| {
                select(repeat("CASE WHEN TRUE THEN 1 ELSE ", n) + "1" + &repeat(" END", n))
            },
        },
        Nesting {
            name: "brackets",
            statement: |n| select(repeat("(", n) + "1" + &repeat(")", n)),
        },
        Nesting {
            name: "function calls",
            statement: |n| select(repeat("ABS(", n) + "1" + &repeat(")", n)),
        },
        Nesting {
            name: "CAST",
            statement: |n| select(repeat("CAST(", n) + "1" + &repeat(" AS INT)", n)),
        },
        Nesting {
            name: "array literals",
            statement: |n| select(repeat("ARRAY[", n) + "1" + &repeat("]", n)),
        },
        Nesting {
            name: "map literals",
            statement: |n| select(repeat("MAP('k' := ", n) + "1" + &repeat(")", n)),
        },
        Nesting {
            name: "struct literals",
            statement: |n| select(repeat("STRUCT(f := ", n) + "1" + &repeat(")", n)),
        },
        Nesting {
            name: "IN lists",
            statement: |n| select(repeat("a IN (", n) + "1" + &repeat(")", n)),
        },
        Nesting {
            name: "subscript indexes",
            statement: |n| select(repeat("a[", n) + "1" + &repeat("]", n)),
        },
        Nesting {
            name: "subscript chain",
            statement: |n| select("a".to_string() + &repeat("[1]", n)),
        },
        Nesting {
            name: "-> chain",
            statement: |n| select("a".to_string() + &repeat("->f", n)),
        },
        Nesting {
            name: "IS NULL chain",
            statement: |n| select("a".to_string() + &repeat(" IS NULL", n)),
        },
        Nesting {
            name: "LIKE chain",
            statement: |n| select("a".to_string() + &repeat(" LIKE 'x'", n)),
        },
        Nesting {
            name: "IN chain",
            statement: |n| select("a".to_string() + &repeat(" IN (1)", n)),
        },
        Nesting {
            name: "BETWEEN chain",
            statement: |n| select("a".to_string() + &repeat(" BETWEEN 1 AND 2", n)),
        },
        Nesting {
            name: "LIKE pattern",
            statement: |n| select("a LIKE ".to_string() + &repeat("- ", n) + "1"),
        },
        Nesting {
            name: "ARRAY types",
            statement: |n| column_type(repeat("ARRAY<", n) + "INT" + &repeat(">", n)),
        },
        Nesting {
            name: "MAP types",
            statement: |n| column_type(repeat("MAP<STRING, ", n) + "INT" + &repeat(">", n)),
        },
        Nesting {
            name: "STRUCT types",
            statement: |n| column_type(repeat("STRUCT<f ", n) + "INT" + &repeat(">", n)),
        },
        Nesting {
            name: "CAST to a nested type",
            statement: |n| {
                select(
                    "CAST(a AS ".to_string() + &repeat("ARRAY<", n) + "INT" + &repeat(">", n) + ")",
                )
            },
        },
    ]
}

fn column_type(ty: String) -> String {
    format!("CREATE STREAM s (c {ty}) WITH (kafka_topic='t', value_format='json', partitions=1);")
}

fn parse_report(text: &str) -> Result<(), String> {
    let mut sources = Sources::default();
    let id = sources.add("limits.ksql".to_string(), text.to_string());
    let (_, errors) = parse(id, text);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(render(&errors, &sources, false))
    }
}

#[test]
fn every_recursive_rule_nested_deeply_gets_the_nesting_diagnostic() {
    for nesting in nestings() {
        let deep = (nesting.statement)(DEEP);
        match parse_report(&deep) {
            Err(report) => assert!(
                report.contains(TOO_DEEP),
                "{} nested {DEEP} deep: expected the nesting error, got\n{}",
                nesting.name,
                &report[..report.len().min(600)]
            ),
            Ok(()) => panic!("{} nested {DEEP} deep parsed", nesting.name),
        }
    }
}

#[test]
fn every_recursive_rule_nested_a_little_still_parses() {
    for nesting in nestings() {
        let shallow = (nesting.statement)(SHALLOW);
        if let Err(report) = parse_report(&shallow) {
            panic!(
                "{} nested {SHALLOW} deep should parse:\n{report}",
                nesting.name
            );
        }
    }
}

/// What a user sees for the inputs that used to overflow the stack: exit code 1 and the
/// nesting diagnostic from `kql check`.
#[test]
fn kql_check_reports_deep_nesting_instead_of_crashing() {
    let dir = tempfile::tempdir().unwrap();
    let declare =
        "CREATE STREAM s (a INT) WITH (kafka_topic='t', value_format='json', partitions=1);\n";
    let inputs = [
        ("not.ksql", select(repeat("NOT ", DEEP) + "TRUE")),
        ("minus.ksql", select(repeat("- ", DEEP) + "1")),
        (
            "case.ksql",
            select(repeat("CASE WHEN TRUE THEN ", 30_000) + "1" + &repeat(" END", 30_000)),
        ),
    ];
    for (name, statement) in inputs {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{declare}{statement}\n")).unwrap();
        let out = common::kql(&["check", path.to_str().unwrap()]);
        assert_eq!(
            out.code,
            1,
            "{name}: {}",
            &out.stderr[..out.stderr.len().min(600)]
        );
        assert!(
            out.stderr.contains(TOO_DEEP),
            "{name}: {}",
            &out.stderr[..out.stderr.len().min(600)]
        );
    }
}

/// A long flat chain of one operator (a generated filter of hundreds of ORs, a long sum)
/// is one level of nesting, not one per operator: up to the limit on operators it checks
/// and runs, in a persistent query's thread and in a transient query, with the rows a
/// user expects.
#[test]
fn a_flat_chain_of_hundreds_of_operators_runs() {
    let dir = tempfile::tempdir().unwrap();
    // 500 comparisons and 499 ORs: 999 binary operators, one under the limit.
    let filter: Vec<String> = (0..500).map(|i| format!("a = {}", i * 2)).collect();
    let sum = "a".to_string() + &" + 1".repeat(998);
    let text = format!(
        "CREATE STREAM s (a INT) WITH (kafka_topic='t', value_format='json', partitions=1);\n\
         INSERT INTO s (a) VALUES (4);\n\
         INSERT INTO s (a) VALUES (5);\n\
         INSERT INTO s (a) VALUES (998);\n\
         INSERT INTO s (a) VALUES (1000);\n\
         CREATE STREAM hits AS SELECT a, {sum} AS b FROM s WHERE {};\n\
         SELECT a, b FROM hits EMIT CHANGES;\n\
         SELECT a FROM s WHERE {} EMIT CHANGES;\n",
        filter.join(" OR "),
        filter.join(" OR ")
    );
    let path = dir.path().join("chain.ksql");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap();
    let check = common::kql(&["check", path]);
    assert_eq!(
        check.code,
        0,
        "{}",
        &check.stderr[..check.stderr.len().min(600)]
    );
    let out = common::kql(&["run", path, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", &out.stderr[..out.stderr.len().min(600)]);
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        rows,
        [
            "{\"A\":4,\"B\":1002}",
            "{\"A\":998,\"B\":1996}",
            "{\"A\":4}",
            "{\"A\":998}"
        ]
    );
}

/// A wide file: a stream of `n` columns, every column inserted and selected by name.
fn wide_file(n: usize) -> String {
    let columns: Vec<String> = (0..n).map(|i| format!("c{i} INT")).collect();
    let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    let values: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    format!(
        "CREATE STREAM s ({}) WITH (kafka_topic='t', value_format='json', partitions=1);\n\
         INSERT INTO s ({}) VALUES ({});\n\
         SELECT {} FROM s EMIT CHANGES;\n",
        columns.join(", "),
        names.join(", "),
        values.join(", "),
        names
            .iter()
            .map(|c| format!("s.{c} + 1 AS x{c}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn check_time(text: &str) -> Duration {
    let mut session = Session::new(Cluster::in_memory(1));
    let started = Instant::now();
    let (_, statements, errors) = session.check("wide.ksql", text);
    let took = started.elapsed();
    assert!(
        errors.is_empty(),
        "{}",
        render(&errors, &session.sources, false)
    );
    assert_eq!(statements.len(), 3);
    took
}

/// Checking is near-linear in the size of the text: four times the columns take well
/// under sixteen times as long (a quadratic step would take sixteen). The best of three
/// runs of each size and a bound of twelve keep a busy machine from deciding the outcome.
#[test]
fn checking_time_grows_linearly_with_the_number_of_columns() {
    let (small, large) = (wide_file(5_000), wide_file(20_000));
    let best = |text: &str| check_time(text).min(check_time(text)).min(check_time(text));
    let (t_small, t_large) = (best(&small), best(&large));
    let ratio = t_large.as_secs_f64() / t_small.as_secs_f64();
    assert!(
        ratio < 12.0,
        "4x the columns took {ratio:.1}x as long ({t_small:?} -> {t_large:?}): not linear"
    );
}
