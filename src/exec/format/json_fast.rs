//! A fast path for the common JSON value: a flat object whose used fields are strings,
//! numbers, booleans or null. It scans the bytes once, converts only the fields a query
//! reads, and builds no `serde_json::Value`. Anything else (escapes, nested values, a
//! type that needs conversion, invalid JSON) returns None, and the caller falls back to the
//! general decoder, which also words the errors; so both paths give the same rows.

use super::json_scan::{
    ascii_string_end, ascii_text, eight_digits, ends_scalar, folded_eq, folded_name, plain_text,
    skip_ws, string_end, value_span,
};
use crate::data::{SqlType, Value};

use super::{set_string, set_value};

/// Columns tracked with a bit each; a source with more resets its columns before the scan.
pub const TRACKED_COLUMNS: usize = 64;

/// Decodes `columns` of a flat JSON object into the row; None to fall back.
///
/// A column's slot is overwritten in place, so a string column reuses the string the
/// previous record left there when it can (`set_string`); columns the object does not hold
/// are set to NULL after the scan. A column whose bit is set in `unread` (no operator reads
/// it) is only checked: its value must be one the column could hold, so that a record is
/// bad for every query or for none, but it is not converted and its slot keeps what it
/// held.
pub fn decode_flat(
    bytes: &[u8],
    columns: &[(String, SqlType, usize)],
    folded: &[Option<u64>],
    unread: u64,
    row: &mut [Value],
) -> Option<()> {
    let tracked = columns.len() <= TRACKED_COLUMNS;
    if !tracked {
        for (_, _, pos) in columns {
            row[*pos] = Value::Null;
        }
    }
    let mut seen = 0u64;
    // Objects of a stream usually list their fields in the same order as the columns:
    // the column after the last one found is tried first.
    let mut next = 0;
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(bytes, i + 1);
    if bytes.get(i) == Some(&b'}') {
        (skip_ws(bytes, i + 1) == bytes.len()).then_some(())?;
        return set_missing(columns, row, tracked, seen);
    }
    loop {
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        let (name_end, escaped) = string_end(bytes, i + 1)?;
        if escaped {
            return None;
        }
        let name = &bytes[i + 1..name_end];
        // (compact JSON, the usual record, has the colon right after the name and the
        // value right after it: whitespace is looked for only when it is not so)
        i = name_end + 1;
        if bytes.get(i) != Some(&b':') {
            i = skip_ws(bytes, i);
            if bytes.get(i) != Some(&b':') {
                return None;
            }
        }
        i = skip_ws(bytes, i + 1);
        let column = find_column(columns, folded, (bytes, name_end - name.len()), name, next);
        let read = |c: usize| c >= TRACKED_COLUMNS || unread & (1 << c) == 0;
        // A number or a plain string is read as it is scanned (a plain string of a column
        // no operator reads is only scanned); anything else is spanned, then converted.
        let end = match column {
            Some(c) => {
                let (_, ty, pos) = &columns[c];
                let slot = &mut row[*pos];
                match read(c) {
                    true => number_at(bytes, i, ty, slot)
                        .or_else(|| string_at(bytes, i, ty, Some(slot))),
                    false => string_at(bytes, i, ty, None),
                }
            }
            None => None,
        };
        let end = match end {
            Some(end) => end,
            None => {
                let (start, end) = value_span(bytes, i)?;
                if let Some(c) = column {
                    let (_, ty, pos) = &columns[c];
                    if read(c) {
                        convert(&bytes[start..end], ty, &mut row[*pos])?;
                    } else {
                        check(&bytes[start..end], ty)?;
                    }
                }
                end
            }
        };
        if let Some(c) = column {
            if c < TRACKED_COLUMNS {
                seen |= 1 << c;
            }
            next = c + 1;
        }
        i = match bytes.get(end) {
            Some(b',' | b'}') => end,
            _ => skip_ws(bytes, end),
        };
        match bytes.get(i) {
            Some(b',') => i = skip_ws(bytes, i + 1),
            Some(b'}') => {
                (skip_ws(bytes, i + 1) == bytes.len()).then_some(())?;
                return set_missing(columns, row, tracked, seen);
            }
            _ => return None,
        }
    }
}

/// The column named `name` (case-insensitively), trying `hint` first. `name` is at `at` in
/// the record's bytes, where it is compared a word at a time with the columns' `folded`
/// names (`json_scan::folded_eq`) when there are any.
#[inline(always)]
fn find_column(
    columns: &[(String, SqlType, usize)],
    folded: &[Option<u64>],
    (bytes, at): (&[u8], usize),
    name: &[u8],
    hint: usize,
) -> Option<usize> {
    #[inline(always)]
    fn same(col: &str, folded: Option<u64>, (bytes, at): (&[u8], usize), name: &[u8]) -> bool {
        col.len() == name.len()
            && folded
                .and_then(|f| folded_eq(bytes, at, name.len(), f))
                .unwrap_or_else(|| col.as_bytes().eq_ignore_ascii_case(name))
    }
    let folded_of = |c: usize| folded.get(c).copied().flatten();
    if let Some((col, _, _)) = columns.get(hint) {
        if same(col, folded_of(hint), (bytes, at), name) {
            return Some(hint);
        }
    }
    (columns.iter().enumerate())
        .position(|(c, (col, _, _))| same(col, folded_of(c), (bytes, at), name))
}

/// The folded names of columns, for `decode_flat`.
pub fn folded_names(columns: &[(String, SqlType, usize)]) -> Vec<Option<u64>> {
    columns.iter().map(|(n, _, _)| folded_name(n)).collect()
}

/// Sets the tracked columns the object did not hold to NULL.
fn set_missing(
    columns: &[(String, SqlType, usize)],
    row: &mut [Value],
    tracked: bool,
    seen: u64,
) -> Option<()> {
    if tracked {
        for (c, (_, _, pos)) in columns.iter().enumerate() {
            if seen & (1 << c) == 0 {
                row[*pos] = Value::Null;
            }
        }
    }
    Some(())
}

/// Converts a JSON value's text into `slot`; None (the slot perhaps changed) to fall back.
fn convert(v: &[u8], ty: &SqlType, slot: &mut Value) -> Option<()> {
    if v == b"null" {
        *slot = Value::Null;
        return Some(());
    }
    // the common numbers, read as `decode_flat` reads them while scanning
    if number_at(v, 0, ty, slot) == Some(v.len()) {
        return Some(());
    }
    *slot = match ty {
        SqlType::String => {
            set_string(slot, plain_string(v)?);
            return Some(());
        }
        // out of range (1e400): the general decoder reports the bad record
        SqlType::Double if is_number(v) => {
            Value::Double(ascii_text(v).parse().ok().filter(|d: &f64| d.is_finite())?)
        }
        SqlType::Bigint if is_integer(v) => Value::Bigint(parse_integer(v)?),
        SqlType::Int if is_integer(v) => Value::Int(parse_integer(v)?.try_into().ok()?),
        SqlType::Boolean => match v {
            b"true" => Value::Boolean(true),
            b"false" => Value::Boolean(false),
            _ => return None,
        },
        _ => return None,
    };
    Some(())
}

/// Whether `convert` would accept the value, without keeping what it makes: a string's
/// text is validated in place, other types convert into a slot of their own (numbers and
/// booleans allocate nothing).
fn check(v: &[u8], ty: &SqlType) -> Option<()> {
    match ty {
        SqlType::String if v != b"null" => plain_string(v).map(|_| ()),
        _ => convert(v, ty, &mut Value::Null),
    }
}

/// The text of a JSON string without escapes or control characters; None for any other
/// value (the general decoder handles those).
fn plain_string(v: &[u8]) -> Option<&str> {
    if v[0] != b'"' {
        return None;
    }
    plain_text(&v[1..v.len() - 1])
}

/// Reads the number at `i` into `slot` as it scans it, for the common numbers of
/// records: an integer of at most 18 digits (below 10^18: no overflow to check for) into a
/// BIGINT or INT, a decimal of at most 15 digits without exponent (`-12.5`) into a DOUBLE.
/// Such a decimal's digits and the power of ten of its scale are both exact doubles, so
/// the one division rounds correctly: the same double as the general parser gives, for a
/// fraction of its work. Gives where the number ends; None (the slot as it was) for
/// anything else, which `convert` then reads the general way.
#[inline]
fn number_at(bytes: &[u8], i: usize, ty: &SqlType, slot: &mut Value) -> Option<usize> {
    let integer = match ty {
        SqlType::Bigint | SqlType::Int => true,
        SqlType::Double => false,
        _ => return None,
    };
    let negative = bytes.get(i) == Some(&b'-');
    let first = i + negative as usize;
    let mut j = first;
    let mut digits: u64 = 0;
    let mut point = None;
    let most = if integer { 18 } else { 15 };
    let mut count = 0;
    // (a timestamp's first eight digits at once)
    if integer {
        if let Some(n) = eight_digits(bytes, j) {
            digits = n;
            count = 8;
            j += 8;
        }
    }
    while let Some(&b) = bytes.get(j) {
        match b {
            b'0'..=b'9' if count < most => {
                digits = digits * 10 + (b - b'0') as u64;
                count += 1;
            }
            b'.' if !integer && point.is_none() && j > first => point = Some(j),
            _ => break,
        }
        j += 1;
    }
    if count == 0 || bytes.get(j).is_some_and(|&b| !ends_scalar(b)) {
        return None;
    }
    let v = if integer {
        let n = if negative {
            -(digits as i64)
        } else {
            digits as i64
        };
        match ty {
            SqlType::Int => Value::Int(n.try_into().ok()?),
            _ => Value::Bigint(n),
        }
    } else {
        let scale = point.map_or(0, |p| j - p - 1);
        let d = digits as f64 / POWERS_OF_TEN[scale];
        Value::Double(if negative { -d } else { d })
    };
    set_value(slot, v);
    Some(j)
}

/// Reads the plain ASCII string at `i` of a STRING column into `slot` (None: a column no
/// operator reads, only checked) as it finds its end: the common string of records. Gives
/// where it ends; None for anything else, which `value_span` and `convert` then read.
#[inline]
fn string_at(bytes: &[u8], i: usize, ty: &SqlType, slot: Option<&mut Value>) -> Option<usize> {
    // (`matches!`: comparing a type with `!=` is a call, per record)
    if !matches!(ty, SqlType::String) || bytes.get(i) != Some(&b'"') {
        return None;
    }
    let end = ascii_string_end(bytes, i + 1)?;
    if let Some(slot) = slot {
        set_string(slot, ascii_text(&bytes[i + 1..end]));
    }
    Some(end + 1)
}

/// Powers of ten that are exact doubles.
const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The value of digits `is_integer` accepted (an optional '-', then digits); None when it
/// is out of i64's range.
fn parse_integer(v: &[u8]) -> Option<i64> {
    let (negative, digits) = match v.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, v),
    };
    let mut n: i64 = 0;
    for &d in digits {
        let d = (d - b'0') as i64;
        // Accumulated on the side of the sign, so i64::MIN fits.
        n = n
            .checked_mul(10)?
            .checked_add(if negative { -d } else { d })?;
    }
    Some(n)
}

fn is_integer(v: &[u8]) -> bool {
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

fn is_number(v: &[u8]) -> bool {
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    digits.first().is_some_and(u8::is_ascii_digit)
        && digits
            .iter()
            .all(|&b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<(String, SqlType, usize)> {
        vec![
            ("SITE".into(), SqlType::String, 0),
            ("TEMP".into(), SqlType::Double, 1),
            ("TS".into(), SqlType::Bigint, 2),
        ]
    }

    /// `decode_flat` of `cols()`, with their folded names, as a decoder calls it.
    fn flat(line: &[u8], unread: u64, row: &mut [Value]) -> Option<()> {
        decode_flat(line, &cols(), &folded_names(&cols()), unread, row)
    }

    /// A decimal as `number_at` reads it when it is the whole text.
    fn short_decimal(text: &[u8]) -> Option<f64> {
        let mut slot = Value::Null;
        match (number_at(text, 0, &SqlType::Double, &mut slot), slot) {
            (Some(end), Value::Double(d)) if end == text.len() => Some(d),
            _ => None,
        }
    }

    #[test]
    fn reads_the_used_fields_of_a_flat_object() {
        let mut row = vec![Value::Null; 3];
        let line = br#"{"sensor":"s-1","site":"site-82","temp":20.8,"ts":1699999998112}"#;
        assert!(flat(line, 0, &mut row).is_some());
        assert_eq!(
            row,
            vec![
                Value::string("site-82"),
                Value::Double(20.8),
                Value::Bigint(1699999998112)
            ]
        );
        let mut row = vec![Value::Bigint(1); 3];
        assert!(flat(br#" { "temp" : -1e2 } "#, 0, &mut row).is_some());
        assert_eq!(row, vec![Value::Null, Value::Double(-100.0), Value::Null]);
    }

    #[test]
    fn a_string_held_by_another_row_is_not_overwritten_by_the_next_record() {
        let mut row = vec![Value::Null; 3];
        let first = br#"{"site":"site-1","temp":1.5}"#;
        assert!(flat(first, 0, &mut row).is_some());
        let kept = row.clone();
        // same length: reused in place only when no other row holds it
        assert!(flat(
            br#"{"site":"site-2","ts":-9223372036854775808}"#,
            0,
            &mut row
        )
        .is_some());
        assert_eq!(kept[0], Value::string("site-1"));
        assert_eq!(
            row,
            vec![
                Value::string("site-2"),
                Value::Null,
                Value::Bigint(i64::MIN)
            ]
        );
        drop(kept);
        for (line, site) in [
            (&br#"{"site":"site-3"}"#[..], "site-3"),
            (br#"{"site":"site-30"}"#, "site-30"),
            (br#"{"site":"s"}"#, "s"),
        ] {
            assert!(flat(line, 0, &mut row).is_some());
            assert_eq!(row[0], Value::string(site));
        }
        // out of BIGINT's and INT's range: the general decoder words the error
        assert!(flat(br#"{"ts":9223372036854775808}"#, 0, &mut row).is_none());
        let int = vec![("N".to_string(), SqlType::Int, 0)];
        assert!(decode_flat(br#"{"n":2147483648}"#, &int, &[], 0, &mut row).is_none());
        assert!(decode_flat(br#"{"n":-2147483648}"#, &int, &[], 0, &mut row).is_some());
        assert_eq!(row[0], Value::Int(i32::MIN));
        // either side of the 18 digits read without overflow checks
        for n in [
            999_999_999_999_999_999i64,
            -999_999_999_999_999_999,
            1_000_000_000_000_000_000,
            i64::MAX,
        ] {
            let line = format!(r#"{{"ts":{n}}}"#);
            assert!(flat(line.as_bytes(), 0, &mut row).is_some());
            assert_eq!(row[2], Value::Bigint(n));
        }
    }

    #[test]
    fn short_decimals_are_the_doubles_the_general_parser_gives() {
        let mut texts: Vec<String> = ["0", "-0", "7", "007.50", "1.", "0.1", "-20.8", "99.99"]
            .map(String::from)
            .to_vec();
        // pseudo-random digits and scales, up to 15 digits with the leading 0
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 10u64.pow(1 + (x >> 59) as u32 % 14)).to_string();
            let point = (x >> 40) as usize % (digits.len() + 1);
            let (int, frac) = digits.split_at(point);
            let sign = if x & 1 == 0 { "-" } else { "" };
            texts.push(format!(
                "{sign}{}.{frac}",
                if int.is_empty() { "0" } else { int }
            ));
        }
        for t in &texts {
            let expected: f64 = t.parse().unwrap();
            let got = short_decimal(t.as_bytes()).unwrap_or_else(|| panic!("{t}"));
            assert_eq!(got.to_bits(), expected.to_bits(), "{t}");
        }
        for t in [
            "1e5",
            "1234567890123456",
            "1.2.3",
            "-",
            ".5",
            "-.5",
            "1-2",
            "",
        ] {
            assert_eq!(short_decimal(t.as_bytes()), None, "{t}");
        }
    }

    #[test]
    fn numbers_read_while_scanned_are_what_the_general_parsers_give() {
        let texts = [
            "0",
            "-0",
            "7",
            "-12",
            "20.8",
            "-20.8",
            "1.",
            "007.50",
            "123456789012345",
            "1234567890123456",
            "999999999999999999",
            "-999999999999999999",
            "1000000000000000000",
            "2147483647",
            "2147483648",
            "-2147483648",
            "1e5",
            "1.2.3",
            "-",
            ".5",
            "-.5",
            "1-2",
            "12a",
            "0.000000000000001",
        ];
        for t in texts {
            for end in ["", ",", "}", " ", "]", "x"] {
                let text = format!("{t}{end}");
                for ty in [SqlType::Bigint, SqlType::Int, SqlType::Double] {
                    let mut scanned = Value::Null;
                    let Some(at) = number_at(text.as_bytes(), 0, &ty, &mut scanned) else {
                        assert_eq!(scanned, Value::Null, "{text} {ty:?}");
                        continue;
                    };
                    let (start, stop) = value_span(text.as_bytes(), 0).unwrap();
                    assert_eq!((start, stop), (0, at), "{text} {ty:?}");
                    let number = &text[..stop];
                    let parsed = match ty {
                        SqlType::Bigint => Value::Bigint(number.parse().unwrap()),
                        SqlType::Int => Value::Int(number.parse().unwrap()),
                        _ => Value::Double(number.parse().unwrap()),
                    };
                    assert_eq!(scanned, parsed, "{text} {ty:?}");
                    if let (Value::Double(a), Value::Double(b)) = (&scanned, &parsed) {
                        assert_eq!(a.to_bits(), b.to_bits(), "{text}");
                    }
                }
            }
        }
        // the common ones are read while scanned
        let mut slot = Value::Null;
        assert_eq!(number_at(b"20.8,", 0, &SqlType::Double, &mut slot), Some(4));
        assert_eq!(slot, Value::Double(20.8));
        assert_eq!(
            number_at(b"1699999998112}", 0, &SqlType::Bigint, &mut slot),
            Some(13)
        );
        assert_eq!(slot, Value::Bigint(1699999998112));
    }

    #[test]
    fn an_unread_column_is_checked_but_not_converted() {
        let unread_site = 1;
        let mut row = vec![Value::string("kept"), Value::Null, Value::Null];
        let line = br#"{"site":"site-82","temp":20.8,"ts":5}"#;
        assert!(flat(line, unread_site, &mut row).is_some());
        assert_eq!(
            row,
            vec![Value::string("kept"), Value::Double(20.8), Value::Bigint(5)]
        );
        // what a read column would not take, an unread one does not either
        let unread_all = 0b111;
        for line in [
            &br#"{"site":"a\"b"}"#[..],
            br#"{"site":7}"#,
            br#"{"temp":"hot"}"#,
            br#"{"temp":1e400}"#,
            br#"{"ts":1.5}"#,
            br#"{"ts":9223372036854775808}"#,
        ] {
            assert!(flat(line, unread_all, &mut row).is_none(), "{line:?}");
            assert!(flat(line, 0, &mut row).is_none(), "{line:?}");
        }
        assert!(flat(br#"{"site":null,"temp":-1.5}"#, unread_all, &mut row).is_some());
    }

    #[test]
    fn leaves_the_hard_cases_to_the_general_decoder() {
        let mut row = vec![Value::Null; 3];
        for line in [
            &br#"{"site":"a\"b"}"#[..],
            br#"{"temp":"hot"}"#,
            br#"{"ts":1.5}"#,
            br#"{"temp":"#,
            br#"[1,2]"#,
            br#"{"a":1} x"#,
        ] {
            assert!(flat(line, 0, &mut row).is_none(), "{line:?}");
        }
        // unused nested values are skipped
        assert!(flat(br#"{"x":{"y":[1,{"z":2}]},"ts":5}"#, 0, &mut row).is_some());
        assert_eq!(row[2], Value::Bigint(5));
    }
}
