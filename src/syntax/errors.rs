//! Pest's errors turned into diagnostics a person can act on: what was expected, in words,
//! what was found, and a hint for the usual mistakes.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::build::Ctx;
use super::span::Span;
use super::Rule;
use crate::diagnostic::{Code, Diagnostic};

pub(crate) fn syntax_error(ctx: &Ctx, text: &str, e: Error<Rule>) -> Diagnostic {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut expected = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => describe_expected(positives),
        ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    let kinds = ["TUMBLING", "HOPPING", "SESSION"];
    if !expected.is_empty() && expected.iter().all(|e| kinds.contains(&e.as_str())) {
        // the kinds one by one (after a window's name): said as the kind is said
        expected = vec![describe_rule(Rule::window_kind)];
    }
    let pos = misspelt_window_kind(text, pos, &expected).unwrap_or(pos);
    let found = token_at(text, pos);
    // The offending token, or one character (none at the very end of the text).
    let width = if found.is_empty() {
        text[pos.min(text.len())..]
            .chars()
            .next()
            .map_or(0, char::len_utf8)
    } else {
        found.len()
    };
    let span = Span::new(ctx.source, ctx.offset + pos, ctx.offset + pos + width);
    if let Some(d) = missing_semicolon(ctx, text, pos, found, &expected) {
        return d;
    }
    let found_text = if found.is_empty() {
        "the end of the statement".to_string()
    } else {
        format!("'{found}'")
    };
    let message = if expected.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("expected {}, found {found_text}", join_or(&expected))
    };
    let mut d = Diagnostic::new(Code::SyntaxError, message).label(span, label_for(&expected));
    if let Some(h) = hint(text, pos, found, &expected) {
        d = d.help(h);
    }
    d
}

/// `WINDOW TUMBLNG (SIZE ...)`: the parser took the word after WINDOW for the window's
/// name (`WINDOW w TUMBLING (...)`) and then missed the kind after it; the word is where
/// the kind went wrong, so the error goes there (with the word in reach of "did you
/// mean"). Its position, when the error is one.
fn misspelt_window_kind(text: &str, pos: usize, expected: &[String]) -> Option<usize> {
    let at_word = text[pos.min(text.len())..].starts_with(|c: char| c.is_alphanumeric());
    if at_word || expected != [describe_rule(Rule::window_kind)] {
        return None;
    }
    let before = text[..pos].trim_end();
    let word_at = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let word = &before[word_at..];
    let keyword = before[..word_at].trim_end();
    let after_window = keyword.len() >= 6
        && keyword[keyword.len() - 6..].eq_ignore_ascii_case("WINDOW")
        && !keyword[..keyword.len() - 6].ends_with(|c: char| c.is_alphanumeric() || c == '_');
    (after_window && !word.is_empty()).then_some(word_at)
}

/// A statement that could have ended before `found`, which starts a statement: the `;`
/// between them is missing. Reported at the end of the statement that lacks it, where the
/// `;` goes, with the next statement labelled.
fn missing_semicolon(
    ctx: &Ctx,
    text: &str,
    pos: usize,
    found: &str,
    expected: &[String],
) -> Option<Diagnostic> {
    let could_end = expected.iter().any(|e| e == "the end of the statement");
    let upper = found.to_ascii_uppercase();
    if !could_end || !STATEMENTS.contains(&upper.as_str()) {
        return None;
    }
    let end = text[..pos].trim_end().len();
    let last = text[..end].chars().next_back().map_or(0, char::len_utf8);
    let at = |s: usize, e: usize| Span::new(ctx.source, ctx.offset + s, ctx.offset + e);
    Some(
        Diagnostic::new(
            Code::SyntaxError,
            format!("missing ';' at the end of this statement, before {upper}"),
        )
        .label(at(end - last, end), "add ';' here")
        .label(at(pos, pos + found.len()), "the next statement starts here")
        .help("every statement ends with ';'"),
    )
}

/// Words that begin a statement.
const STATEMENTS: &[&str] = &[
    "SELECT",
    "CREATE",
    "INSERT",
    "DROP",
    "SHOW",
    "LIST",
    "DESCRIBE",
    "EXPLAIN",
    "PRINT",
    "SET",
    "UNSET",
    "TERMINATE",
    "RUN",
    "STOP",
    "START",
];

/// The word or symbol at a byte position (empty at the end).
fn token_at(text: &str, pos: usize) -> &str {
    let rest = &text[pos.min(text.len())..];
    let rest = rest.trim_end_matches(';');
    let end = rest
        .char_indices()
        .find(|&(i, c)| {
            if i == 0 {
                false
            } else {
                let first = rest.chars().next().unwrap();
                let word = first.is_alphanumeric() || first == '_';
                c.is_whitespace() || (word != (c.is_alphanumeric() || c == '_'))
            }
        })
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].trim()
}

fn describe_expected(rules: &[Rule]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rules {
        let s = describe_rule(*r);
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn describe_rule(r: Rule) -> String {
    let name = format!("{r:?}");
    match r {
        Rule::integer
        | Rule::decimal
        | Rule::string
        | Rule::boolean
        | Rule::null_lit
        | Rule::function_call
        | Rule::case_expr
        | Rule::cast_expr
        | Rule::array_ctor
        | Rule::map_ctor
        | Rule::struct_ctor
        | Rule::neg
        | Rule::not_op
        | Rule::ARRAY
        | Rule::MAP
        | Rule::STRUCT
        | Rule::CASE
        | Rule::CAST
        | Rule::NOT
        | Rule::NULL
        | Rule::TRUE
        | Rule::FALSE => "an expression".into(),
        Rule::column_def => "a column definition such as `name VARCHAR`".into(),
        Rule::plain_identifier | Rule::quoted_identifier | Rule::column_ref => "a name".into(),
        Rule::expr | Rule::arith => "an expression".into(),
        Rule::data_type
        | Rule::array_type
        | Rule::map_type
        | Rule::struct_type
        | Rule::decimal_type
        | Rule::custom_type => "a type (such as VARCHAR, INT, BIGINT, DOUBLE)".into(),
        Rule::statement_only => "a statement".into(),
        Rule::select_query => "SELECT".into(),
        Rule::create_source | Rule::create_as_select | Rule::create_type => "CREATE".into(),
        Rule::time_unit => "a time unit (SECONDS, MINUTES, HOURS, DAYS)".into(),
        Rule::duration => "a duration such as 10 SECONDS".into(),
        Rule::eq | Rule::neq | Rule::lt | Rule::le | Rule::gt | Rule::ge | Rule::distinct_from => {
            "a comparison".into()
        }
        Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::rem | Rule::concat => {
            "an operator".into()
        }
        Rule::or_op | Rule::and_op => "AND or OR".into(),
        Rule::EOI => "the end of the statement".into(),
        Rule::key_marker => "KEY".into(),
        Rule::with_clause => "WITH".into(),
        Rule::emit => "EMIT".into(),
        Rule::where_clause => "WHERE".into(),
        Rule::join_clause | Rule::join_type => "JOIN".into(),
        Rule::window_clause => "WINDOW".into(),
        Rule::group_by => "GROUP BY".into(),
        Rule::partition_by => "PARTITION BY".into(),
        Rule::having => "HAVING".into(),
        Rule::limit => "LIMIT".into(),
        Rule::alias => "an alias".into(),
        Rule::select_item | Rule::select_items | Rule::star => "a column or expression".into(),
        Rule::property => "a property such as kafka_topic='t'".into(),
        Rule::show => "SHOW".into(),
        Rule::broker_control => "STOP BROKER or START BROKER".into(),
        Rule::emit_kind => "CHANGES or FINAL".into(),
        Rule::show_what => {
            "STREAMS, TABLES, TOPICS, QUERIES, CONNECTORS, CONSUMER GROUPS, BROKERS or PROPERTIES"
                .into()
        }
        Rule::source_kind => "STREAM, TABLE or GLOBAL TABLE".into(),
        Rule::window_kind => "TUMBLING, HOPPING or SESSION".into(),
        // an optional name before the kind: the kind is what is missing
        Rule::window_name => String::new(),
        Rule::connector_kind => "SOURCE or SINK".into(),
        Rule::drop_kind => "STREAM, TABLE, CONNECTOR or TYPE".into(),
        // keywords are upper-case rules
        _ if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
            name.trim_end_matches("_KW").to_string()
        }
        _ => name.replace('_', " "),
    }
}

fn label_for(expected: &[String]) -> String {
    match expected.first() {
        Some(e) if expected.len() == 1 => format!("expected {e} here"),
        Some(_) => "unexpected here".to_string(),
        None => "here".to_string(),
    }
}

fn join_or(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} or {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

const RESERVED: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "PARTITION",
    "EMIT",
    "LIMIT",
    "WINDOW",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "INNER",
    "ON",
    "WITHIN",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "IN",
    "LIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "TRUE",
    "FALSE",
    "BY",
    "WITH",
    "VALUES",
    "INTO",
    "CREATE",
    "INSERT",
    "DROP",
    "DISTINCT",
];

/// Whether a statement could start where the error is: the parse of a file's first
/// statement names the whole rule ("a statement"), a later one lists its first words.
fn at_statement_start(expected: &[String]) -> bool {
    let has = |w: &str| expected.iter().any(|e| e == w);
    has("a statement") || (has("SELECT") && has("CREATE"))
}

fn hint(text: &str, pos: usize, found: &str, expected: &[String]) -> Option<String> {
    let upper = found.to_ascii_uppercase();
    let statement = at_statement_start(expected);
    if upper == "OUTPUT" && statement {
        return Some(
            "OUTPUT JSON; and OUTPUT TABULAR; are commands of the shell (kql without a command); `kql run FILE --format json` prints rows as JSON lines".into(),
        );
    }
    // A misspelled keyword: the closest of the words expected here.
    if found.chars().all(|c| c.is_ascii_alphabetic()) && found.len() > 2 {
        let words: Vec<&str> = expected
            .iter()
            .flat_map(|e| e.split([',', ' ']))
            .chain(STATEMENTS.iter().copied().filter(|_| statement))
            .filter(|w| w.len() > 2 && w.chars().all(|c| c.is_ascii_uppercase()) && *w != "OR")
            .collect();
        if let Some(w) = crate::diagnostic::did_you_mean(&upper, words.iter().copied()) {
            if w != upper {
                return Some(format!("did you mean {w}?"));
            }
        }
    }
    if text[..pos].trim_end().ends_with(',')
        && (RESERVED.contains(&upper.as_str()) || found.is_empty())
    {
        return Some(format!(
            "remove the comma before {}",
            if found.is_empty() { "the end" } else { found }
        ));
    }
    let wants_name = expected
        .iter()
        .any(|e| e == "a name" || e.starts_with("a column definition") || e == "an expression");
    if wants_name && RESERVED.contains(&upper.as_str()) {
        return Some(format!(
            "{upper} is a reserved word; to use it as a name, quote it with back-quotes: `{found}`"
        ));
    }
    if found.starts_with('"') {
        return Some(
            "strings use single quotes in kql, as in SQL: 'text'; double quotes are not used"
                .into(),
        );
    }
    if found.starts_with('\'') && !found[1..].contains('\'') && !text[pos + 1..].contains('\'') {
        return Some("this string is not closed: add a ' at its end".into());
    }
    if found == "==" || (found == "=" && text[pos..].starts_with("==")) {
        return Some("compare with a single '=' in SQL".into());
    }
    if expected.iter().any(|e| e == "EMIT") && upper != "EMIT" {
        return Some(
            "a push query ends with EMIT CHANGES, e.g. SELECT * FROM s EMIT CHANGES;".into(),
        );
    }
    None
}
