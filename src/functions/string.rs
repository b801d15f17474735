//! String functions. Positions are 1-based and count characters, as in ksqlDB.

use std::sync::Arc;

use super::rules::{integer, string, strings};
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::{SqlType, Value};

const C: Category = Category::String;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "UCASE",
        C,
        "UCASE(s)",
        (1, 1),
        to_string,
        |a| text(a.str(0).to_uppercase()),
        "upper-case",
        "UCASE('ab') = 'AB'",
    ),
    scalar(
        "LCASE",
        C,
        "LCASE(s)",
        (1, 1),
        to_string,
        |a| text(a.str(0).to_lowercase()),
        "lower-case",
        "LCASE('AB') = 'ab'",
    ),
    scalar(
        "TRIM",
        C,
        "TRIM(s)",
        (1, 1),
        to_string,
        |a| text(a.str(0).trim().into()),
        "without leading and trailing white space",
        "TRIM(' a ') = 'a'",
    ),
    scalar(
        "LTRIM",
        C,
        "LTRIM(s)",
        (1, 1),
        to_string,
        |a| text(a.str(0).trim_start().into()),
        "without leading white space",
        "LTRIM(' a ') = 'a '",
    ),
    scalar(
        "RTRIM",
        C,
        "RTRIM(s)",
        (1, 1),
        to_string,
        |a| text(a.str(0).trim_end().into()),
        "without trailing white space",
        "RTRIM(' a ') = ' a'",
    ),
    scalar(
        "LEN",
        C,
        "LEN(s)",
        (1, 1),
        length_type,
        length,
        "the number of characters (of bytes, for BYTES)",
        "LEN('héllo') = 5",
    ),
    scalar(
        "LENGTH",
        C,
        "LENGTH(s)",
        (1, 1),
        length_type,
        length,
        "the number of characters (LEN)",
        "LENGTH('abc') = 3",
    ),
    scalar(
        "CONCAT",
        C,
        "CONCAT(s, ...)",
        (1, usize::MAX),
        text_or_bytes,
        concat,
        "the strings (or BYTES) joined; NULLs are skipped",
        "CONCAT('a', NULL, 'b') = 'ab'",
    )
    .handles_nulls(),
    scalar(
        "CONCAT_WS",
        C,
        "CONCAT_WS(separator, s, ...)",
        (2, usize::MAX),
        text_or_bytes,
        concat_ws,
        "the strings (or BYTES) joined by the separator; NULLs are skipped",
        "CONCAT_WS('-', 'a', 'b') = 'a-b'",
    )
    .handles_nulls(),
    scalar(
        "SUBSTRING",
        C,
        "SUBSTRING(s, position [, length])",
        (2, 3),
        substring_type,
        substring,
        "the characters (or the bytes of BYTES) from a position (negative counts from the end)",
        "SUBSTRING('hello', 2, 3) = 'ell'",
    ),
    scalar(
        "REPLACE",
        C,
        "REPLACE(s, old, new)",
        (3, 3),
        to_string,
        |a| text(a.str(0).replace(a.str(1), a.str(2))),
        "every occurrence of a substring replaced",
        "REPLACE('aXbX', 'X', '-') = 'a-b-'",
    ),
    scalar(
        "INSTR",
        C,
        "INSTR(s, substring [, position [, occurrence]])",
        (2, 4),
        instr_type,
        instr,
        "the position of the first occurrence, 0 if none",
        "INSTR('hello', 'l') = 3",
    ),
    scalar(
        "LPAD",
        C,
        "LPAD(s, length, padding)",
        (3, 3),
        pad_type,
        |a| pad(a, true),
        "a STRING or BYTES padded on the left (or cut) to a length",
        "LPAD('7', 3, '0') = '007'",
    ),
    scalar(
        "RPAD",
        C,
        "RPAD(s, length, padding)",
        (3, 3),
        pad_type,
        |a| pad(a, false),
        "a STRING or BYTES padded on the right (or cut) to a length",
        "RPAD('ab', 4, '.') = 'ab..'",
    ),
];

pub(crate) fn text(s: String) -> Value {
    Value::String(Arc::from(s))
}

fn to_string(args: &[SqlType]) -> Result<SqlType, ArgError> {
    strings(args)?;
    Ok(SqlType::String)
}

fn substring_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    let ty = if args[0] == SqlType::Bytes {
        SqlType::Bytes
    } else {
        string(args, 0)?;
        SqlType::String
    };
    (1..args.len()).try_for_each(|i| integer(args, i))?;
    Ok(ty)
}

fn length_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    text_or_bytes(args).map(|_| SqlType::Int)
}

fn length(a: &Args) -> Value {
    Value::Int(match a.get(0) {
        Value::Bytes(b) => b.len(),
        _ => a.str(0).chars().count(),
    } as i32)
}

/// All STRING, or all BYTES (a bare NULL fits either).
fn text_or_bytes(args: &[SqlType]) -> Result<SqlType, ArgError> {
    if args.iter().any(|t| *t == SqlType::Bytes) {
        return match args
            .iter()
            .position(|t| !matches!(t, SqlType::Bytes | SqlType::Null))
        {
            Some(i) => Err((i, "BYTES, like the other arguments".into())),
            None => Ok(SqlType::Bytes),
        };
    }
    to_string(args)
}

/// The parts of a call over strings or bytes, as bytes (NULLs left out).
fn parts(values: &[Value]) -> impl Iterator<Item = &[u8]> {
    values.iter().filter_map(|v| match v {
        Value::String(s) => Some(s.as_bytes()),
        Value::Bytes(b) => Some(&b[..]),
        _ => None,
    })
}

/// Joined parts as the call's type: text (whole strings joined stay UTF-8) or bytes.
fn joined(a: &Args, out: Vec<u8>) -> Value {
    if *a.ty == SqlType::Bytes {
        Value::Bytes(out.into())
    } else {
        text(String::from_utf8(out).unwrap_or_default())
    }
}

fn instr_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    string(args, 0)?;
    string(args, 1)?;
    (2..args.len()).try_for_each(|i| integer(args, i))?;
    Ok(SqlType::Int)
}

/// LPAD/RPAD take (STRING, INT, STRING) or (BYTES, INT, BYTES).
fn pad_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    integer(args, 1)?;
    if args[0] == SqlType::Bytes || args[2] == SqlType::Bytes {
        for i in [0, 2] {
            if !matches!(args[i], SqlType::Bytes | SqlType::Null) {
                return Err((i, "BYTES, as the other argument padded is".into()));
            }
        }
        return Ok(SqlType::Bytes);
    }
    string(args, 0)?;
    string(args, 2)?;
    Ok(SqlType::String)
}

fn concat(a: &Args) -> Value {
    joined(a, parts(a.values).flatten().copied().collect())
}

fn concat_ws(a: &Args) -> Value {
    let Some(sep) = parts(&a.values[..1]).next() else {
        return Value::Null;
    };
    let parts: Vec<&[u8]> = parts(&a.values[1..]).collect();
    joined(a, parts.join(sep))
}

fn substring(a: &Args) -> Value {
    if let Value::Bytes(b) = a.get(0) {
        let (from, to) = substring_range(b.len() as i64, a);
        return Value::Bytes(b.slice(from..to));
    }
    let chars: Vec<char> = a.str(0).chars().collect();
    let (from, to) = substring_range(chars.len() as i64, a);
    text(chars[from..to].iter().collect())
}

/// SUBSTRING's part of `n` characters (or bytes): from a position counted from 1 (a
/// negative one counts from the end), of the given length or to the end.
fn substring_range(n: i64, a: &Args) -> (usize, usize) {
    let start = a.int(1);
    let from = if start > 0 {
        start - 1
    } else if start < 0 {
        (n + start).max(0)
    } else {
        0
    };
    let len = if a.len() > 2 { a.int(2).max(0) } else { n };
    let from = from.min(n) as usize;
    let to = (from as i64 + len).min(n) as usize;
    (from, to)
}

/// The 1-based position of the n-th occurrence, searching forwards from `position`, or
/// backwards from the end when it is negative; 0 when there is none.
fn instr(a: &Args) -> Value {
    let hay: Vec<char> = a.str(0).chars().collect();
    let needle: Vec<char> = a.str(1).chars().collect();
    let position = if a.len() > 2 { a.int(2) } else { 1 };
    let occurrence = if a.len() > 3 { a.int(3) } else { 1 };
    if occurrence < 1 || position == 0 {
        return Value::Int(0);
    }
    let n = hay.len() as i64;
    let at = |i: i64| hay[i as usize..].starts_with(&needle);
    let found = if position > 0 {
        (position - 1..=n - needle.len() as i64)
            .filter(|&i| at(i))
            .nth(occurrence as usize - 1)
    } else {
        let last = (n + position).min(n - needle.len() as i64);
        (0..=last)
            .rev()
            .filter(|&i| at(i))
            .nth(occurrence as usize - 1)
    };
    Value::Int(found.map_or(0, |i| i as i32 + 1))
}

fn pad(a: &Args, left: bool) -> Value {
    if let (Value::Bytes(input), Value::Bytes(fill)) = (a.get(0), a.get(2)) {
        return pad_bytes(input, a.int(1), fill, left);
    }
    let (input, len, fill) = (a.str(0), a.int(1), a.str(2));
    if len < 0 {
        return Value::Null;
    }
    let len = len as usize;
    let chars: Vec<char> = input.chars().collect();
    if chars.len() >= len {
        return text(chars[..len].iter().collect());
    }
    if fill.is_empty() {
        return Value::Null;
    }
    let fill: String = fill.chars().cycle().take(len - chars.len()).collect();
    text(if left {
        format!("{fill}{input}")
    } else {
        format!("{input}{fill}")
    })
}

/// `pad` over bytes: cut to `len`, or filled up to it with `fill` repeated.
fn pad_bytes(input: &[u8], len: i64, fill: &[u8], left: bool) -> Value {
    // An empty padding is NULL even when none is needed, as ksqlDB's BYTES overload has it.
    let Ok(len) = usize::try_from(len) else {
        return Value::Null;
    };
    if fill.is_empty() {
        return Value::Null;
    }
    if input.len() >= len {
        return Value::Bytes(bytes::Bytes::copy_from_slice(&input[..len]));
    }
    let filler = fill.iter().cycle().take(len - input.len()).copied();
    let out: Vec<u8> = if left {
        filler.chain(input.iter().copied()).collect()
    } else {
        input.iter().copied().chain(filler).collect()
    };
    Value::Bytes(bytes::Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use crate::data::Value;
    use crate::functions::testing::{call, s};

    #[test]
    fn concat_and_substring_take_bytes_too() {
        let b = |x: &'static [u8]| Value::Bytes(bytes::Bytes::from_static(x));
        assert_eq!(
            call("CONCAT", &[b(b"yes"), Value::Null, b(b"no")]),
            b(b"yesno")
        );
        assert_eq!(
            call(
                "CONCAT_WS",
                &[b(b"a"), b(b"b"), b(b""), Value::Null, b(b"no")]
            ),
            b(b"baano")
        );
        assert_eq!(call("CONCAT_WS", &[Value::Null, b(b"b")]), Value::Null);
        assert_eq!(
            call(
                "SUBSTRING",
                &[b(b"some_string"), Value::Int(6), Value::Int(3)]
            ),
            b(b"str")
        );
        assert_eq!(call("SUBSTRING", &[b(b"short"), Value::Int(6)]), b(b""));
        assert_eq!(call("LEN", &[b(b"abc")]), Value::Int(3));
    }

    #[test]
    fn string_functions() {
        assert_eq!(call("UCASE", &[s("abc")]), s("ABC"));
        assert_eq!(
            call("SUBSTRING", &[s("hello"), Value::Int(2), Value::Int(3)]),
            s("ell")
        );
        assert_eq!(call("SUBSTRING", &[s("hello"), Value::Int(-3)]), s("llo"));
        assert_eq!(call("CONCAT", &[s("a"), Value::Null, s("b")]), s("ab"));
        assert_eq!(call("LEN", &[s("héllo")]), Value::Int(5));
        assert_eq!(call("LPAD", &[s("7"), Value::Int(3), s("0")]), s("007"));
        let b = |x: &'static [u8]| Value::Bytes(bytes::Bytes::from_static(x));
        assert_eq!(
            call("LPAD", &[b(b"yes"), Value::Int(8), b(b"no")]),
            b(b"nononyes")
        );
        assert_eq!(
            call("RPAD", &[b(b"yes"), Value::Int(2), b(b"no")]),
            b(b"ye")
        );
        assert_eq!(
            call("RPAD", &[b(b"yes"), Value::Int(3), b(b"")]),
            Value::Null
        );
        assert_eq!(
            call("RPAD", &[s("abcdef"), Value::Int(3), s("0")]),
            s("abc")
        );
        assert_eq!(call("INSTR", &[s("hello"), s("l")]), Value::Int(3));
        // ksqlDB's documented examples
        let corp = || s("CORPORATE FLOOR");
        assert_eq!(call("INSTR", &[corp(), s("OR")]), Value::Int(2));
        assert_eq!(
            call("INSTR", &[corp(), s("OR"), Value::Int(3)]),
            Value::Int(5)
        );
        assert_eq!(
            call("INSTR", &[corp(), s("OR"), Value::Int(3), Value::Int(2)]),
            Value::Int(14)
        );
        assert_eq!(
            call("INSTR", &[corp(), s("OR"), Value::Int(-3)]),
            Value::Int(5)
        );
        assert_eq!(
            call("INSTR", &[corp(), s("OR"), Value::Int(-3), Value::Int(2)]),
            Value::Int(2)
        );
        assert_eq!(call("INSTR", &[corp(), s("MISSING")]), Value::Int(0));
        assert_eq!(
            call("LPAD", &[s("Foo"), Value::Int(7), s("Bar")]),
            s("BarBFoo")
        );
        assert_eq!(call("RPAD", &[s(""), Value::Int(2), s("Bar")]), s("Ba"));
        assert_eq!(
            call("LPAD", &[s("Foo"), Value::Int(-1), s("Bar")]),
            Value::Null
        );
        assert_eq!(call("UCASE", &[Value::Null]), Value::Null);
    }
}
