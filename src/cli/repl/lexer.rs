//! A forgiving tokenizer for what is being typed: it never fails, so the highlighter and the
//! completer can work on half-written statements (an unclosed string runs to the end).

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bare word: a keyword, a name, a function.
    Word,
    /// A back-quoted name.
    Quoted,
    /// A single-quoted string (possibly unclosed).
    Str,
    Number,
    Comment,
    Space,
    /// Anything else: `(`, `,`, `;`, operators.
    Punct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

pub fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        let kind = if b.is_ascii_whitespace() {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            Kind::Space
        } else if b == b'-' && next == Some(b'-') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            Kind::Comment
        } else if b == b'/' && next == Some(b'*') {
            i += 2;
            while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(bytes.len());
            Kind::Comment
        } else if b == b'\'' {
            i += 1;
            loop {
                match bytes.get(i) {
                    None => break,
                    Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            Kind::Str
        } else if b == b'`' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'`' {
                i += 1;
            }
            i = (i + 1).min(bytes.len());
            Kind::Quoted
        } else if b.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            Kind::Number
        } else if is_word_byte(b) {
            while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'@') {
                i += 1;
            }
            Kind::Word
        } else {
            // One character, whole (it may be multi-byte).
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            Kind::Punct
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// Whether a string token ends with its closing quote.
pub fn closed_string(s: &str) -> bool {
    s.len() >= 2 && s.ends_with('\'') && s[1..s.len() - 1].matches('\'').count() & 1 == 0
}

pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The keywords of the language, read from the grammar itself (its `WORD = @{ ^"WORD" ...`
/// rules), so the shell stays in step with what the parser accepts.
pub fn keywords() -> &'static [String] {
    static KEYWORDS: OnceLock<Vec<String>> = OnceLock::new();
    KEYWORDS.get_or_init(|| {
        let grammar = include_str!("../../../grammar/kql.pest");
        let mut words: Vec<String> = Vec::new();
        for line in grammar.lines() {
            // `SELECT     = @{ ^"SELECT" ~ !ident_char }` and the `reserved` rule's alternatives.
            let mut rest = line;
            while let Some(at) = rest.find("^\"") {
                rest = &rest[at + 2..];
                if let Some(end) = rest.find('"') {
                    let word = &rest[..end];
                    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphabetic()) {
                        words.push(word.to_ascii_uppercase());
                    }
                    rest = &rest[end..];
                }
            }
        }
        words.sort();
        words.dedup();
        words
    })
}

pub fn is_keyword(word: &str) -> bool {
    keywords()
        .binary_search_by(|k| {
            k.as_bytes()
                .iter()
                .map(u8::to_ascii_uppercase)
                .cmp(word.bytes().map(|b| b.to_ascii_uppercase()))
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_come_from_the_grammar() {
        let k = keywords();
        for w in ["SELECT", "EMIT", "CHANGES", "TUMBLING", "STREAM", "VARCHAR"] {
            assert!(k.iter().any(|x| x == w), "{w} missing");
        }
        assert!(is_keyword("select"));
        assert!(!is_keyword("readings"));
    }

    #[test]
    fn unclosed_strings_and_comments_run_to_the_end() {
        let t = tokens("SELECT 'ab; -- x");
        assert_eq!(t.last().unwrap().kind, Kind::Str);
        let t = tokens("a /* b");
        assert_eq!(t.last().unwrap().kind, Kind::Comment);
        let kinds: Vec<Kind> = tokens("x=1.5").iter().map(|t| t.kind).collect();
        assert_eq!(kinds, vec![Kind::Word, Kind::Punct, Kind::Number]);
    }
}
