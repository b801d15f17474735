//! Text compared with a record's time: in `ROWTIME > '2020-05-26T10:00:00'` (also with
//! WINDOWSTART and WINDOWEND, and in BETWEEN), ksqlDB reads the string as a time, so the
//! comparison is of two BIGINT milliseconds. The text is `yyyy-MM-dd'T'HH:mm:ss.SSS` or any
//! leading part of it ('2020', '2020-05', '2020-05-26T10'), the missing fields at their
//! least, with an optional offset (`+0200`, `-05:00`) or `Z`; without one it is UTC.

use crate::data::value::days_from_civil;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{Expr, ExprKind, Literal};

/// The columns that hold a record's time in milliseconds.
const TIME_COLUMNS: [&str; 3] = ["ROWTIME", "WINDOWSTART", "WINDOWEND"];

/// Is `e` ROWTIME, WINDOWSTART or WINDOWEND (qualified or not)?
pub fn is_time_column(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Column { name, .. }
        if TIME_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(&name.name)))
}

/// The text of a string literal.
pub fn string_literal(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Literal(Literal::String(s)) => Some(s),
        _ => None,
    }
}

/// The literal `e` as the milliseconds it names, as a BIGINT literal; an error when the
/// text is not such a time.
pub fn to_millis_literal(e: &Expr) -> Result<Expr, Diagnostic> {
    let text = string_literal(e).unwrap_or_default();
    let ms = parse(text).map_err(|why| {
        Diagnostic::new(
            Code::InvalidLiteral,
            format!("'{text}' is compared with a record's time, but it is not a time: {why}"),
        )
        .label(e.span, "not a time")
        .help("write yyyy-MM-ddTHH:mm:ss.SSS or a leading part of it ('2020-05-26'), with an optional offset such as +0200")
    })?;
    Ok(Expr {
        kind: ExprKind::Literal(Literal::Integer(ms)),
        span: e.span,
    })
}

/// Epoch milliseconds of a full or partial `yyyy-MM-dd'T'HH:mm:ss.SSS[offset]`.
pub fn parse(text: &str) -> Result<i64, String> {
    const TIME_ZEROS: &str = "00:00:00.000";
    let (date, time, offset) = match text.split_once('T') {
        Some((date, rest)) => {
            let zone_at = rest.find(['+', '-']).unwrap_or(rest.len());
            let (time, zone) = rest.split_at(zone_at);
            let time = time.strip_suffix('Z').unwrap_or(time);
            (date.to_string(), time, zone)
        }
        None => {
            let date = match text.split('-').count() {
                1 => format!("{text}-01-01"),
                2 => format!("{text}-01"),
                _ => text.to_string(),
            };
            (date, "", "")
        }
    };
    let time = match TIME_ZEROS.get(time.len()..) {
        Some(rest) => format!("{time}{rest}"),
        None => time.to_string(),
    };
    let number = |s: &str, what: &str| -> Result<i64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("'{s}' is not a {what}"));
        }
        s.parse().map_err(|_| format!("'{s}' is not a {what}"))
    };
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (
        number(d.next().unwrap_or(""), "year")?,
        number(d.next().unwrap_or(""), "month")?,
        number(d.next().unwrap_or(""), "day")?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return Err(format!("{date} is not a date"));
    }
    let t = time.as_bytes();
    if time.len() != TIME_ZEROS.len() || t[2] != b':' || t[5] != b':' || t[8] != b'.' {
        return Err(format!("'{time}' is not a time of day HH:mm:ss.SSS"));
    }
    let (h, mi, s, ms) = (
        number(&time[0..2], "hour")?,
        number(&time[3..5], "minute")?,
        number(&time[6..8], "second")?,
        number(&time[9..12], "millisecond")?,
    );
    if h > 23 || mi > 59 || s > 59 {
        return Err(format!("'{time}' is not a time of day"));
    }
    let offset_ms = zone_offset_ms(offset)?;
    let days = days_from_civil(y, m as u32, day as u32);
    Ok(days * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + ms - offset_ms)
}

/// `+HH`, `+HHmm` or `+HH:mm` (or `-`) as milliseconds east of UTC; "" is UTC.
fn zone_offset_ms(zone: &str) -> Result<i64, String> {
    let Some(sign) = zone.chars().next() else {
        return Ok(0);
    };
    let digits = zone[1..].replace(':', "");
    let bad = || format!("'{zone}' is not an offset such as +0200");
    if !matches!(digits.len(), 2 | 4) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: i64 = digits[0..2].parse().map_err(|_| bad())?;
    let m: i64 = digits
        .get(2..4)
        .map_or(Ok(0), str::parse)
        .map_err(|_| bad())?;
    if h > 18 || m > 59 {
        return Err(bad());
    }
    let ms = h * 3_600_000 + m * 60_000;
    Ok(if sign == '-' { -ms } else { ms })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn partial_times_take_the_least_missing_fields() {
        assert_eq!(parse("1970"), Ok(0));
        assert_eq!(parse("1970-01-02"), Ok(86_400_000));
        assert_eq!(parse("2018-01-01T00:00:00.001"), Ok(1_514_764_800_001));
        assert_eq!(parse("2018-01-01T00:00:01"), Ok(1_514_764_801_000));
        assert_eq!(parse("2018-01-01T00"), Ok(1_514_764_800_000));
        assert_eq!(parse("2018-01-01T00:00:00Z"), Ok(1_514_764_800_000));
    }

    #[test]
    fn an_offset_moves_the_time_to_utc() {
        assert_eq!(
            parse("2019-01-01T00:00:00+0445"),
            Ok(1_546_300_800_000 - 17_100_000)
        );
        assert_eq!(
            parse("2019-01-01T00:00:00-01:00"),
            Ok(1_546_300_800_000 + 3_600_000)
        );
    }

    #[test]
    fn text_that_is_no_time_is_an_error() {
        assert!(parse("yesterday").is_err());
        assert!(parse("2019-13-01").is_err());
        assert!(parse("2019-01-01T25").is_err());
        assert!(parse("2019-01-01T00:00:00+99").is_err());
    }
}
