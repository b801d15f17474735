//! The documentation as a user reads it: every WITH property the compiler accepts has a
//! row in docs/language.md, every file a page names is in the repository, and every
//! example in queries/ is listed in the README's table.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap()
}

/// README.md, ARCHITECTURE.md and every page of docs/.
fn pages() -> Vec<(String, String)> {
    let mut names = vec!["README.md".to_string(), "ARCHITECTURE.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|n| {
            let text = read(&n);
            (n, text)
        })
        .collect()
}

#[test]
fn every_with_property_has_a_row_in_the_language_reference() {
    let language = read("docs/language.md");
    let missing: Vec<&str> = kql::plan::properties::KNOWN
        .iter()
        .filter(|p| !language.contains(&format!("| `{p}` |")))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "docs/language.md's WITH table lacks {missing:?}"
    );
}

/// The top-level folders of the repository: a path in the docs starting with one of them
/// names a file of the repository.
const FOLDERS: &[&str] = &[
    "src/", "docs/", "tests/", "benches/", "scripts/", "queries/", "runtime/", "serve/",
    "grammar/", ".ci/",
];

/// The repository paths a page names: in backquotes, or as the target of a link.
fn named_paths(page: &str, text: &str) -> Vec<String> {
    let dir = Path::new(page).parent().unwrap();
    let mut paths = Vec::new();
    for (i, piece) in text.split('`').enumerate() {
        if i % 2 == 1 {
            for word in piece.split_whitespace() {
                if FOLDERS.iter().any(|f| word.starts_with(f)) {
                    paths.push(word.to_string());
                }
            }
        }
    }
    for link in text.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        let target = target.split('#').next().unwrap();
        if target.is_empty() || target.contains("://") {
            continue;
        }
        paths.push(dir.join(target).to_string_lossy().into_owned());
    }
    paths
        .into_iter()
        .map(|p| {
            let p = p.trim_end_matches(|c: char| ",.;:)".contains(c));
            // `src/exec/persistent.rs:123`: a file and a line.
            match p.rsplit_once(':') {
                Some((file, line)) if line.parse::<u32>().is_ok() => file.to_string(),
                _ => p.to_string(),
            }
        })
        // A pattern (`queries/*.ksql`, `src/exec/<area>`) names no single file.
        .filter(|p| !p.contains(['*', '<', '{']))
        .collect()
}

#[test]
fn every_file_the_docs_name_is_in_the_repository() {
    let mut missing = Vec::new();
    let mut named = 0;
    for (page, text) in pages() {
        // A machine's own folders are nowhere in a clone.
        for machine in ["/work/", "/root/", "/Users/"] {
            if text.contains(machine) {
                missing.push(format!("{page}: a path under {machine}"));
            }
        }
        for path in named_paths(&page, &text) {
            named += 1;
            if !Path::new(ROOT).join(&path).exists() {
                missing.push(format!("{page}: {path}"));
            }
        }
    }
    assert!(named > 50, "only {named} paths found: the search is broken");
    assert!(
        missing.is_empty(),
        "named but not in the repository:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_example_is_in_the_readme_table() {
    let readme = read("README.md");
    let mut examples: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("queries"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ksql"))
        .collect();
    examples.sort();
    let unlisted: Vec<&String> = examples
        .iter()
        .filter(|n| !readme.contains(&format!("| `queries/{n}` |")))
        .collect();
    assert!(
        unlisted.is_empty(),
        "README's example table lacks {unlisted:?}"
    );
}
