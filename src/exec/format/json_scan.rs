//! Finding where things are in JSON text without parsing it: the end of a string, the
//! span of a value, whether text is plain. The connector reads a line's key and timestamp
//! fields with these, and the JSON decoder's fast path (`json_fast.rs`) every field of a
//! flat object, so they run several times for every record: strings, field names and the
//! digits of integers are read eight bytes at a time, as one `u64` ("lanes" are its
//! bytes). `utf8` serves the text of keys too.

/// Bytes with every lane set to `b`.
const fn lanes(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

const ONES: u64 = lanes(0x01);
const HIGHS: u64 = lanes(0x80);

/// The high bit of each lane of `w` that equals `b`. Only the lowest set bit is exact (a
/// borrow can set lanes above a match), which is the one a scan wants: the first match.
#[inline]
fn matching(w: u64, b: u8) -> u64 {
    let x = w ^ lanes(b);
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The high bit of each lane of `w` below 0x20 (a control character), lowest exact too.
#[inline]
fn below_space(w: u64) -> u64 {
    w.wrapping_sub(lanes(0x20)) & !w & HIGHS
}

/// The eight bytes at `i` as one word, the first byte lowest.
#[inline]
fn word(s: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(s[i..i + 8].try_into().expect("eight bytes"))
}

/// `w` with the ASCII capitals of its lanes made small letters (other bytes as they are).
#[inline]
fn fold(w: u64) -> u64 {
    let low = w & lanes(0x7f);
    let from_a = low.wrapping_add(lanes(0x80 - b'A'));
    let past_z = low.wrapping_add(lanes(0x80 - b'Z' - 1));
    let capital = from_a & !past_z & !w & HIGHS;
    w | (capital >> 2)
}

/// A name of at most eight bytes as one word, its capitals folded, for `folded_eq`; None
/// for a longer name.
pub fn folded_name(name: &str) -> Option<u64> {
    let b = name.as_bytes();
    (b.len() <= 8).then(|| {
        let mut w = [0u8; 8];
        w[..b.len()].copy_from_slice(b);
        fold(u64::from_le_bytes(w))
    })
}

/// Whether the `len` bytes of `s` at `i` equal, ignoring ASCII case, the name `folded`
/// (of that length) stands for; None when fewer than eight bytes follow `i`, as near the
/// end of `s`, to be compared another way.
#[inline(always)]
pub fn folded_eq(s: &[u8], i: usize, len: usize, folded: u64) -> Option<bool> {
    if i + 8 > s.len() || len > 8 {
        return None;
    }
    let mask = if len == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * len)) - 1
    };
    Some(fold(word(s, i) & mask) == folded)
}

/// JSON's whitespace, one bit per byte value below 64.
const WHITESPACE: u64 = 1 << b' ' | 1 << b'\t' | 1 << b'\n' | 1 << b'\r';

/// Past the whitespace at `i`. (Records are mostly written without any, so this is one
/// test per call, several times per field.)
#[inline(always)]
pub fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while let Some(&b) = s.get(i) {
        if b >= 64 || WHITESPACE & (1 << b) == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// The index of the closing quote of a string whose contents start at `i`, and whether it
/// has escapes.
#[inline]
pub fn string_end(s: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        // Past the bytes that are neither quote nor backslash, a word at a time.
        while i + 8 <= s.len() {
            let w = word(s, i);
            let stop = matching(w, b'"') | matching(w, b'\\');
            if stop != 0 {
                i += (stop.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match s.get(i)? {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
}

/// The end (its closing quote) of a string whose contents start at `i`, when they are
/// plain ASCII: no escape, no control character, no byte past 0x7f. None for any other
/// string, and for one whose closing quote is not within a word of the end of `s`.
#[inline]
pub fn ascii_string_end(s: &[u8], mut i: usize) -> Option<usize> {
    while i + 8 <= s.len() {
        let w = word(s, i);
        let quote = matching(w, b'"');
        // (bytes past the quote may match anything: they are masked off)
        let before = match quote {
            0 => u64::MAX,
            q => (1u64 << (q.trailing_zeros() & !7)) - 1,
        };
        if (matching(w, b'\\') | below_space(w) | (w & HIGHS)) & before != 0 {
            return None;
        }
        if quote != 0 {
            return Some(i + (quote.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    None
}

/// The text of a string's contents (between its quotes) when they are plain: no escape,
/// no control character, and UTF-8, so that they are its text as they are.
pub fn plain_text(s: &[u8]) -> Option<&str> {
    let mut i = 0;
    let mut high = 0;
    while i + 8 <= s.len() {
        let w = word(s, i);
        if matching(w, b'\\') | below_space(w) != 0 {
            return None;
        }
        high |= w & HIGHS;
        i += 8;
    }
    for &b in &s[i..] {
        if b == b'\\' || b < 0x20 {
            return None;
        }
        high |= (b & 0x80) as u64;
    }
    utf8_known_ascii(s, high == 0)
}

/// The text of `s`, whose bytes the caller found all ASCII (`ascii`) or not.
fn utf8_known_ascii(s: &[u8], ascii: bool) -> Option<&str> {
    if ascii {
        Some(ascii_text(s))
    } else {
        std::str::from_utf8(s).ok()
    }
}

/// The text of bytes the caller found all ASCII (`ascii_string_end`, `is_number`).
#[inline]
pub fn ascii_text(s: &[u8]) -> &str {
    debug_assert!(s.is_ascii());
    // SAFETY: bytes below 0x80 are each a character of UTF-8.
    unsafe { std::str::from_utf8_unchecked(s) }
}

/// The text of `s` if it is UTF-8, with a quick way through the common case of ASCII
/// (record keys and short strings, for which the general check costs most).
pub fn utf8(s: &[u8]) -> Option<&str> {
    utf8_known_ascii(s, s.is_ascii())
}

/// Bytes that end a number, `true`, `false` or `null`.
const ENDS_SCALAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let ends = b",}] \t\n\r";
    while k < ends.len() {
        t[ends[k] as usize] = true;
        k += 1;
    }
    t
};

/// The number the eight ASCII digits at `i` of `s` spell, when there are eight digits
/// there: all eight converted at once, in a few multiplications of one word.
#[inline]
pub fn eight_digits(s: &[u8], i: usize) -> Option<u64> {
    if i + 8 > s.len() {
        return None;
    }
    let w = word(s, i);
    // each byte 0x30..=0x39: its high half is 3, and adding 6 leaves it 3
    let high = lanes(0xf0);
    if (w & high) | ((w.wrapping_add(lanes(0x06)) & high) >> 4) != lanes(0x33) {
        return None;
    }
    // pairs of digits, then fours, then the eight (the first digit is the lowest byte)
    let w = (w & lanes(0x0f)).wrapping_mul(10 << 8 | 1) >> 8;
    let w = (w & 0x00ff_00ff_00ff_00ff).wrapping_mul(100 << 16 | 1) >> 16;
    Some((w & 0x0000_ffff_0000_ffff).wrapping_mul(10_000 << 32 | 1) >> 32)
}

/// Whether `b` ends a number, `true`, `false` or `null`.
#[inline(always)]
pub fn ends_scalar(b: u8) -> bool {
    ENDS_SCALAR[b as usize]
}

/// The byte range of the JSON value starting at `i`.
#[inline]
pub fn value_span(s: &[u8], i: usize) -> Option<(usize, usize)> {
    match s.get(i)? {
        b'"' => string_end(s, i + 1).map(|(e, _)| (i, e + 1)),
        b'{' | b'[' => {
            let mut depth = 0i32;
            let mut j = i;
            while j < s.len() {
                match s[j] {
                    b'"' => j = string_end(s, j + 1)?.0,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some((i, j + 1));
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let j = s[i..]
                .iter()
                .position(|&b| ends_scalar(b))
                .map_or(s.len(), |n| i + n);
            (j > i).then_some((i, j))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scans as they were written byte by byte, to compare with.
    fn string_end_bytewise(s: &[u8], mut i: usize) -> Option<(usize, bool)> {
        let mut escaped = false;
        while i < s.len() {
            match s[i] {
                b'"' => return Some((i, escaped)),
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                _ => i += 1,
            }
        }
        None
    }

    #[test]
    fn word_scans_find_what_byte_scans_find() {
        // Every placement of a quote, a backslash, a control and a high byte around the
        // word boundaries, in strings from 0 to 20 bytes.
        let specials = [
            b'"', b'\\', 0x01, 0x1f, 0x20, 0x7f, 0x80, 0xff, b'a', b'!', b'#',
        ];
        for len in 0..20 {
            for (pos, &a) in (0..len).flat_map(|p| specials.iter().map(move |b| (p, b))) {
                for &b in &specials {
                    let mut s = vec![b'x'; len];
                    s[pos] = a;
                    s[len - 1 - pos.min(len - 1)] = b;
                    for start in 0..=len {
                        assert_eq!(
                            string_end(&s, start),
                            string_end_bytewise(&s, start),
                            "{s:?} from {start}"
                        );
                    }
                    let bytewise = !s.iter().any(|&c| c == b'\\' || c < 0x20);
                    let text = bytewise.then(|| std::str::from_utf8(&s).ok()).flatten();
                    assert_eq!(plain_text(&s), text, "{s:?}");
                    // in a record: the string's contents, then its quote and more
                    let mut record = s.clone();
                    record.extend_from_slice(br#"","b":1}"#);
                    for start in 0..=s.len() {
                        let q = start + record[start..].iter().position(|&c| c == b'"').unwrap();
                        let plain = record[start..q]
                            .iter()
                            .all(|&c| c != b'\\' && (0x20..0x80).contains(&c));
                        let word_fits = start + (q - start) / 8 * 8 + 8 <= record.len();
                        let expected = (plain && word_fits).then_some(q);
                        assert_eq!(
                            ascii_string_end(&record, start),
                            expected,
                            "{record:?} {start}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn folded_names_match_as_eq_ignore_ascii_case_does() {
        let names = ["TS", "temp", "SeNsOr_1", "ÀB", "A@[`{", "ABCDEFGH", ""];
        let fields = [
            "ts", "TEMP", "sensor_1", "àb", "a@[`{", "a`[@{", "abcdefgh", "abcdefgi", "t",
        ];
        for n in names {
            let folded = folded_name(n).unwrap();
            for f in fields {
                // the field inside a longer text, as in a record
                let text = format!("{{\"{f}\":1234567890}}");
                let got = folded_eq(text.as_bytes(), 2, f.len(), folded);
                let same_len = f.len() == n.len();
                assert_eq!(
                    got.map(|m| m && same_len),
                    Some(n.eq_ignore_ascii_case(f)),
                    "{n} {f}"
                );
            }
        }
        assert_eq!(folded_name("NINE_LONG"), None);
        assert_eq!(folded_eq(b"ab", 0, 2, folded_name("AB").unwrap()), None);
    }

    #[test]
    fn eight_digits_are_read_as_their_number() {
        for text in ["00000000", "12345678", "99999999", "16999999", "01020304"] {
            let n: u64 = text.parse().unwrap();
            assert_eq!(
                eight_digits(format!("x{text}y").as_bytes(), 1),
                Some(n),
                "{text}"
            );
        }
        for text in [
            "1234567", "1234567a", "123/5678", "12:45678", "-1234567", "1234 678",
        ] {
            assert_eq!(eight_digits(text.as_bytes(), 0), None, "{text}");
        }
    }

    #[test]
    fn spans_of_values() {
        let s = br#"{"a":"x\"y","b":-12.5e3,"c":[1,{"d":"]"}],"e":null}"#;
        let at = |needle: &str| {
            s.windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .unwrap()
                + needle.len()
        };
        let span = |i| value_span(s, i).map(|(a, b)| std::str::from_utf8(&s[a..b]).unwrap());
        assert_eq!(span(at("\"a\":")), Some(r#""x\"y""#));
        assert_eq!(span(at("\"b\":")), Some("-12.5e3"));
        assert_eq!(span(at("\"c\":")), Some(r#"[1,{"d":"]"}]"#));
        assert_eq!(span(at("\"e\":")), Some("null"));
        assert_eq!(value_span(b"12", 0), Some((0, 2)));
        assert_eq!(value_span(b",", 0), None);
        assert_eq!(string_end(br#"abc\"#, 0), None);
    }
}
