#![cfg(unix)]
//! The interactive shell, driven as a person would: the real binary in a pseudo-terminal,
//! keys typed, and the screen read back after each step. Plus piped input, which must work
//! line by line with no escape codes.

mod common;
mod repl_support;

use std::io::Write;
use std::process::{Command, Stdio};

use repl_support::Term;

const CREATE: &str = "CREATE STREAM sensor_readings (sensor VARCHAR KEY, temp DOUBLE) WITH (kafka_topic='readings', partitions=2, value_format='JSON');";

#[test]
fn a_session_at_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    // Enough rows that a query over them is still printing when Ctrl-C comes.
    let mut script = String::from(
        "CREATE STREAM big (id INT KEY, name VARCHAR) WITH (kafka_topic='big', partitions=2, value_format='JSON');\n",
    );
    for i in 0..6000 {
        script.push_str(&format!(
            "INSERT INTO big (id, name) VALUES ({i}, 'a row long enough to fill the terminal quickly {i}');\n"
        ));
    }
    std::fs::write(dir.path().join("big.ksql"), script).unwrap();

    let mut t = Term::start(dir.path(), &history);
    t.expect("Type 'help'");
    t.ready();

    // DDL and inserts.
    t.line(CREATE);
    t.expect("Stream created");
    t.ready();
    t.line("INSERT INTO sensor_readings (sensor, temp) VALUES ('s-1', 21.5);");
    t.ready();
    t.line("INSERT INTO sensor_readings (sensor, temp) VALUES ('s-2', 26.5);");
    t.ready();

    // A statement over several lines: the prompt says it is incomplete until the `;`.
    t.line("SELECT sensor, temp");
    t.wait("the continuation prompt", |s| {
        s.lines().last() == Some("   >")
    });
    t.line("FROM sensor_readings");
    t.line("WHERE temp > 25");
    t.line("EMIT CHANGES;");
    // A push query's table is drawn as its rows come (columns as wide as their types need).
    let screen = t.expect("| s-2    |       26.5 |");
    assert!(screen.contains("kql> SELECT sensor, temp\n   > FROM sensor_readings\n   > WHERE temp > 25\n   > EMIT CHANGES;"), "{screen}");
    assert!(screen.contains("| SENSOR | TEMP "), "{screen}");
    assert!(
        !screen.contains("s-1 "),
        "the WHERE keeps s-1 out:\n{screen}"
    );
    // A push query waits for new rows, as in ksqlDB, until Ctrl-C.
    t.send("\x03");
    t.expect("Query cancelled after 1 row(s).");
    t.ready();

    // Tab completes a stream name from the live session.
    t.send("DESCRIBE sens");
    t.send("\t");
    t.expect("kql> DESCRIBE SENSOR_READINGS");
    t.send(";\r");
    t.expect("Topic: readings (2 partitions)");
    t.ready();

    // An error is reported with ariadne against what was typed, and the shell goes on.
    t.line("SELECT sensor, tmp FROM sensor_readings EMIT CHANGES;");
    let screen = t.expect("unknown column");
    assert!(
        screen.contains("[KQL0102] Error: column TMP is not in SENSOR_READINGS"),
        "{screen}"
    );
    assert!(
        screen.contains(" 1 │ SELECT sensor, tmp FROM sensor_readings EMIT CHANGES;"),
        "{screen}"
    );
    assert!(screen.contains("Help: did you mean TEMP?"), "{screen}");
    t.ready();

    // The output switch, handled by the shell.
    t.line("SET 'output'='json';");
    t.expect("Output format is now json.");
    t.ready();
    t.line("SELECT * FROM sensor_readings WHERE temp > 25 EMIT CHANGES;");
    t.expect(r#"{"SENSOR":"s-2","TEMP":26.5}"#);
    t.send("\x03");
    t.expect("Query cancelled");
    t.ready();
    t.line("UNSET 'output';");
    t.expect("Output format is now table.");
    t.ready();

    // A long push query, cancelled with Ctrl-C: the shell stays.
    t.line("RUN SCRIPT 'big.ksql';");
    t.expect("Stream created");
    t.ready();
    t.line("SELECT * FROM big EMIT CHANGES;");
    t.wait("the first rows", |s| s.contains("| a row long enough"));
    // A terminal slower than the query: kql fills the pty and waits to write more when
    // Ctrl-C comes. The rows it has written stay, and it stops.
    std::thread::sleep(std::time::Duration::from_millis(500));
    t.send("\x03");
    let screen = t.wait("the cancellation", |s| s.contains("Query cancelled after"));
    let rows: u64 = screen
        .split("Query cancelled after ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a row count");
    // The query waits after the last row; Ctrl-C stops it wherever it is.
    assert!(rows <= 6000, "the query stopped after {rows} rows");
    // What was written stays: no row on the screen is cut off by the interrupt.
    let table = screen.split("Query cancelled after ").next().unwrap();
    for line in table.lines() {
        let whole = match line.chars().next() {
            Some('|') => line.ends_with('|') && line.matches('|').count() == 3,
            Some('+') => line.chars().all(|c| matches!(c, '+' | '-' | '=')),
            _ => true,
        };
        assert!(whole, "a row cut short: {line:?}\n{screen}");
    }
    t.ready();
    t.line("SHOW STREAMS;");
    t.expect("| BIG ");
    t.ready();

    // LIMIT ends a push query by itself.
    t.line("SELECT id FROM big EMIT CHANGES LIMIT 3;");
    let screen = t.expect("Limit Reached (3 rows)");
    let table = screen.rsplit("LIMIT 3;").next().unwrap();
    assert_eq!(
        table.matches("\n|").count(),
        4,
        "a header and 3 rows:\n{table}"
    );

    // Ctrl-D leaves.
    t.ready();
    t.send("\x04");
    assert_eq!(t.exit_code(), 0);
    let kept = std::fs::read_to_string(&history).unwrap();
    assert!(kept.contains("SHOW STREAMS;"), "history file:\n{kept}");
}

/// At the terminal a push query keeps waiting: rows appended by another process appear
/// while it runs, and Ctrl-C stops it. A persistent query started in the shell keeps
/// running in the background between entries, and SHOW QUERIES shows its counters.
#[test]
fn a_push_query_waits_and_persistent_queries_run_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log = log.to_str().unwrap();
    let produce = |line: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["produce", "readings", "-", "--data-dir", log])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(line.as_bytes())?;
                c.wait()
            })
            .unwrap();
        assert!(out.success());
    };
    let mut t = Term::command(dir.path(), &["--data-dir", log], &[("KQL_HISTORY", "")]);
    t.expect("Type 'help'");
    t.ready();
    t.line(CREATE);
    t.expect("Stream created");
    t.ready();
    t.line("CREATE STREAM hot AS SELECT sensor, temp FROM sensor_readings WHERE temp > 30;");
    t.expect("Created query with ID CSAS_HOT_");
    t.ready();

    // Another process appends while the shell waits at its prompt: the persistent query
    // reads it in the background (the sink grows with no entry typed).
    produce("{\"key\":\"s-7\",\"value\":{\"temp\":35.5}}\n");
    let sink_has_it = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let out = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(["topics", "--data-dir", log])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split("HOT:")
            .nth(1)
            .is_some_and(|t| t.contains("high watermark 1)"))
    });
    assert!(sink_has_it, "the background query did not write the sink");
    t.line("SHOW QUERIES;");
    let screen = t.expect("Rows Out");
    assert!(screen.contains("Lag"), "{screen}");
    t.ready();

    // The push query shows the row there is, then waits for the next one.
    t.line("SELECT sensor, temp FROM hot EMIT CHANGES;");
    t.expect("| s-7 ");
    produce("{\"key\":\"s-8\",\"value\":{\"temp\":41.0}}\n");
    t.expect("| s-8 ");
    t.send("\x03");
    t.expect("Query cancelled after 2 row(s).");
    t.ready();
    t.send("\x04");
    assert_eq!(t.exit_code(), 0);
}

#[test]
fn history_is_kept_across_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let mut t = Term::start(dir.path(), &history);
    t.ready();
    t.line("SHOW TOPICS;");
    t.expect("(no rows)");
    t.ready();
    t.send("\x04");
    assert_eq!(t.exit_code(), 0);

    let mut t = Term::start(dir.path(), &history);
    t.ready();
    t.send("\x1b[A"); // Up
    t.expect("kql> SHOW TOPICS;");
    t.send("\r");
    t.wait("the listing again", |s| s.matches("(no rows)").count() == 1);
    t.ready();
    t.line("exit");
    assert_eq!(t.exit_code(), 0);
}

#[test]
fn help_lists_statements_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Term::start(dir.path(), &dir.path().join("h"));
    t.ready();
    t.line("help");
    let screen = t.expect("exit, quit, \\q, Ctrl-D");
    assert!(
        screen.contains("CREATE STREAM readings (sensor VARCHAR KEY"),
        "{screen}"
    );
    assert!(
        screen.contains("PRINT 'readings' FROM BEGINNING LIMIT 5;"),
        "{screen}"
    );
    t.ready();
    t.send("\x04");
    assert_eq!(t.exit_code(), 0);
}

#[test]
fn piped_statements_run_line_by_line_without_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("more.ksql"),
        "INSERT INTO sensor_readings (ROWTIME, sensor, temp) VALUES (2000, 's-3', 30.0);\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
        .current_dir(dir.path())
        .env("KQL_HISTORY", dir.path().join("history"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = format!(
        "{CREATE}\n\
         INSERT INTO sensor_readings (ROWTIME, sensor, temp) VALUES (1000, 's-1', 21.5);\n\
         RUN SCRIPT 'more.ksql';\n\
         SELECT sensor,\n  temp\nFROM sensor_readings\nEMIT CHANGES;\n\
         SET 'output'='json';\n\
         SELECT sensor FROM sensor_readings WHERE temp > 25 EMIT CHANGES;\n\
         SELECT nope FROM sensor_readings EMIT CHANGES;\n\
         SHOW STREAMS;\n"
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !stdout.contains('\x1b') && !stderr.contains('\x1b'),
        "{stdout}{stderr}"
    );
    assert!(!stdout.contains("kql>"), "no prompts when piped:\n{stdout}");
    assert_eq!(
        stdout,
        "+--------+------+\n\
         | SENSOR | TEMP |\n\
         +========+======+\n\
         | s-1    | 21.5 |\n\
         | s-3    | 30.0 |\n\
         +--------+------+\n\
         {\"SENSOR\":\"s-3\"}\n\
         {\"Stream Name\":\"SENSOR_READINGS\",\"Kafka Topic\":\"readings\",\"Key Format\":\"KAFKA\",\"Value Format\":\"JSON\"}\n"
    );
    assert!(
        stderr.starts_with("Stream created\nOutput format is now json.\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[KQL0102] Error: column NOPE is not in SENSOR_READINGS"),
        "{stderr}"
    );
    // An error along the way makes the exit code 1, as for `kql run`.
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn output_json_and_tabular_switch_the_format_as_in_ksqldb() {
    let input = format!(
        "OUTPUT;\n\
         {CREATE}\n\
         INSERT INTO sensor_readings (ROWTIME, sensor, temp) VALUES (1000, 's-1', 21.5);\n\
         OUTPUT JSON;\n\
         OUTPUT;\n\
         SELECT sensor, temp FROM sensor_readings EMIT CHANGES;\n\
         output tabular;\n\
         SELECT sensor FROM sensor_readings EMIT CHANGES;\n\
         OUTPUT YAML;\n"
    );
    let out = common::kql_with_input(&[], &input);
    assert_eq!(
        out.stdout,
        "Output format: TABULAR\n\
         Output format: JSON\n\
         {\"SENSOR\":\"s-1\",\"TEMP\":21.5}\n\
         +--------+\n\
         | SENSOR |\n\
         +========+\n\
         | s-1    |\n\
         +--------+\n",
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Output format is now json.\n")
            && out.stderr.contains("Output format is now table.\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("the output format is TABULAR (or 'table') or JSON, not 'YAML'"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, 1);
}

#[test]
fn kql_run_piped_shows_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    let mut script = format!("{CREATE}\n");
    for i in 0..2000 {
        script.push_str(&format!(
            "INSERT INTO sensor_readings (ROWTIME, sensor, temp) VALUES ({i}, 's-{i}', 20.0);\n"
        ));
    }
    script.push_str("SELECT sensor FROM sensor_readings WHERE temp > 25 EMIT CHANGES;\n");
    std::fs::write(dir.path().join("s.ksql"), script).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kql"))
        .current_dir(dir.path())
        .args(["run", "s.ksql"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "(no rows)\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Stream created\n");
}

#[test]
fn every_command_has_help_with_examples() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kql"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let main = help(&["--help"]);
    // Every command listed, from the list itself, so a new one is checked too.
    let commands: Vec<String> = main
        .split("Commands:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    assert!(commands.len() >= 5, "{commands:?}");
    for c in std::iter::once(None).chain(commands.iter().map(Some)) {
        let text = match c {
            None => main.clone(),
            Some(c) => help(&[c, "--help"]),
        };
        assert!(text.contains("Example"), "{c:?} has no example:\n{text}");
        assert!(
            text.contains("  kql "),
            "{c:?} shows no command line:\n{text}"
        );
    }
}

#[test]
fn scripts_run_by_the_shell_may_switch_output_and_nest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("outer.ksql"),
        format!("-- the outer script\n{CREATE}\nRUN SCRIPT 'inner.ksql';\nSET 'output'='json';\nSELECT * FROM sensor_readings EMIT CHANGES;\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("inner.ksql"),
        "INSERT INTO sensor_readings (sensor, temp) VALUES ('s-9', 9.5);\n\n\nSELECT nope FROM sensor_readings EMIT CHANGES;\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
        .current_dir(dir.path())
        .env("KQL_HISTORY", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"RUN SCRIPT 'outer.ksql';\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // inner.ksql has an error, so none of it ran: no row.
    assert_eq!(stdout, "", "{stderr}");
    assert!(stderr.contains("Output format is now json."), "{stderr}");
    // The error points at its own line of inner.ksql.
    assert!(stderr.contains("inner.ksql:4:8"), "{stderr}");
    assert!(stderr.contains(" 4 │ SELECT nope FROM"), "{stderr}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_shell_over_a_data_dir_finds_its_streams_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let shell = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kql"))
            .arg("--data-dir")
            .arg(&data)
            .env("KQL_HISTORY", "")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    shell(&format!(
        "{CREATE}\nINSERT INTO sensor_readings (sensor, temp) VALUES ('s-1', 21.5);\n"
    ));
    let again = shell("SELECT * FROM sensor_readings EMIT CHANGES;\n");
    assert!(again.contains("| s-1    | 21.5 |"), "{again}");
}

#[test]
fn kql_run_on_a_terminal_shows_progress_then_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut script = format!("{CREATE}\n");
    for i in 0..4000 {
        script.push_str(&format!(
            "INSERT INTO sensor_readings (ROWTIME, sensor, temp) VALUES ({i}, 'sensor number {i} of a long run', 20.0);\n"
        ));
    }
    script.push_str("SELECT * FROM sensor_readings EMIT CHANGES;\n");
    std::fs::write(dir.path().join("s.ksql"), script).unwrap();
    let mut t = Term::command(
        dir.path(),
        &["run", "s.ksql", "--format", "json"],
        &[("KQL_PROGRESS_AFTER_MS", "0")],
    );
    // Once rows come, not reading for a moment holds the query up (the terminal's buffer
    // fills), as a slow terminal would: long enough for the bar to be drawn.
    t.expect(r#"{"SENSOR":"#);
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(t.exit_code(), 0);
    let transcript = String::from_utf8_lossy(&t.transcript);
    assert!(
        transcript.contains("records read"),
        "no progress bar in:\n{}",
        &transcript[transcript.len().saturating_sub(2000)..]
    );
    let screen = t.screen();
    assert!(
        !screen.contains("records read"),
        "the bar was not cleared:\n{screen}"
    );
    assert!(
        screen.ends_with(r#"{"SENSOR":"sensor number 3999 of a long run","TEMP":20.0}"#),
        "{screen}"
    );
}

/// A persistent query that fails in the shell stops, with the reason, instead of running
/// on past the batch that failed (which lost that batch's rows and counted them as written).
#[test]
fn a_persistent_query_that_fails_in_the_shell_stops() {
    let dir = tempfile::tempdir().unwrap();
    let input = "\
CREATE STREAM words (word VARCHAR, width INT) WITH (kafka_topic='words', partitions=1, value_format='JSON');
CREATE STREAM padded AS SELECT word, LPAD(word, width, 'x') AS wide FROM words;
INSERT INTO words (word, width) VALUES ('a', 3);
INSERT INTO words (word, width) VALUES ('b', 9000000);
SHOW QUERIES;
INSERT INTO words (word, width) VALUES ('c', 2);
SHOW QUERIES;
SELECT word FROM padded EMIT CHANGES;
";
    let out = Command::new(env!("CARGO_BIN_EXE_kql"))
        .current_dir(dir.path())
        .env("KQL_HISTORY", dir.path().join("history"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(input.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stderr.matches("query CSAS_PADDED_1 failed").count(),
        1,
        "reported once: {stderr}"
    );
    assert!(
        stderr.contains("query CSAS_PADDED_1 was stopped"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("CSAS_PADDED_1"),
        "not listed as running: {stdout}"
    );
    // Nothing ran past the failed batch: no row of it, and no later row either.
    assert!(!stdout.contains("| a "), "{stdout}");
    assert!(!stdout.contains("| c "), "{stdout}");
}
