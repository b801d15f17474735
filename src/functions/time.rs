//! Date and time functions. TIMESTAMPs are epoch milliseconds, DATEs days since the epoch,
//! TIMEs milliseconds since midnight; patterns use Java's letters, as in ksqlDB.

use super::rules::{integer, string, timestamp};
use super::string::text;
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::value::{format_timestamp, parse_timestamp};
use crate::data::{SqlType, Value};

const C: Category = Category::DateTime;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "UNIX_TIMESTAMP",
        C,
        "UNIX_TIMESTAMP([ts])",
        (0, 1),
        unix_timestamp_type,
        unix_timestamp,
        "milliseconds since the epoch: now, or of a TIMESTAMP",
        "UNIX_TIMESTAMP(FROM_UNIXTIME(5)) = 5",
    ),
    scalar(
        "FROM_UNIXTIME",
        C,
        "FROM_UNIXTIME(ms)",
        (1, 1),
        from_unixtime_type,
        |a| Value::Timestamp(a.int(0)),
        "the TIMESTAMP of epoch milliseconds",
        "FROM_UNIXTIME(0)",
    ),
    scalar(
        "TIMESTAMPTOSTRING",
        C,
        "TIMESTAMPTOSTRING(ms, pattern [, zone])",
        (2, 3),
        to_string_type,
        |a| text(format_with_pattern(a.int(0), a.str(1))),
        "epoch milliseconds as text in a Java date pattern",
        "TIMESTAMPTOSTRING(ROWTIME, 'yyyy-MM-dd HH:mm:ss')",
    ),
    scalar(
        "STRINGTOTIMESTAMP",
        C,
        "STRINGTOTIMESTAMP(text, pattern [, zone])",
        (2, 3),
        from_string_type,
        |a| parse_timestamp(a.str(0)).map_or(Value::Null, Value::Bigint),
        "text in a date pattern as epoch milliseconds",
        "STRINGTOTIMESTAMP('2024-01-01 00:00:00', 'yyyy-MM-dd HH:mm:ss')",
    ),
];

fn unix_timestamp_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    if !args.is_empty() {
        timestamp(args, 0)?;
    }
    Ok(SqlType::Bigint)
}

fn unix_timestamp(a: &Args) -> Value {
    match a.values.first() {
        Some(Value::Timestamp(ms)) => Value::Bigint(*ms),
        Some(_) => Value::Null,
        None => Value::Bigint(now_ms()),
    }
}

fn from_unixtime_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    integer(args, 0)?;
    Ok(SqlType::Timestamp)
}

fn to_string_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    integer(args, 0)?;
    (1..args.len()).try_for_each(|i| string(args, i))?;
    Ok(SqlType::String)
}

fn from_string_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    (0..args.len()).try_for_each(|i| string(args, i))?;
    Ok(SqlType::Bigint)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Java's SimpleDateFormat letters for the common patterns (UTC):
/// yyyy MM dd HH mm ss SSS, and quoted literals.
pub fn format_with_pattern(ms: i64, pattern: &str) -> String {
    let iso = format_timestamp(ms); // yyyy-MM-ddTHH:mm:ss.SSS
    let (y, mo, d, h, mi, s, sss) = (
        &iso[0..4],
        &iso[5..7],
        &iso[8..10],
        &iso[11..13],
        &iso[14..16],
        &iso[17..19],
        &iso[20..23],
    );
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        match c {
            'y' => out.push_str(if run == 2 { &y[2..] } else { y }),
            'M' => out.push_str(mo),
            'd' => out.push_str(d),
            'H' => out.push_str(h),
            'm' => out.push_str(mi),
            's' => out.push_str(s),
            'S' => out.push_str(&sss[..run.min(3)]),
            _ => (0..run).for_each(|_| out.push(c)),
        }
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_patterns() {
        assert_eq!(
            format_with_pattern(1_700_000_000_000, "yyyy-MM-dd HH:mm:ss"),
            "2023-11-14 22:13:20"
        );
        assert_eq!(
            format_with_pattern(1_700_000_000_123, "HH:mm:ss.SSS 'UTC'"),
            "22:13:20.123 UTC"
        );
    }
}
