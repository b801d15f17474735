//! More string functions: splitting, regular expressions, masks, encodings and hashes.
//! Regular expressions follow Java's syntax where the two agree (the common cases); a
//! pattern is compiled once per thread and reused.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use super::rules::{integer, string, strings};
use super::string::text;
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::{SqlType, Value};

const C: Category = Category::String;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "INITCAP",
        C,
        "INITCAP(s)",
        (1, 1),
        to_string,
        initcap,
        "each word capitalised, the other letters lower-case",
        "INITCAP('hello wORLD') = 'Hello World'",
    ),
    scalar(
        "CHR",
        C,
        "CHR(code | '\\uXXXX')",
        (1, 1),
        chr_type,
        chr,
        "the character of a Unicode code point",
        "CHR(75) = 'K'",
    ),
    scalar(
        "SPLIT",
        C,
        "SPLIT(s, delimiter)",
        (2, 2),
        split_type,
        split,
        "the parts between delimiters (every character when it is empty)",
        "SPLIT('a,b,,c', ',') = ['a', 'b', '', 'c']",
    ),
    scalar(
        "SPLIT_TO_MAP",
        C,
        "SPLIT_TO_MAP(s, entry_delimiter, kv_delimiter)",
        (3, 3),
        to_string_map,
        split_to_map,
        "a map from text like 'k1=v1/k2=v2'; the last value of a repeated key wins",
        "SPLIT_TO_MAP('a=1/b=2', '/', '=')",
    ),
    scalar(
        "REGEXP_EXTRACT",
        C,
        "REGEXP_EXTRACT(pattern, s [, group])",
        (2, 3),
        extract_type,
        regexp_extract,
        "the first match of a regular expression (or of one of its groups)",
        "REGEXP_EXTRACT('(.*) (.*)', 'hello there', 2) = 'there'",
    ),
    scalar(
        "REGEXP_EXTRACT_ALL",
        C,
        "REGEXP_EXTRACT_ALL(pattern, s [, group])",
        (2, 3),
        extract_all_type,
        regexp_extract_all,
        "every match of a regular expression (or of one of its groups)",
        "REGEXP_EXTRACT_ALL('\\d+', 'a1b22') = ['1', '22']",
    ),
    scalar(
        "REGEXP_REPLACE",
        C,
        "REGEXP_REPLACE(s, pattern, replacement)",
        (3, 3),
        to_string,
        regexp_replace,
        "every match replaced; $1 in the replacement is a group",
        "REGEXP_REPLACE('a1b2', '\\d', '#') = 'a#b#'",
    ),
    scalar(
        "REGEXP_SPLIT_TO_ARRAY",
        C,
        "REGEXP_SPLIT_TO_ARRAY(s, pattern)",
        (2, 2),
        to_string_array,
        regexp_split,
        "the parts between matches of a regular expression",
        "REGEXP_SPLIT_TO_ARRAY('a1b22c', '\\d+') = ['a', 'b', 'c']",
    ),
    scalar(
        "ENCODE",
        C,
        "ENCODE(s, from, to)",
        (3, 3),
        to_string,
        encode,
        "text re-encoded between 'hex', 'utf8', 'ascii' and 'base64'",
        "ENCODE('4b', 'hex', 'utf8') = 'K'",
    ),
    scalar(
        "MD5",
        C,
        "MD5(s)",
        (1, 1),
        to_string,
        md5,
        "the MD5 hash of the UTF-8 text, in hex",
        "MD5('') = 'd41d8cd98f00b204e9800998ecf8427e'",
    ),
    scalar(
        "UUID",
        C,
        "UUID()",
        (0, 0),
        |_| Ok(SqlType::String),
        |_| text(uuid_v4()),
        "a random (version 4) UUID",
        "UUID()",
    ),
    scalar(
        "MASK",
        C,
        "MASK(s [, upper, lower, digit, other])",
        (1, 5),
        mask_type,
        |a| mask(a, 1, Part::All),
        "every character masked: X, x, n and - by default; a NULL mask keeps that kind",
        "MASK('My Test $123') = 'Xx-Xxxx--nnn'",
    )
    .handles_nulls(),
    scalar(
        "MASK_LEFT",
        C,
        "MASK_LEFT(s, n [, upper, lower, digit, other])",
        (2, 6),
        mask_n_type,
        |a| mask(a, 2, Part::Left),
        "the first n characters masked",
        "MASK_LEFT('My Test $123', 4) = 'Xx-Xest $123'",
    )
    .handles_nulls(),
    scalar(
        "MASK_RIGHT",
        C,
        "MASK_RIGHT(s, n [, upper, lower, digit, other])",
        (2, 6),
        mask_n_type,
        |a| mask(a, 2, Part::Right),
        "the last n characters masked",
        "MASK_RIGHT('My Test $123', 4) = 'My Test -nnn'",
    )
    .handles_nulls(),
    scalar(
        "MASK_KEEP_LEFT",
        C,
        "MASK_KEEP_LEFT(s, n [, upper, lower, digit, other])",
        (2, 6),
        mask_n_type,
        |a| mask(a, 2, Part::KeepLeft),
        "all but the first n characters masked",
        "MASK_KEEP_LEFT('My Test $123', 4) = 'My Txxx--nnn'",
    )
    .handles_nulls(),
    scalar(
        "MASK_KEEP_RIGHT",
        C,
        "MASK_KEEP_RIGHT(s, n [, upper, lower, digit, other])",
        (2, 6),
        mask_n_type,
        |a| mask(a, 2, Part::KeepRight),
        "all but the last n characters masked",
        "MASK_KEEP_RIGHT('My Test $123', 4) = 'Xx-Xxxx-$123'",
    )
    .handles_nulls(),
    scalar(
        "TO_BYTES",
        C,
        "TO_BYTES(s, encoding)",
        (2, 2),
        to_bytes_type,
        to_bytes,
        "the bytes of text in 'hex', 'utf8', 'ascii' or 'base64'",
        "TO_BYTES('4b', 'hex')",
    ),
    scalar(
        "FROM_BYTES",
        C,
        "FROM_BYTES(b, encoding)",
        (2, 2),
        from_bytes_type,
        from_bytes,
        "bytes as text in 'hex', 'utf8', 'ascii' or 'base64'",
        "FROM_BYTES(TO_BYTES('4b', 'hex'), 'utf8') = 'K'",
    ),
    scalar(
        "INT_FROM_BYTES",
        C,
        "INT_FROM_BYTES(b [, 'BIG_ENDIAN' | 'LITTLE_ENDIAN'])",
        (1, 2),
        |t| number_from_bytes_type(t, SqlType::Int),
        |a| number_from_bytes(a, 4),
        "the INT in 4 bytes",
        "INT_FROM_BYTES(TO_BYTES('AAAAKg==', 'base64')) = 42",
    ),
    scalar(
        "BIGINT_FROM_BYTES",
        C,
        "BIGINT_FROM_BYTES(b [, 'BIG_ENDIAN' | 'LITTLE_ENDIAN'])",
        (1, 2),
        |t| number_from_bytes_type(t, SqlType::Bigint),
        |a| number_from_bytes(a, 8),
        "the BIGINT in 8 bytes",
        "BIGINT_FROM_BYTES(TO_BYTES('000000000000002a', 'hex')) = 42",
    ),
    scalar(
        "DOUBLE_FROM_BYTES",
        C,
        "DOUBLE_FROM_BYTES(b [, 'BIG_ENDIAN' | 'LITTLE_ENDIAN'])",
        (1, 2),
        |t| number_from_bytes_type(t, SqlType::Double),
        |a| number_from_bytes(a, 8),
        "the DOUBLE in 8 bytes (IEEE 754)",
        "DOUBLE_FROM_BYTES(TO_BYTES('3ff0000000000000', 'hex')) = 1.0",
    ),
];

fn bytes(b: Vec<u8>) -> Value {
    Value::Bytes(bytes::Bytes::from(b))
}

fn to_bytes_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    strings(args)?;
    Ok(SqlType::Bytes)
}

fn from_bytes_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    bytes_arg(args, 0)?;
    string(args, 1)?;
    Ok(SqlType::String)
}

fn bytes_arg(args: &[SqlType], i: usize) -> Result<(), ArgError> {
    match &args[i] {
        SqlType::Bytes | SqlType::Null => Ok(()),
        _ => Err((i, "BYTES".into())),
    }
}

fn number_from_bytes_type(args: &[SqlType], ty: SqlType) -> Result<SqlType, ArgError> {
    bytes_arg(args, 0)?;
    if args.len() > 1 {
        string(args, 1)?;
    }
    Ok(ty)
}

fn to_bytes(a: &Args) -> Value {
    decode(a.str(0), a.str(1)).map_or(Value::Null, bytes)
}

/// FROM_BYTES writes hex in upper case, as ksqlDB does (ENCODE writes it in lower case).
fn from_bytes(a: &Args) -> Value {
    match a.get(0) {
        Value::Bytes(b) if a.str(1).eq_ignore_ascii_case("hex") => {
            text(b.iter().map(|x| format!("{x:02X}")).collect())
        }
        Value::Bytes(b) => encode_bytes(b, a.str(1)).map_or(Value::Null, text),
        _ => Value::Null,
    }
}

fn number_from_bytes(a: &Args, width: usize) -> Value {
    let Value::Bytes(b) = a.get(0) else {
        return Value::Null;
    };
    if b.len() != width {
        return Value::Null;
    }
    let little = match a.values.get(1) {
        None => false,
        Some(_) => match a.str(1).to_ascii_uppercase().as_str() {
            "BIG_ENDIAN" => false,
            "LITTLE_ENDIAN" => true,
            _ => return Value::Null,
        },
    };
    let mut raw = [0u8; 8];
    raw[..width].copy_from_slice(b);
    if little {
        raw[..width].reverse();
    }
    match a.ty {
        SqlType::Int => Value::Int(i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]])),
        SqlType::Bigint => Value::Bigint(i64::from_be_bytes(raw)),
        _ => Value::Double(f64::from_be_bytes(raw)),
    }
}

fn to_string(args: &[SqlType]) -> Result<SqlType, ArgError> {
    strings(args)?;
    Ok(SqlType::String)
}

fn to_string_array(args: &[SqlType]) -> Result<SqlType, ArgError> {
    strings(args)?;
    Ok(SqlType::Array(Box::new(SqlType::String)))
}

fn to_string_map(args: &[SqlType]) -> Result<SqlType, ArgError> {
    strings(args)?;
    Ok(SqlType::Map(
        Box::new(SqlType::String),
        Box::new(SqlType::String),
    ))
}

fn split_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    if args.iter().any(|t| *t == SqlType::Bytes) {
        bytes_arg(args, 0)?;
        bytes_arg(args, 1)?;
        return Ok(SqlType::Array(Box::new(SqlType::Bytes)));
    }
    to_string_array(args)
}

fn chr_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    match &args[0] {
        SqlType::Int | SqlType::Bigint | SqlType::String | SqlType::Null => Ok(SqlType::String),
        _ => Err((0, "an INTEGER code point or a '\\uXXXX' STRING".into())),
    }
}

fn extract_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    string(args, 0)?;
    string(args, 1)?;
    if args.len() > 2 {
        integer(args, 2)?;
    }
    Ok(SqlType::String)
}

fn extract_all_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    extract_type(args)?;
    Ok(SqlType::Array(Box::new(SqlType::String)))
}

fn mask_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    strings(args)?;
    Ok(SqlType::String)
}

fn mask_n_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    string(args, 0)?;
    integer(args, 1)?;
    (2..args.len()).try_for_each(|i| string(args, i))?;
    Ok(SqlType::String)
}

fn strings_array(parts: impl Iterator<Item = String>) -> Value {
    Value::Array(Arc::new(parts.map(text).collect()))
}

fn initcap(a: &Args) -> Value {
    let mut out = String::with_capacity(a.str(0).len());
    let mut start = true;
    for c in a.str(0).chars() {
        if c.is_whitespace() {
            start = true;
            out.push(c);
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    text(out)
}

fn chr(a: &Args) -> Value {
    let c = match a.get(0) {
        Value::String(s) => escaped_char(s),
        v => v
            .as_i64()
            .and_then(|i| u32::try_from(i).ok())
            .and_then(char::from_u32),
    };
    c.map_or(Value::Null, |c| text(c.to_string()))
}

/// The character of `\uXXXX`, or of a UTF-16 surrogate pair `\uD820\uDEB8`.
fn escaped_char(s: &str) -> Option<char> {
    let units = s
        .split("\\u")
        .skip(1)
        .map(|hex| {
            (hex.len() == 4)
                .then(|| u16::from_str_radix(hex, 16).ok())
                .flatten()
        })
        .collect::<Option<Vec<u16>>>()?;
    if !s.starts_with("\\u") || units.is_empty() || units.len() > 2 {
        return None;
    }
    let mut decoded = char::decode_utf16(units.iter().copied());
    let c = decoded.next()?.ok()?;
    decoded.next().is_none().then_some(c)
}

fn split(a: &Args) -> Value {
    if let (Value::Bytes(b), Value::Bytes(d)) = (a.get(0), a.get(1)) {
        return Value::Array(Arc::new(split_bytes(b, d).into_iter().map(bytes).collect()));
    }
    let (s, d) = (a.str(0), a.str(1));
    // An empty delimiter splits into characters; an empty string is one empty part.
    if d.is_empty() && !s.is_empty() {
        return strings_array(s.chars().map(String::from));
    }
    if s.is_empty() {
        return strings_array(std::iter::once(String::new()));
    }
    strings_array(s.split(d).map(String::from))
}

fn split_bytes(b: &[u8], d: &[u8]) -> Vec<Vec<u8>> {
    if b.is_empty() {
        return vec![Vec::new()];
    }
    if d.is_empty() {
        return b.iter().map(|x| vec![*x]).collect();
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + d.len() <= b.len() {
        if &b[i..i + d.len()] == d {
            parts.push(b[start..i].to_vec());
            i += d.len();
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(b[start..].to_vec());
    parts
}

fn split_to_map(a: &Args) -> Value {
    let (s, entry, kv) = (a.str(0), a.str(1), a.str(2));
    if entry.is_empty() || kv.is_empty() {
        return Value::Null;
    }
    let mut out: Vec<(Value, Value)> = Vec::new();
    for part in s.split(entry).filter(|p| !p.is_empty()) {
        // The key is what comes before the first separator, the value what comes between
        // it and the next one (as ksqlDB splits an entry).
        let mut pieces = part.split(kv);
        let (Some(k), Some(v)) = (pieces.next(), pieces.next()) else {
            continue;
        };
        let (k, v) = (Value::string(k), Value::string(v));
        match out.iter_mut().find(|(ek, _)| *ek == k) {
            Some(e) => e.1 = v,
            None => out.push((k, v)),
        }
    }
    Value::Map(Arc::new(out))
}

/// How many compiled patterns a thread keeps.
const REGEX_CACHE_MAX: usize = 64;

thread_local! {
    static REGEXES: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// The compiled pattern (None when it is not a valid regular expression).
fn with_regex<T>(pattern: &str, f: impl FnOnce(&Regex) -> T) -> Option<T> {
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            if cache.len() >= REGEX_CACHE_MAX {
                cache.clear();
            }
            cache.insert(pattern.to_string(), Regex::new(pattern).ok());
        }
        cache[pattern].as_ref().map(f)
    })
}

fn group(a: &Args) -> usize {
    if a.len() > 2 {
        a.int(2).max(0) as usize
    } else {
        0
    }
}

fn regexp_extract(a: &Args) -> Value {
    let g = group(a);
    with_regex(a.str(0), |re| {
        re.captures(a.str(1))
            .and_then(|c| c.get(g))
            .map_or(Value::Null, |m| Value::string(m.as_str()))
    })
    .unwrap_or(Value::Null)
}

fn regexp_extract_all(a: &Args) -> Value {
    let g = group(a);
    with_regex(a.str(0), |re| {
        strings_array(
            re.captures_iter(a.str(1))
                .filter_map(|c| c.get(g).map(|m| m.as_str().to_string())),
        )
    })
    .unwrap_or(Value::Null)
}

/// A Java replacement string (`$1`, `\$` for a dollar) in the regex crate's syntax.
fn replacement(java: &str) -> String {
    let mut out = String::with_capacity(java.len() + 4);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn regexp_replace(a: &Args) -> Value {
    let with = replacement(a.str(2));
    with_regex(a.str(1), |re| {
        text(re.replace_all(a.str(0), with.as_str()).into_owned())
    })
    .unwrap_or(Value::Null)
}

fn regexp_split(a: &Args) -> Value {
    let s = a.str(0);
    if a.str(1).is_empty() {
        return strings_array(s.chars().map(String::from));
    }
    with_regex(a.str(1), |re| strings_array(re.split(s).map(String::from))).unwrap_or(Value::Null)
}

fn decode(s: &str, encoding: &str) -> Option<Vec<u8>> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" => {
            let digits = strip_hex_prefix(s);
            if digits.len() % 2 != 0 || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            (0..digits.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
                .collect()
        }
        "utf8" => Some(s.as_bytes().to_vec()),
        // As Java's US-ASCII encoder: a character outside ASCII becomes '?'.
        "ascii" => Some(
            s.chars()
                .map(|c| u8::try_from(c).ok().filter(u8::is_ascii).unwrap_or(b'?'))
                .collect(),
        ),
        "base64" => base64_decode(s),
        _ => None,
    }
}

/// The hex digits of a hex text written as `0x…` or `X'…'` (either case of x), as ksqlDB
/// reads them: after `0x` an odd count of digits is read with a leading 0. Any other text is
/// taken as bare digits.
fn strip_hex_prefix(s: &str) -> std::borrow::Cow<'_, str> {
    if let Some(digits) = s.strip_prefix("0x") {
        if digits.len() % 2 != 0 {
            return format!("0{digits}").into();
        }
        return digits.into();
    }
    let quoted = s.len() >= 3 && (s.starts_with("x'") || s.starts_with("X'")) && s.ends_with('\'');
    if quoted {
        return s[2..s.len() - 1].into();
    }
    s.into()
}

fn encode_bytes(b: &[u8], encoding: &str) -> Option<String> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" => Some(b.iter().map(|x| format!("{x:02x}")).collect()),
        "utf8" => Some(String::from_utf8_lossy(b).into_owned()),
        "ascii" => Some(
            b.iter()
                .map(|&x| if x.is_ascii() { x as char } else { '\u{fffd}' })
                .collect(),
        ),
        "base64" => Some(crate::data::value::base64(b)),
        _ => None,
    }
}

fn encode(a: &Args) -> Value {
    decode(a.str(0), a.str(1))
        .and_then(|b| encode_bytes(&b, a.str(2)))
        .map_or(Value::Null, text)
}

pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn md5(a: &Args) -> Value {
    use md5::{Digest, Md5};
    let digest = Md5::digest(a.str(0).as_bytes());
    text(digest.iter().map(|b| format!("{b:02x}")).collect())
}

fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    for chunk in b.chunks_mut(8) {
        chunk.copy_from_slice(&super::math::random_u64().to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Which characters a MASK function masks.
#[derive(Clone, Copy)]
enum Part {
    All,
    Left,
    Right,
    KeepLeft,
    KeepRight,
}

fn mask(a: &Args, first_mask: usize, part: Part) -> Value {
    let Value::String(s) = a.get(0) else {
        return Value::Null;
    };
    let n = if first_mask == 2 {
        match a.get(1).as_i64() {
            Some(n) if n >= 0 => n as usize,
            _ => return Value::Null,
        }
    } else {
        0
    };
    // The mask of each kind: given, defaulted, or None (keep) when given as NULL.
    let kind = |i: usize, default: char| -> Option<char> {
        match a.values.get(first_mask + i) {
            None => Some(default),
            Some(Value::String(m)) => m.chars().next(),
            Some(_) => None,
        }
    };
    let masks = [kind(0, 'X'), kind(1, 'x'), kind(2, 'n'), kind(3, '-')];
    let len = s.chars().count();
    let masked = |i: usize| match part {
        Part::All => true,
        Part::Left => i < n,
        Part::Right => i + n >= len,
        Part::KeepLeft => i >= n,
        Part::KeepRight => i + n < len,
    };
    let out: String = s
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if !masked(i) {
                return c;
            }
            let m = if c.is_uppercase() {
                masks[0]
            } else if c.is_lowercase() {
                masks[1]
            } else if c.is_ascii_digit() {
                masks[2]
            } else {
                masks[3]
            };
            m.unwrap_or(c)
        })
        .collect();
    text(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::data::Value;
    use crate::functions::testing::{call, s};

    fn strs(xs: &[&str]) -> Value {
        Value::Array(Arc::new(xs.iter().map(|x| s(x)).collect()))
    }

    #[test]
    fn splitting() {
        assert_eq!(
            call("SPLIT", &[s("a,b,,c"), s(",")]),
            strs(&["a", "b", "", "c"])
        );
        assert_eq!(call("SPLIT", &[s(",a,"), s(",")]), strs(&["", "a", ""]));
        assert_eq!(call("SPLIT", &[s("ab"), s("")]), strs(&["a", "b"]));
        assert_eq!(call("SPLIT", &[s("ab"), Value::Null]), Value::Null);
        let b = |x: &str| call("TO_BYTES", &[s(x), s("utf8")]);
        let parts = call("SPLIT", &[b("a.b"), b(".")]);
        assert_eq!(parts, Value::Array(Arc::new(vec![b("a"), b("b")])));
        let m = call(
            "SPLIT_TO_MAP",
            &[s("apple:=green/cherry:=red"), s("/"), s(":=")],
        );
        assert_eq!(
            m,
            Value::Map(Arc::new(vec![
                (s("apple"), s("green")),
                (s("cherry"), s("red"))
            ]))
        );
        assert_eq!(
            call("REGEXP_SPLIT_TO_ARRAY", &[s("a1b22c"), s("\\d+")]),
            strs(&["a", "b", "c"])
        );
    }

    #[test]
    fn regular_expressions() {
        assert_eq!(
            call(
                "REGEXP_EXTRACT",
                &[s("(.*) (.*)"), s("hello there"), Value::Int(2)]
            ),
            s("there")
        );
        assert_eq!(call("REGEXP_EXTRACT", &[s("x+"), s("abc")]), Value::Null);
        assert_eq!(
            call(
                "REGEXP_EXTRACT_ALL",
                &[s("(\\w+) (\\w+)"), s("hello there nice day"), Value::Int(2)]
            ),
            strs(&["there", "day"])
        );
        assert_eq!(
            call("REGEXP_REPLACE", &[s("a1b2"), s("(\\d)"), s("<$1>")]),
            s("a<1>b<2>")
        );
    }

    #[test]
    fn characters_and_encodings() {
        assert_eq!(call("INITCAP", &[s("hello wORLD  x")]), s("Hello World  X"));
        assert_eq!(call("CHR", &[Value::Int(75)]), s("K"));
        assert_eq!(call("CHR", &[s("\\u597d")]), s("好"));
        assert_eq!(call("CHR", &[Value::Int(-1)]), Value::Null);
        assert_eq!(call("ENCODE", &[s("4b6b"), s("hex"), s("utf8")]), s("Kk"));
        // Hex may be written 0x…, X'…' or x'…'; after 0x an odd digit count gains a leading 0.
        assert_eq!(call("ENCODE", &[s("0x4b6b"), s("hex"), s("utf8")]), s("Kk"));
        assert_eq!(
            call("ENCODE", &[s("X'4b6b'"), s("hex"), s("utf8")]),
            s("Kk")
        );
        assert_eq!(call("ENCODE", &[s("x''"), s("hex"), s("utf8")]), s(""));
        assert_eq!(call("ENCODE", &[s("0xb6b"), s("hex"), s("hex")]), s("0b6b"));
        assert_eq!(call("ENCODE", &[s("b6b"), s("hex"), s("hex")]), Value::Null);
        assert_eq!(
            call("ENCODE", &[s("0x0x"), s("hex"), s("utf8")]),
            Value::Null
        );
        assert_eq!(
            call("ENCODE", &[s("x'4b6b"), s("hex"), s("utf8")]),
            Value::Null
        );
        assert_eq!(call("ENCODE", &[s("+4"), s("hex"), s("utf8")]), Value::Null);
        assert_eq!(
            call("ENCODE", &[s("Kk"), s("utf8"), s("base64")]),
            s("S2s=")
        );
        assert_eq!(
            call("ENCODE", &[s("S2s="), s("base64"), s("hex")]),
            s("4b6b")
        );
        assert_eq!(call("MD5", &[s("")]), s("d41d8cd98f00b204e9800998ecf8427e"));
        let b = call("TO_BYTES", &[s("000000000000002a"), s("hex")]);
        assert_eq!(call("BIGINT_FROM_BYTES", &[b.clone()]), Value::Bigint(42));
        assert_eq!(call("FROM_BYTES", &[b, s("base64")]), s("AAAAAAAAACo="));
        let le = call("TO_BYTES", &[s("2a000000"), s("hex")]);
        assert_eq!(
            call("INT_FROM_BYTES", &[le, s("LITTLE_ENDIAN")]),
            Value::Int(42)
        );
        assert_eq!(call("UUID", &[]).to_string().len(), 36);
    }

    #[test]
    fn masks() {
        assert_eq!(call("MASK", &[s("My Test $123")]), s("Xx-Xxxx--nnn"));
        assert_eq!(
            call(
                "MASK",
                &[s("My Test $123"), s("*"), Value::Null, s("1"), Value::Null]
            ),
            s("*y *est $111")
        );
        assert_eq!(
            call("MASK_KEEP_LEFT", &[s("My Test $123"), Value::Int(4)]),
            s("My Txxx--nnn")
        );
        assert_eq!(
            call("MASK_KEEP_RIGHT", &[s("My Test $123"), Value::Int(4)]),
            s("Xx-Xxxx-$123")
        );
        assert_eq!(
            call("MASK_LEFT", &[s("My Test $123"), Value::Int(4)]),
            s("Xx-Xest $123")
        );
        assert_eq!(
            call("MASK_RIGHT", &[s("My Test $123"), Value::Int(4)]),
            s("My Test -nnn")
        );
    }
}
