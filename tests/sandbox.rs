//! What a `.ksql` file can read and write: RUN SCRIPT never quotes a file that is not a
//! script, and with `--sandbox` connector files and scripts stay in the file's folder.

mod common;

use std::path::Path;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn run_script_of_a_file_that_is_not_a_script_does_not_quote_it() {
    let d = tempfile::tempdir().unwrap();
    write(
        &d.path().join("secret"),
        "root:TOP-SECRET-HASH:19000:0:99999:7:::\n",
    );
    let main = d.path().join("main.ksql");
    write(&main, "RUN SCRIPT 'secret';\nRUN SCRIPT '/etc/shadow';\n");
    let out = common::kql(&["check", main.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("RUN SCRIPT runs .ksql or .sql files"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("TOP-SECRET"), "{}", out.stderr);
    assert!(!out.stderr.contains("root:"), "{}", out.stderr);
}

#[test]
fn sandbox_confines_connectors_and_scripts_to_the_folder_of_the_file() {
    let d = tempfile::tempdir().unwrap();
    let folder = d.path().join("app");
    std::fs::create_dir(&folder).unwrap();
    write(&d.path().join("outside.jsonl"), "{\"v\":1}\n");
    write(&d.path().join("outside.ksql"), "SHOW TOPICS;\n");
    write(&folder.join("inside.jsonl"), "{\"v\":1}\n");
    write(&folder.join("inside.ksql"), "SHOW TOPICS;\n");
    let source = |file: &str| {
        format!(
            "CREATE SOURCE CONNECTOR c WITH ('connector.class'='FileStreamSource', \
             'file'='{file}', 'topic'='t');\n"
        )
    };
    let inside = folder.join("ok.ksql");
    write(
        &inside,
        &(source("inside.jsonl") + "RUN SCRIPT 'inside.ksql';\n"),
    );
    let out = common::kql(&["run", "--sandbox", inside.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Without --sandbox, paths are the file's business.
    let outside = folder.join("escape.ksql");
    write(&outside, &source("../outside.jsonl"));
    let out = common::kql(&["run", outside.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (name, text) in [
        ("connector", source("../outside.jsonl")),
        (
            "absolute",
            source(d.path().join("outside.jsonl").to_str().unwrap()),
        ),
        ("script", "RUN SCRIPT '../outside.ksql';\n".to_string()),
    ] {
        write(&outside, &text);
        let out = common::kql(&["run", "--sandbox", outside.to_str().unwrap()]);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains("outside.") && out.stderr.contains("the folder --sandbox allows"),
            "{name}: {}",
            out.stderr
        );
    }
    // `kql check` reads scripts to check them: confined too.
    write(&outside, "RUN SCRIPT '../outside.ksql';\n");
    let out = common::kql(&["check", "--sandbox", outside.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the folder --sandbox allows"),
        "{}",
        out.stderr
    );
}

/// The shell's `--sandbox DIR` confines what its statements read, as `kql run --sandbox`
/// does for a file.
#[test]
fn the_shell_with_sandbox_confines_scripts_to_its_folder() {
    let d = tempfile::tempdir().unwrap();
    let folder = d.path().join("app");
    std::fs::create_dir(&folder).unwrap();
    write(&d.path().join("outside.ksql"), "SHOW TOPICS;\n");
    write(&folder.join("inside.ksql"), "SHOW TOPICS;\n");
    let sandbox = folder.to_str().unwrap();
    let inside = format!("RUN SCRIPT '{}';\n", folder.join("inside.ksql").display());
    let out = common::kql_with_input(&["--sandbox", sandbox], &inside);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let outside = format!(
        "RUN SCRIPT '{}';\n",
        d.path().join("outside.ksql").display()
    );
    let out = common::kql_with_input(&["--sandbox", sandbox], &outside);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("outside.ksql") && out.stderr.contains("the folder --sandbox allows"),
        "{}",
        out.stderr
    );
    // Without --sandbox the shell's paths are the user's business.
    let out = common::kql_with_input(&[], &outside);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The shell reads its scripts itself, and like RUN SCRIPT in a file it never quotes a
    // file that is not a script.
    write(&folder.join("secret"), "root:TOP-SECRET-HASH:19000\n");
    let secret = format!("RUN SCRIPT '{}';\n", folder.join("secret").display());
    let out = common::kql_with_input(&[], &secret);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("RUN SCRIPT runs .ksql or .sql files")
            && !out.stderr.contains("TOP-SECRET"),
        "{}",
        out.stderr
    );
    // A sandbox folder that does not exist is refused before anything runs.
    let missing = d.path().join("nosuch");
    let out = common::kql_with_input(&["--sandbox", missing.to_str().unwrap()], "SHOW TOPICS;\n");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("as the sandbox"), "{}", out.stderr);
}

/// `kql serve FILE` is reachable by others: its file is confined without being asked, and
/// `--no-sandbox` lifts that.
#[test]
fn serve_confines_its_file_by_default() {
    let d = tempfile::tempdir().unwrap();
    let folder = d.path().join("app");
    std::fs::create_dir(&folder).unwrap();
    write(&d.path().join("outside.jsonl"), "{\"v\":1}\n");
    let file = folder.join("serve.ksql");
    write(
        &file,
        "CREATE SOURCE CONNECTOR c WITH ('connector.class'='FileStreamSource', \
         'file'='../outside.jsonl', 'topic'='t');\n",
    );
    let path = file.to_str().unwrap();
    let out = common::kql(&["serve", "--listen", "127.0.0.1:0", path]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("outside.jsonl") && out.stderr.contains("kql serve --no-sandbox"),
        "{}",
        out.stderr
    );
    // With --no-sandbox the file runs and the server becomes ready; Ctrl-C stops it.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kql"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-sandbox", path])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let ready = std::io::BufRead::lines(std::io::BufReader::new(err))
        .map_while(Result::ok)
        .inspect(|line| assert!(!line.contains("KQL0602"), "{line}"))
        .any(|line| line.starts_with("kql serve: ready"));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(ready, "kql serve --no-sandbox did not become ready");
    assert_eq!(status.code(), Some(0));
}
