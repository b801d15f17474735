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
        to_int,
        |a| Value::Int(a.str(0).chars().count() as i32),
        "the number of characters",
        "LEN('héllo') = 5",
    ),
    scalar(
        "LENGTH",
        C,
        "LENGTH(s)",
        (1, 1),
        to_int,
        |a| Value::Int(a.str(0).chars().count() as i32),
        "the number of characters (LEN)",
        "LENGTH('abc') = 3",
    ),
    scalar(
        "CONCAT",
        C,
        "CONCAT(s, ...)",
        (1, usize::MAX),
        to_string,
        concat,
        "the strings joined; NULLs are skipped",
        "CONCAT('a', NULL, 'b') = 'ab'",
    )
    .handles_nulls(),
    scalar(
        "CONCAT_WS",
        C,
        "CONCAT_WS(separator, s, ...)",
        (2, usize::MAX),
        to_string,
        concat_ws,
        "the strings joined by the separator; NULLs are skipped",
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
        "the characters from a position (negative counts from the end)",
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
        "padded on the left (or cut) to a length",
        "LPAD('7', 3, '0') = '007'",
    ),
    scalar(
        "RPAD",
        C,
        "RPAD(s, length, padding)",
        (3, 3),
        pad_type,
        |a| pad(a, false),
        "padded on the right (or cut) to a length",
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

fn to_int(args: &[SqlType]) -> Result<SqlType, ArgError> {
    strings(args)?;
    Ok(SqlType::Int)
}

fn substring_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    string(args, 0)?;
    (1..args.len()).try_for_each(|i| integer(args, i))?;
    Ok(SqlType::String)
}

fn instr_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    string(args, 0)?;
    string(args, 1)?;
    (2..args.len()).try_for_each(|i| integer(args, i))?;
    Ok(SqlType::Int)
}

fn pad_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    string(args, 0)?;
    integer(args, 1)?;
    string(args, 2)?;
    Ok(SqlType::String)
}

fn concat(a: &Args) -> Value {
    let mut s = String::new();
    for v in a.values {
        if let Value::String(x) = v {
            s.push_str(x);
        }
    }
    text(s)
}

fn concat_ws(a: &Args) -> Value {
    let Value::String(sep) = a.get(0) else {
        return Value::Null;
    };
    let parts: Vec<&str> = a.values[1..]
        .iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(&**s),
            _ => None,
        })
        .collect();
    text(parts.join(sep))
}

fn substring(a: &Args) -> Value {
    let chars: Vec<char> = a.str(0).chars().collect();
    let n = chars.len() as i64;
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
    text(chars[from..to].iter().collect())
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

#[cfg(test)]
mod tests {
    use crate::data::Value;
    use crate::functions::testing::{call, s};

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
