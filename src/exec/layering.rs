//! ARCHITECTURE.md's invariants about the executor's layering, checked over its source:
//! the embedded log is named only by the module that adapts it, and the operators are
//! synchronous (no async code anywhere in `src/exec`).

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/exec is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file of src/exec but this one (which spells the names it looks for), with
/// its path relative to src/exec and its text.
fn exec_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/exec");
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(
        files.len() > 20,
        "src/exec was not found at {}",
        root.display()
    );
    files
        .into_iter()
        .filter(|p| !p.ends_with("layering.rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a source file is text");
            let rel = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, text)
        })
        .collect()
}

/// Does `word` occur in `text` as a whole identifier?
fn names(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[test]
fn only_the_embedded_adapter_names_cluster_and_only_log_imports_the_runtime() {
    for (file, text) in exec_files() {
        if file != "log/embedded.rs" {
            assert!(!names(&text, "Cluster"), "src/exec/{file} names Cluster");
        }
        if !file.starts_with("log/") {
            assert!(
                !names(&text, "kql_runtime"),
                "src/exec/{file} imports kql_runtime"
            );
        }
    }
}

#[test]
fn the_executor_has_no_async_code() {
    for (file, text) in exec_files() {
        assert!(
            !text.contains("async fn") && !text.contains(".await"),
            "src/exec/{file} has async code; operators and the log interface are synchronous"
        );
    }
}
