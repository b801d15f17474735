//! Cuts a source text into statements at top-level `;` (not inside strings, back-quoted
//! names or comments). Each piece is parsed on its own, which is how the parser
//! resynchronises after an error: the next statement still gets parsed and checked.

/// Byte ranges of the statements, each including its `;` when it has one. Pieces that hold
/// only whitespace and comments are left out.
pub fn split_statements(text: &str) -> Vec<(usize, usize)> {
    #[derive(PartialEq)]
    enum State {
        Code,
        Str,
        Quoted,
        LineComment,
        BlockComment,
    }
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut state = State::Code;
    let mut start = 0;
    let mut has_code = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            State::Code => match b {
                b'\'' => {
                    state = State::Str;
                    has_code = true;
                }
                b'`' => {
                    state = State::Quoted;
                    has_code = true;
                }
                b'-' if next == Some(b'-') => {
                    state = State::LineComment;
                    i += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = State::BlockComment;
                    i += 1;
                }
                b';' => {
                    if has_code {
                        out.push((start, i + 1));
                    }
                    start = i + 1;
                    has_code = false;
                }
                b if b.is_ascii_whitespace() => {}
                _ => has_code = true,
            },
            State::Str if b == b'\'' => {
                // '' is an escaped quote inside a string
                if next == Some(b'\'') {
                    i += 1;
                } else {
                    state = State::Code;
                }
            }
            State::Quoted if b == b'`' => state = State::Code,
            State::LineComment if b == b'\n' => state = State::Code,
            State::BlockComment if b == b'*' && next == Some(b'/') => {
                state = State::Code;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    if has_code {
        out.push((start, bytes.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    fn pieces(text: &str) -> Vec<&str> {
        split_statements(text)
            .into_iter()
            .map(|(s, e)| text[s..e].trim())
            .collect()
    }

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let text = "SET 'a'='x;y';\n-- a comment; here\nSELECT `we;ird` FROM s /* ; */ EMIT CHANGES;\n  -- trailing";
        assert_eq!(
            pieces(text),
            vec![
                "SET 'a'='x;y';",
                "-- a comment; here\nSELECT `we;ird` FROM s /* ; */ EMIT CHANGES;"
            ]
        );
    }

    #[test]
    fn keeps_a_last_statement_without_semicolon_and_skips_empty_ones() {
        assert_eq!(pieces(";; SHOW TOPICS"), vec!["SHOW TOPICS"]);
        assert_eq!(
            pieces("INSERT INTO s VALUES ('it''s;');"),
            vec!["INSERT INTO s VALUES ('it''s;');"]
        );
    }
}
