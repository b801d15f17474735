//! What the grammar accepts where a partial statement ends: the shell's completion asks,
//! so that Tab offers only what may come at the cursor (no PARTITION right after WHERE).

use pest::error::{ErrorVariant, InputLocation};
use pest::Parser as _;

use super::{KqlParser, Rule};

const SENTINEL: char = '\u{1}';

/// Keywords an expression may begin with.
const EXPRESSION_STARTS: &[&str] = &[
    "NOT", "CASE", "CAST", "NULL", "TRUE", "FALSE", "ARRAY", "MAP", "STRUCT",
];

/// What may follow a partial statement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expected {
    /// Keywords that may come next, upper-case.
    pub keywords: Vec<String>,
    /// Whether a name or an expression may come next (columns, sources, functions).
    pub names: bool,
}

/// What may come at the end of `text`; None when the text is already wrong before its end,
/// so the grammar cannot say.
pub fn expected_at_end(text: &str) -> Option<Expected> {
    // A character no rule accepts, where the cursor is: the parse fails there, and pest
    // lists what it tried (also after a text that is a whole statement already).
    let probe = format!("{text}{SENTINEL}");
    let Err(e) = KqlParser::parse(Rule::statement_only, &probe) else {
        return None;
    };
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    if pos < text.len() {
        return None;
    }
    let ErrorVariant::ParsingError { positives, .. } = e.variant else {
        return None;
    };
    let mut expected = Expected::default();
    for rule in positives {
        let name = format!("{rule:?}");
        let keyword = name.len() > 1
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit());
        match rule {
            // The start of a statement: every statement keyword fits; the caller decides.
            Rule::statement_only => return None,
            Rule::EOI => {}
            _ if keyword => expected.keywords.push(name),
            // Clauses and operators named by a rule: the keywords they begin with.
            Rule::join_clause => expected
                .keywords
                .extend(["JOIN", "INNER", "LEFT", "RIGHT", "FULL"].map(String::from)),
            Rule::like_tail => expected.keywords.extend(["LIKE", "NOT"].map(String::from)),
            Rule::in_tail => expected.keywords.extend(["IN", "NOT"].map(String::from)),
            Rule::between_tail => expected
                .keywords
                .extend(["BETWEEN", "NOT"].map(String::from)),
            _ if super::limits::is_operator(rule) => {}
            Rule::field_access | Rule::subscript => {}
            // Anything else is a name or an expression (an alias, a column, a call).
            _ => expected.names = true,
        }
    }
    if expected.names {
        // Pest names the expression rule, not the keywords an expression may start with.
        expected
            .keywords
            .extend(EXPRESSION_STARTS.iter().map(|k| k.to_string()));
    }
    expected.keywords.sort();
    expected.keywords.dedup();
    Some(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_where_an_expression_and_no_clause_keyword() {
        let e = expected_at_end("SELECT * FROM s WHERE ").unwrap();
        assert!(e.names);
        assert!(!e.keywords.contains(&"PARTITION".to_string()), "{e:?}");
        assert!(e.keywords.contains(&"NOT".to_string()), "{e:?}");
        let e = expected_at_end("SELECT * FROM s WHERE x > 1 ").unwrap();
        assert!(e.keywords.contains(&"PARTITION".to_string()), "{e:?}");
        assert!(e.keywords.contains(&"EMIT".to_string()), "{e:?}");
        // a statement wrong before the cursor: the grammar cannot say
        assert_eq!(expected_at_end("SELEC * FROM s "), None);
    }
}
