//! The syntax corpus: every `tests/syntax/ok/*.ksql` parses and its AST is snapshotted;
//! every `tests/syntax/err/*.ksql` fails and its rendered report is snapshotted.

use std::path::Path;

use kql::diagnostic::render;
use kql::sources::Sources;
use kql::syntax::parse;

fn corpus(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/syntax")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ksql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn ok_corpus_parses_to_the_snapshotted_ast() {
    for (name, text) in corpus("ok") {
        let mut sources = Sources::default();
        let id = sources.add(format!("{name}.ksql"), text.clone());
        let (statements, errors) = parse(id, &text);
        assert!(
            errors.is_empty(),
            "{name}.ksql should parse:\n{}",
            render(&errors, &sources, false)
        );
        insta::with_settings!({snapshot_path => "syntax/ok", prepend_module_to_snapshot => false}, {
            insta::assert_yaml_snapshot!(name, statements);
        });
    }
}

#[test]
fn err_corpus_reports_every_error() {
    for (name, text) in corpus("err") {
        let mut sources = Sources::default();
        let id = sources.add(format!("{name}.ksql"), text.clone());
        let (_, errors) = parse(id, &text);
        assert!(!errors.is_empty(), "{name}.ksql should not parse");
        let report = render(&errors, &sources, false);
        insta::with_settings!({snapshot_path => "syntax/err", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name, report);
        });
    }
}
