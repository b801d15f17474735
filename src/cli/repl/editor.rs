//! The line editor (reedline) and what it is told about kql: the prompt, when a statement
//! is complete, how to colour it, and what Tab offers.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use nu_ansi_term::{Color, Style};
use reedline::{
    default_emacs_keybindings, ColumnarMenu, Completer, CompletionResult, Emacs, FileBackedHistory,
    Highlighter, KeyCode, KeyModifiers, MenuBuilder, Prompt, PromptEditMode, PromptHistorySearch,
    PromptHistorySearchStatus, Reedline, ReedlineEvent, ReedlineMenu, Span, StyledText, Suggestion,
    ValidationResult, Validator,
};

use super::lexer::{closed_string, is_keyword, is_word_byte, keywords, tokens, Kind};
use super::{is_complete, Names};

/// How many entries the history file keeps.
const HISTORY_ENTRIES: usize = 5_000;

pub fn build(names: Arc<Mutex<Names>>, history: Option<PathBuf>, color: bool) -> Reedline {
    let mut keybindings = default_emacs_keybindings();
    keybindings.add_binding(
        KeyModifiers::NONE,
        KeyCode::Tab,
        ReedlineEvent::UntilFound(vec![
            ReedlineEvent::Menu("completion_menu".to_string()),
            ReedlineEvent::MenuNext,
        ]),
    );
    keybindings.add_binding(
        KeyModifiers::SHIFT,
        KeyCode::BackTab,
        ReedlineEvent::MenuPrevious,
    );
    // Alt-Enter: a new line even where Enter would run the statement.
    keybindings.add_binding(
        KeyModifiers::ALT,
        KeyCode::Enter,
        ReedlineEvent::Edit(vec![reedline::EditCommand::InsertNewline]),
    );
    let menu = ColumnarMenu::default()
        .with_name("completion_menu")
        .with_marker("> ");
    let mut editor = Reedline::create()
        .with_edit_mode(Box::new(Emacs::new(keybindings)))
        .with_validator(Box::new(StatementValidator))
        .with_highlighter(Box::new(KqlHighlighter))
        .with_completer(Box::new(KqlCompleter { names }))
        .with_menu(ReedlineMenu::EngineCompleter(Box::new(menu)))
        .with_quick_completions(true)
        .with_partial_completions(true)
        .with_ansi_colors(color);
    if let Some(path) = history {
        match FileBackedHistory::with_file(HISTORY_ENTRIES, path.clone()) {
            Ok(h) => editor = editor.with_history(Box::new(h)),
            Err(e) => eprintln!(
                "warning: history is not kept: cannot use {}: {e}",
                path.display()
            ),
        }
    }
    editor
}

pub struct KqlPrompt;

impl Prompt for KqlPrompt {
    fn render_prompt_left(&self) -> Cow<'_, str> {
        Cow::Borrowed("kql")
    }
    fn render_prompt_right(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn render_prompt_indicator(&self, _: PromptEditMode) -> Cow<'_, str> {
        Cow::Borrowed("> ")
    }
    fn render_prompt_multiline_indicator(&self) -> Cow<'_, str> {
        Cow::Borrowed("   > ")
    }
    fn render_prompt_history_search_indicator(&self, search: PromptHistorySearch) -> Cow<'_, str> {
        let failing = match search.status {
            PromptHistorySearchStatus::Passing => "",
            PromptHistorySearchStatus::Failing => "failing ",
        };
        Cow::Owned(format!("({failing}search: {}) ", search.term))
    }
    fn get_prompt_color(&self) -> reedline::Color {
        reedline::Color::Green
    }
    fn get_indicator_color(&self) -> reedline::Color {
        reedline::Color::Green
    }
    fn get_prompt_multiline_color(&self) -> nu_ansi_term::Color {
        nu_ansi_term::Color::DarkGray
    }
}

/// Enter runs the entry once it ends with `;` outside strings and comments (or is a shell
/// command such as `help`); otherwise it starts a new line of the same statement.
struct StatementValidator;

impl Validator for StatementValidator {
    fn validate(&self, line: &str) -> ValidationResult {
        if is_complete(line) {
            ValidationResult::Complete
        } else {
            ValidationResult::Incomplete
        }
    }
}

pub struct KqlHighlighter;

pub fn style_of(kind: Kind, text: &str) -> Style {
    match kind {
        Kind::Word if is_keyword(text) => Style::new().fg(Color::Blue).bold(),
        Kind::Str => Style::new().fg(Color::Green),
        Kind::Number => Style::new().fg(Color::Purple),
        Kind::Comment => Style::new().fg(Color::DarkGray).italic(),
        Kind::Quoted => Style::new().fg(Color::Cyan),
        _ => Style::new(),
    }
}

impl Highlighter for KqlHighlighter {
    fn highlight(&self, line: &str, _cursor: usize) -> StyledText {
        let mut styled = StyledText::new();
        for t in tokens(line) {
            let text = &line[t.start..t.end];
            styled.push((style_of(t.kind, text), text.to_string()));
        }
        styled
    }
}

struct KqlCompleter {
    names: Arc<Mutex<Names>>,
}

impl Completer for KqlCompleter {
    fn complete(&mut self, line: &str, pos: usize) -> CompletionResult {
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        CompletionResult::fresh(suggestions(&names, line, pos))
    }
}

/// What Tab offers at `pos`: topic names inside a string, stream and table names after
/// FROM/JOIN/INTO/DESCRIBE/DROP, otherwise keywords, the columns of the streams and tables
/// the statement mentions, names and functions, each matching the word typed so far.
pub fn suggestions(names: &Names, line: &str, pos: usize) -> Vec<Suggestion> {
    let pos = pos.min(line.len());
    let before = &line[..pos];
    // The statement being typed starts after the last top-level `;`.
    let stmt_start = crate::syntax::split::split_statements(before)
        .last()
        .map_or(0, |&(s, e)| {
            if before[..e].trim_end().ends_with(';') {
                e
            } else {
                s
            }
        });
    let stmt = &before[stmt_start..];
    let toks = tokens(stmt);
    // Inside a string: topic names (PRINT 'x, kafka_topic='x, DESCRIBE TOPIC 'x).
    if let Some(last) = toks.last() {
        if last.kind == Kind::Str && last.end == stmt.len() && !closed_string(&stmt[last.start..]) {
            let typed = &stmt[last.start + 1..];
            let start = stmt_start + last.start + 1;
            // SET 'x / UNSET 'x: property names; elsewhere topics.
            let first = toks
                .iter()
                .find(|t| t.kind == Kind::Word)
                .map(|t| stmt[t.start..t.end].to_ascii_uppercase());
            if matches!(first.as_deref(), Some("SET" | "UNSET")) && first_string(&toks, last) {
                let names = crate::plan::session_properties::SESSION_PROPERTIES
                    .iter()
                    .map(|p| p.0);
                return matching(names.chain(["output"]), typed)
                    .map(|p| suggestion(p, start, pos, "property", false))
                    .collect();
            }
            return matching(names.topics.iter().map(String::as_str), typed)
                .map(|t| suggestion(t, start, pos, "topic", false))
                .collect();
        }
        if matches!(last.kind, Kind::Comment | Kind::Quoted | Kind::Number)
            && last.end == stmt.len()
        {
            return Vec::new();
        }
    }
    let word_start = before
        .bytes()
        .rposition(|b| !is_word_byte(b))
        .map_or(0, |i| i + 1)
        .max(stmt_start);
    let typed = &before[word_start..];
    let words: Vec<String> = toks
        .iter()
        .filter(|t| t.kind == Kind::Word && stmt_start + t.end <= word_start)
        .map(|t| stmt[t.start..t.end].to_ascii_uppercase())
        .collect();
    // The token before the word being typed decides what fits; a word only if it is one.
    let prev_token = toks.iter().rev().find(|t| {
        stmt_start + t.end <= word_start && !matches!(t.kind, Kind::Space | Kind::Comment)
    });
    let prev = match prev_token {
        Some(t) if t.kind == Kind::Word => words.last().map(String::as_str).unwrap_or(""),
        _ => "",
    };
    let prev2 = words.len().checked_sub(2).map_or("", |i| words[i].as_str());
    let lower = !typed.is_empty() && typed.bytes().all(|b| !b.is_ascii_uppercase());
    let keyword = |k: &str| {
        let shown = if lower {
            k.to_ascii_lowercase()
        } else {
            k.to_string()
        };
        suggestion(&shown, word_start, pos, "keyword", true)
    };
    let source_names = || names.sources.iter().map(|(n, _)| n.as_str());
    let mut out = Vec::new();
    match prev {
        "FROM" | "JOIN" | "INTO" | "EXPLAIN" => {
            for n in matching(source_names(), typed) {
                out.push(suggestion(&quote(n), word_start, pos, "source", true));
            }
        }
        "STREAM" | "TABLE" if prev2 == "DROP" => {
            for n in matching(source_names(), typed) {
                out.push(suggestion(&quote(n), word_start, pos, "source", true));
            }
        }
        "DESCRIBE" => {
            for n in matching(source_names(), typed) {
                out.push(suggestion(&quote(n), word_start, pos, "source", true));
            }
            for k in matching(["TOPIC", "EXTENDED", "CONSUMER"].into_iter(), typed) {
                out.push(keyword(k));
            }
        }
        "TOPIC" | "PRINT" => {
            // As a string: a bare name would be read upper-case.
            for t in matching(names.topics.iter().map(String::as_str), typed) {
                let quoted = format!("'{}'", t.replace('\'', "''"));
                out.push(suggestion(&quoted, word_start, pos, "topic", true));
            }
        }
        _ => {
            if typed.is_empty() {
                return Vec::new();
            }
            // What the grammar accepts at the cursor: only those keywords, and names only
            // where a name or an expression may come (None: the statement is wrong before
            // the cursor, so everything is offered).
            let expected = crate::syntax::expected::expected_at_end(&line[stmt_start..word_start]);
            let names_fit = expected.as_ref().is_none_or(|e| e.names);
            let keyword_fits = |k: &str| {
                expected
                    .as_ref()
                    .is_none_or(|e| e.keywords.iter().any(|x| x == k))
            };
            // Columns of the sources this statement names, else of every source.
            let mentioned: Vec<&(String, Vec<String>)> = names
                .sources
                .iter()
                .filter(|(n, _)| words.iter().any(|w| w.eq_ignore_ascii_case(n)))
                .collect();
            let pool: Vec<&(String, Vec<String>)> = if mentioned.is_empty() {
                names.sources.iter().collect()
            } else {
                mentioned
            };
            let mut columns: Vec<&str> = pool
                .iter()
                .flat_map(|(_, cols)| cols.iter().map(String::as_str))
                .collect();
            columns.sort_unstable();
            columns.dedup();
            for c in matching(columns.into_iter(), typed).filter(|_| names_fit) {
                let note = names.column_notes.get(c).map_or("column", String::as_str);
                out.push(suggestion(&quote(c), word_start, pos, note, true));
            }
            // Inside WITH (...): the properties of CREATE statements.
            if words.iter().any(|w| w == "WITH") {
                for p in matching(crate::plan::properties::KNOWN.iter().copied(), typed) {
                    out.push(suggestion(p, word_start, pos, "property", false));
                }
            }
            for n in matching(source_names(), typed).filter(|_| names_fit) {
                out.push(suggestion(&quote(n), word_start, pos, "source", true));
            }
            for k in
                matching(keywords().iter().map(String::as_str), typed).filter(|k| keyword_fits(k))
            {
                out.push(keyword(k));
            }
            for f in
                matching(names.functions.iter().map(String::as_str), typed).filter(|_| names_fit)
            {
                let shown = if lower {
                    f.to_ascii_lowercase()
                } else {
                    f.to_string()
                };
                out.push(suggestion(&shown, word_start, pos, "function", false));
            }
        }
    }
    out
}

/// Whether `tok` is the first string of the statement (the property name of SET/UNSET).
fn first_string(toks: &[super::lexer::Token], tok: &super::lexer::Token) -> bool {
    toks.iter().find(|t| t.kind == Kind::Str) == Some(tok)
}

fn matching<'a>(
    candidates: impl Iterator<Item = &'a str>,
    typed: &'a str,
) -> impl Iterator<Item = &'a str> {
    let mut all: Vec<&str> = candidates
        .filter(move |c| {
            c.len() >= typed.len()
                && c.as_bytes()[..typed.len()].eq_ignore_ascii_case(typed.as_bytes())
        })
        .collect();
    all.sort_unstable();
    all.dedup();
    all.into_iter()
}

/// A name as it must be typed: bare when it reads back the same (upper-case word), else
/// back-quoted.
fn quote(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !is_keyword(name);
    if plain {
        name.to_string()
    } else {
        format!("`{name}`")
    }
}

fn suggestion(value: &str, start: usize, end: usize, what: &str, space: bool) -> Suggestion {
    Suggestion {
        value: value.to_string(),
        description: Some(what.to_string()),
        span: Span::new(start, end),
        append_whitespace: space,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            sources: vec![
                (
                    "READINGS".into(),
                    vec!["SENSOR".into(), "LOCATION".into(), "TEMP".into()],
                ),
                ("ALERTS".into(), vec!["SENSOR".into(), "LEVEL".into()]),
            ],
            topics: vec!["readings".into(), "alerts".into()],
            functions: vec!["TIMESTAMPTOSTRING".into(), "TRIM".into()],
            column_notes: [("TEMP".to_string(), "DOUBLE in READINGS".to_string())].into(),
        }
    }

    fn values(line: &str) -> Vec<String> {
        suggestions(&names(), line, line.len())
            .into_iter()
            .map(|s| s.value)
            .collect()
    }

    #[test]
    fn the_menu_says_what_a_column_is() {
        let s = suggestions(&names(), "SELECT te", 9);
        assert_eq!(s[0].value, "TEMP");
        assert_eq!(s[0].description.as_deref(), Some("DOUBLE in READINGS"));
    }

    #[test]
    fn names_after_from() {
        assert_eq!(values("SELECT * FROM rea"), vec!["READINGS"]);
        assert_eq!(values("select * from "), vec!["ALERTS", "READINGS"]);
    }

    #[test]
    fn columns_of_the_mentioned_source_then_keywords() {
        // Only what the grammar accepts at the cursor: no TERMINATE, LEFT or PARTITION
        // where an expression must come.
        assert_eq!(values("SELECT * FROM readings WHERE te"), vec!["TEMP"]);
        assert_eq!(values("SELECT le"), vec!["LEVEL"]);
        assert_eq!(
            values("SELECT * FROM readings WHERE le"),
            Vec::<String>::new()
        );
        assert_eq!(
            values("SELECT * FROM readings WHERE part"),
            Vec::<String>::new()
        );
        assert!(values("sel").contains(&"select".to_string()));
    }

    #[test]
    fn keywords_only_where_the_grammar_accepts_them() {
        assert_eq!(
            values("SELECT * FROM readings WHERE temp > 30 part"),
            vec!["partition"]
        );
        assert_eq!(values("SELECT * FROM readings le"), vec!["left"]);
        assert_eq!(
            values("SELECT * FROM readings WHERE temp > 30 a"),
            vec!["and"]
        );
        assert_eq!(
            values("SELECT * FROM readings WHERE n"),
            vec!["not", "null"]
        );
        assert_eq!(
            values("SELECT sensor, TIMESTAMPTO"),
            vec!["TIMESTAMPTOSTRING"]
        );
    }

    #[test]
    fn topics_in_strings_and_after_print() {
        assert_eq!(values("PRINT 'al"), vec!["alerts"]);
        assert_eq!(values("PRINT al"), vec!["'alerts'"]);
        assert!(values("PRINT 'alerts' ").is_empty());
    }

    #[test]
    fn properties_in_with_and_set() {
        assert_eq!(
            values("CREATE STREAM x (a INT) WITH (kafka"),
            vec!["kafka_topic"]
        );
        assert_eq!(values("SET 'out"), vec!["output"]);
        assert_eq!(values("SET 'auto.offset.reset'='ear"), Vec::<String>::new());
    }

    #[test]
    fn only_the_current_statement_counts() {
        assert_eq!(
            values("SELECT * FROM alerts; SELECT * FROM readings WHERE te"),
            vec!["TEMP"]
        );
    }
}

#[cfg(test)]
mod highlight_tests {
    use super::*;

    #[test]
    fn keywords_strings_numbers_and_comments_are_styled() {
        let line = "select name, 'it''s' FROM s WHERE x > 2.5 -- note";
        let styled = KqlHighlighter.highlight(line, 0);
        let style = |text: &str| {
            styled
                .buffer
                .iter()
                .find(|(_, t)| t == text)
                .map(|(s, _)| *s)
                .unwrap_or_else(|| panic!("{text} is not a token"))
        };
        assert_eq!(style("select"), style_of(Kind::Word, "SELECT"));
        assert_eq!(style("FROM").foreground, Some(Color::Blue));
        assert_eq!(style("name"), Style::new());
        assert_eq!(style("'it''s'").foreground, Some(Color::Green));
        assert_eq!(style("2.5").foreground, Some(Color::Purple));
        assert_eq!(style("-- note").foreground, Some(Color::DarkGray));
        // Nothing is lost or added.
        let joined: String = styled.buffer.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(joined, line);
    }
}
