//! Random input for the parser, the planner and the executor: whatever the text, kql
//! answers with diagnostics or results, never a panic. Two generators: a soup of the
//! language's own tokens (which reaches deep into the planner), and random edits of the
//! corpus files (which stay close to valid statements).
//!
//! CI runs a few hundred cases; `KQL_FUZZ_CASES=100000 cargo test --release --test fuzz`
//! runs a long campaign.

use kql::exec::{Captured, Session};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "CREATE",
    "STREAM",
    "TABLE",
    "GLOBAL",
    "OR",
    "REPLACE",
    "IF",
    "NOT",
    "EXISTS",
    "AS",
    "SELECT",
    "FROM",
    "WHERE",
    "JOIN",
    "LEFT",
    "FULL",
    "OUTER",
    "ON",
    "WITHIN",
    "GROUP",
    "BY",
    "HAVING",
    "WINDOW",
    "TUMBLING",
    "HOPPING",
    "SESSION",
    "SIZE",
    "ADVANCE",
    "GRACE",
    "PERIOD",
    "RETENTION",
    "EMIT",
    "CHANGES",
    "FINAL",
    "LIMIT",
    "INSERT",
    "INTO",
    "VALUES",
    "KEY",
    "PRIMARY",
    "WITH",
    "DROP",
    "SHOW",
    "STREAMS",
    "TOPICS",
    "DESCRIBE",
    "TOPIC",
    "EXPLAIN",
    "PRINT",
    "SET",
    "UNSET",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "IN",
    "LIKE",
    "BETWEEN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "AND",
    "VARCHAR",
    "INT",
    "BIGINT",
    "DOUBLE",
    "BOOLEAN",
    "ARRAY",
    "MAP",
    "STRUCT",
    "DECIMAL",
    "TIMESTAMP",
    "SECONDS",
    "MINUTE",
    "s",
    "t",
    "g",
    "a",
    "b",
    "k",
    "v",
    "temp",
    "sensor",
    "ROWTIME",
    "ROWPARTITION",
    "UCASE",
    "ROUND",
    "COUNT",
    "SUM",
    "CONCAT",
    "SUBSTRING",
    "COALESCE",
    "(",
    ")",
    ",",
    ";",
    "=",
    "<>",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "||",
    "->",
    "[",
    "]",
    ".",
    "'x'",
    "'s'",
    "''",
    "0",
    "1",
    "42",
    "-7",
    "2.5",
    "1e3",
    "99999999999999999999",
    "`q`",
    "kafka_topic='s'",
    "partitions=2",
    "value_format='JSON'",
    "--c\n",
    "/* c */",
    "\n",
];

const PRELUDE: &str = "CREATE STREAM s (k VARCHAR KEY, v INT, temp DOUBLE, sensor VARCHAR) WITH (kafka_topic='s', partitions=2);\n\
CREATE TABLE t (k VARCHAR PRIMARY KEY, v INT) WITH (kafka_topic='t', partitions=2);\n\
CREATE GLOBAL TABLE g (k VARCHAR PRIMARY KEY, a VARCHAR) WITH (kafka_topic='g');\n\
INSERT INTO s (k, v, temp, sensor) VALUES ('a', 1, 2.5, 'x');\n\
INSERT INTO t (k, v) VALUES ('a', 3);\n";

fn cases() -> u32 {
    std::env::var("KQL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// Checks, then runs, the text in a fresh session; any outcome but a panic is fine.
fn exercise(text: &str) {
    let mut session = Session::new(kql::exec::log::in_memory(3));
    let mut out = Captured::default();
    let _ = session.run_text("prelude.ksql", PRELUDE, &mut out);
    let (_, statements, errors) = session.check("fuzz.ksql", text);
    let _ = kql::diagnostic::render(&errors, &session.sources, false);
    for stmt in &statements {
        if let Err(e) = session.execute(stmt, &mut out) {
            let _ = kql::diagnostic::render(&e, &session.sources, false);
        }
    }
}

fn corpus() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut texts = Vec::new();
    for dir in ["syntax/ok", "syntax/err", "golden", "diagnostics", "plans"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|e| e == "ksql") {
                texts.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    texts.sort();
    texts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 1..40)) {
        exercise(&tokens.join(" "));
    }

    #[test]
    fn edited_corpus_files_never_panic(file in 0usize..1000, edits in prop::collection::vec((any::<usize>(), 0u8..3, prop::sample::select(TOKENS)), 1..6)) {
        let texts = corpus();
        let mut text = texts[file % texts.len()].clone();
        for (at, kind, token) in edits {
            let mut pos = at % (text.len() + 1);
            while !text.is_char_boundary(pos) {
                pos -= 1;
            }
            match kind {
                0 => text.insert_str(pos, token),
                1 => {
                    let mut end = (pos + token.len()).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(pos..end, "");
                }
                _ => text.insert_str(pos, &format!(" {token} ")),
            }
        }
        exercise(&text);
    }
}
