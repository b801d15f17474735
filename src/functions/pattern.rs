//! Java date-time patterns (`yyyy-MM-dd'T'HH:mm:ss.SSS`, as ksqlDB takes them) read into
//! chrono's format items, and text parsed with them. Fields a pattern leaves out take
//! the epoch's values (1970-01-01, midnight).

use chrono::format::{parse, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The pattern in chrono's strftime syntax; None for letters kql does not support.
pub fn strftime(java: &str) -> Option<String> {
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::with_capacity(java.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // '' is a quote; 'text' is literal text
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        out.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                push_literal(chars[i], &mut out);
                i += 1;
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(c, &mut out);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let item = match (c, run) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M' | 'L', 1) => "%-m",
            ('M' | 'L', 2) => "%m",
            ('M' | 'L', 3) => "%b",
            ('M' | 'L', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H' | 'k', 1) => "%-H",
            ('H' | 'k', _) => "%H",
            ('h' | 'K', 1) => "%-I",
            ('h' | 'K', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 1..=3) => "%3f",
            ('S', 4..=6) => "%6f",
            ('S', _) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('z', _) => "%Z",
            ('Z', _) => "%z",
            ('X' | 'x', 1 | 2) => "%z",
            ('X' | 'x', _) => "%:z",
            _ => return None,
        };
        out.push_str(item);
        i += run;
    }
    Some(out)
}

fn push_literal(c: char, out: &mut String) {
    match c {
        '%' => out.push_str("%%"),
        c => out.push(c),
    }
}

/// A time zone by its ID ("UTC", "Europe/London"); None if unknown.
pub fn zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok().or(match name {
        "Z" | "GMT" | "UTC" => Some(Tz::UTC),
        _ => offset_zone(name),
    })
}

/// A zone given as a whole-hour offset, `+0200`, `+02:00` or `-05`, as Java reads one: the
/// fixed zone `Etc/GMT-2` (whose name counts the other way round).
fn offset_zone(name: &str) -> Option<Tz> {
    let (sign, rest) = match name.as_bytes().first()? {
        b'+' => ('-', &name[1..]),
        b'-' => ('+', &name[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: u32 = digits[..2].parse().ok()?;
    if digits.len() == 4 && &digits[2..] != "00" {
        return None;
    }
    if hours == 0 {
        return Some(Tz::UTC);
    }
    format!("Etc/GMT{sign}{hours}").parse().ok()
}

/// A zone named in parsed text (a Java pattern's `z`): an ID ("Europe/Paris") or one of the
/// common short names, which Java reads as the region they stand for (PST is Los Angeles'
/// time, daylight saving included).
fn zone_in_text(name: &str) -> Option<Tz> {
    let region = match name.to_ascii_uppercase().as_str() {
        "PST" | "PDT" | "PT" => "America/Los_Angeles",
        "MST" | "MDT" | "MT" => "America/Denver",
        "CST" | "CDT" | "CT" => "America/Chicago",
        "EST" | "EDT" | "ET" => "America/New_York",
        "AKST" | "AKDT" => "America/Anchorage",
        "HST" => "Pacific/Honolulu",
        "BST" => "Europe/London",
        "CET" | "CEST" => "Europe/Paris",
        "EET" | "EEST" => "Europe/Athens",
        "IST" => "Asia/Kolkata",
        "JST" => "Asia/Tokyo",
        "AEST" | "AEDT" => "Australia/Sydney",
        _ => return zone(name),
    };
    region.parse().ok()
}

/// Epoch milliseconds as text in a Java pattern, in a time zone.
pub fn format(ms: i64, java: &str, tz: Tz) -> Option<String> {
    let fmt = strftime(java)?;
    let t = DateTime::<Utc>::from_timestamp_millis(ms)?.with_timezone(&tz);
    let mut out = String::new();
    use std::fmt::Write as _;
    write!(out, "{}", t.format(&fmt)).ok()?;
    Some(out)
}

/// Text in a Java pattern to epoch milliseconds; a zone in the text wins over `tz`. As in
/// ksqlDB, letters match in any case and a fraction of a second may have fewer digits than
/// the pattern's `S`s (`.2` is 200 ms).
pub fn parse_ms(text: &str, java: &str, tz: Tz) -> Option<i64> {
    parse_with(text, java, tz, false)
}

/// `parse_ms` of the text's beginning: what follows a match of the whole pattern is
/// ignored, as ksqlDB's PARSE_DATE (a `FastDateFormat`, unlike the `DateTimeFormatter`s
/// of its other functions) reads `2003-12-24-01-01` as `yyyy-MM-dd`.
pub fn parse_ms_of_beginning(text: &str, java: &str, tz: Tz) -> Option<i64> {
    parse_with(text, java, tz, true)
}

fn parse_with(text: &str, java: &str, tz: Tz, rest_ignored: bool) -> Option<i64> {
    let fmt = strftime(java)?;
    // chrono reads a fraction of any length only as `%.f` (the dot included).
    let fmt = fmt
        .replace(".%3f", "%.f")
        .replace(".%6f", "%.f")
        .replace(".%9f", "%.f");
    // chrono skips a zone name (`%Z`) without reading it: find it among the words.
    let tz = if fmt.contains("%Z") {
        text.split(|c: char| c.is_whitespace() || c.is_ascii_digit())
            .rev()
            .find_map(zone_in_text)
            .unwrap_or(tz)
    } else {
        tz
    };
    let mut p = Parsed::new();
    // Java's X reads a trailing Z as UTC; chrono's offset reader wants digits.
    let text = text.trim();
    let zulu;
    let text = match text.strip_suffix(['Z', 'z']) {
        Some(rest) if java.contains('X') => {
            zulu = format!("{rest}+00:00");
            zulu.as_str()
        }
        _ => text,
    };
    match parse(&mut p, text, StrftimeItems::new(&fmt)) {
        Ok(()) => {}
        // chrono has read every item of the pattern when it finds text left over
        Err(e) if rest_ignored && e.kind() == chrono::format::ParseErrorKind::TooLong => {}
        Err(_) => return None,
    }
    let date = match (p.year(), p.ordinal()) {
        (y, Some(ord)) => NaiveDate::from_yo_opt(y.unwrap_or(1970), ord)?,
        (y, None) => NaiveDate::from_ymd_opt(
            y.unwrap_or(1970),
            p.month().unwrap_or(1),
            p.day().unwrap_or(1),
        )?,
    };
    let hour = match (p.hour_div_12(), p.hour_mod_12()) {
        (Some(d), Some(m)) => d * 12 + m,
        (None, Some(m)) => m,
        _ => 0,
    };
    let nanos = p.nanosecond().unwrap_or(0);
    let naive: NaiveDateTime = date.and_hms_nano_opt(
        hour,
        p.minute().unwrap_or(0),
        p.second().unwrap_or(0),
        nanos,
    )?;
    match p.offset() {
        Some(off) => Some(naive.and_utc().timestamp_millis() - off as i64 * 1000),
        None => tz
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.timestamp_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns_read_as_chrono_formats() {
        assert_eq!(
            strftime("yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap(),
            "%Y-%m-%dT%H:%M:%S.%3f"
        );
        assert_eq!(strftime("''HH''").unwrap(), "'%H'");
        assert!(strftime("G").is_none());
    }

    #[test]
    fn format_and_parse_round_trip() {
        let ms = 1_700_000_000_123;
        assert_eq!(
            format(ms, "yyyy-MM-dd HH:mm:ss.SSS", Tz::UTC).unwrap(),
            "2023-11-14 22:13:20.123"
        );
        assert_eq!(
            parse_ms(
                "2023-11-14 22:13:20.123",
                "yyyy-MM-dd HH:mm:ss.SSS",
                Tz::UTC
            ),
            Some(ms)
        );
        let la = zone("America/Los_Angeles").unwrap();
        assert_eq!(format(ms, "HH:mm", la).unwrap(), "14:13");
        assert_eq!(
            parse_ms("2023-11-14 14:13", "yyyy-MM-dd HH:mm", la),
            Some(1_700_000_000_000 - 20_000)
        );
        assert_eq!(
            parse_ms("1970-01-02", "yyyy-MM-dd", Tz::UTC),
            Some(86_400_000)
        );
        assert_eq!(parse_ms("10:30", "HH:mm", Tz::UTC), Some(37_800_000));
        assert_eq!(parse_ms("not a date", "yyyy-MM-dd", Tz::UTC), None);
        assert_eq!(parse_ms("1970-01-02-01-01", "yyyy-MM-dd", Tz::UTC), None);
        assert_eq!(
            parse_ms_of_beginning("1970-01-02-01-01", "yyyy-MM-dd", Tz::UTC),
            Some(86_400_000)
        );
        assert_eq!(parse_ms_of_beginning("1970", "yyyy-MM-dd", Tz::UTC), None);
        let zulu = parse_ms("2018-05-11T21:58:33Z", "yyyy-MM-dd'T'HH:mm:ssX", Tz::UTC);
        assert_eq!(zulu, Some(1_526_075_913_000));
        let lower = parse_ms("2018-05-11T21:58:33z", "yyyy-MM-dd'T'HH:mm:ssX", Tz::UTC);
        assert_eq!(lower, Some(1_526_075_913_000));
    }

    #[test]
    fn short_fractions_and_zone_names_parse_as_java_reads_them() {
        let tenths = parse_ms(
            "2019-08-27T13:31:09.2+0000",
            "yyyy-MM-dd'T'HH:mm:ss.SX",
            Tz::UTC,
        );
        assert_eq!(tenths, Some(1_566_912_669_200));
        // PST names Los Angeles' zone: in May it is seven hours behind UTC.
        let pacific = parse_ms(
            "2018-05-11T21:58:33 PST",
            "yyyy-MM-dd'T'HH:mm:ss zzz",
            Tz::UTC,
        );
        assert_eq!(pacific, Some(1_526_075_913_000 + 7 * 3_600_000));
    }
}
