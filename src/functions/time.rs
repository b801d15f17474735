//! Date and time functions. TIMESTAMPs are epoch milliseconds, DATEs days since the epoch,
//! TIMEs milliseconds since midnight; patterns use Java's letters (see `pattern.rs`) and
//! time zones Java's IDs, as in ksqlDB. Text that does not match its pattern gives NULL.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::pattern::{format, parse_ms, parse_ms_of_beginning, zone};
use super::rules::{date, integer, string, time, timestamp};
use super::string::text;
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::{SqlType, Value};

const C: Category = Category::DateTime;
const DAY_MS: i64 = 86_400_000;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "UNIX_TIMESTAMP",
        C,
        "UNIX_TIMESTAMP([ts])",
        (0, 1),
        |t| opt(t, timestamp, SqlType::Bigint),
        unix_timestamp,
        "milliseconds since the epoch: now, or of a TIMESTAMP",
        "UNIX_TIMESTAMP(FROM_UNIXTIME(5)) = 5",
    ),
    scalar(
        "UNIX_DATE",
        C,
        "UNIX_DATE([date])",
        (0, 1),
        |t| opt(t, date, SqlType::Int),
        unix_date,
        "days since the epoch: today, or of a DATE",
        "UNIX_DATE(FROM_DAYS(3)) = 3",
    ),
    scalar(
        "FROM_UNIXTIME",
        C,
        "FROM_UNIXTIME(ms)",
        (1, 1),
        |t| integer(t, 0).map(|_| SqlType::Timestamp),
        |a| Value::Timestamp(a.int(0)),
        "the TIMESTAMP of epoch milliseconds",
        "FROM_UNIXTIME(0)",
    ),
    scalar(
        "FROM_DAYS",
        C,
        "FROM_DAYS(days)",
        (1, 1),
        |t| integer(t, 0).map(|_| SqlType::Date),
        |a| Value::Date(a.int(0) as i32),
        "the DATE of a number of days since the epoch",
        "FROM_DAYS(19000)",
    ),
    scalar(
        "FORMAT_TIMESTAMP",
        C,
        "FORMAT_TIMESTAMP(ts, pattern [, zone])",
        (2, 3),
        |t| format_type(t, timestamp),
        |a| format_at(a, a.int(0)),
        "a TIMESTAMP as text in a Java pattern, in UTC or a zone",
        "FORMAT_TIMESTAMP(FROM_UNIXTIME(0), 'yyyy-MM-dd HH:mm') = '1970-01-01 00:00'",
    ),
    scalar(
        "PARSE_TIMESTAMP",
        C,
        "PARSE_TIMESTAMP(text, pattern [, zone])",
        (2, 3),
        |t| parse_type(t, SqlType::Timestamp),
        |a| parse_at(a).map_or(Value::Null, Value::Timestamp),
        "text in a Java pattern as a TIMESTAMP",
        "PARSE_TIMESTAMP('2021-06-30 12:18', 'yyyy-MM-dd HH:mm')",
    ),
    scalar(
        "FORMAT_DATE",
        C,
        "FORMAT_DATE(date, pattern)",
        (2, 2),
        |t| format_type(t, date),
        |a| format_at(a, date_ms(a.get(0))),
        "a DATE as text in a Java pattern",
        "FORMAT_DATE(FROM_DAYS(0), 'dd/MM/yyyy') = '01/01/1970'",
    ),
    scalar(
        "PARSE_DATE",
        C,
        "PARSE_DATE(text, pattern)",
        (2, 2),
        |t| parse_type(t, SqlType::Date),
        |a| {
            // ksqlDB's PARSE_DATE ignores what follows the pattern (`pattern.rs`)
            let ms = zone_arg(a).and_then(|tz| parse_ms_of_beginning(a.str(0), a.str(1), tz));
            ms.map_or(Value::Null, |ms| Value::Date(ms.div_euclid(DAY_MS) as i32))
        },
        "text in a Java pattern as a DATE; what follows the pattern is ignored, as in ksqlDB",
        "PARSE_DATE('2021-10-11', 'yyyy-MM-dd')",
    ),
    scalar(
        "FORMAT_TIME",
        C,
        "FORMAT_TIME(time, pattern)",
        (2, 2),
        |t| format_type(t, time),
        |a| format_at(a, time_ms(a.get(0))),
        "a TIME as text in a Java pattern",
        "FORMAT_TIME(PARSE_TIME('13:25', 'HH:mm'), 'HH.mm') = '13.25'",
    ),
    scalar(
        "PARSE_TIME",
        C,
        "PARSE_TIME(text, pattern)",
        (2, 2),
        |t| parse_type(t, SqlType::Time),
        |a| parse_at(a).map_or(Value::Null, |ms| Value::Time(ms.rem_euclid(DAY_MS) as i32)),
        "text in a Java pattern as a TIME",
        "PARSE_TIME('13:25', 'HH:mm')",
    ),
    scalar(
        "TIMESTAMPTOSTRING",
        C,
        "TIMESTAMPTOSTRING(ms, pattern [, zone])",
        (2, 3),
        |t| format_type(t, integer),
        |a| format_at(a, a.int(0)),
        "epoch milliseconds as text in a Java pattern (FORMAT_TIMESTAMP for BIGINTs)",
        "TIMESTAMPTOSTRING(0, 'yyyy-MM-dd') = '1970-01-01'",
    ),
    scalar(
        "STRINGTOTIMESTAMP",
        C,
        "STRINGTOTIMESTAMP(text, pattern [, zone])",
        (2, 3),
        |t| parse_type(t, SqlType::Bigint),
        |a| parse_at(a).map_or(Value::Null, Value::Bigint),
        "text in a Java pattern as epoch milliseconds",
        "STRINGTOTIMESTAMP('1970-01-01 00:00:01', 'yyyy-MM-dd HH:mm:ss') = 1000",
    ),
    scalar(
        "DATETOSTRING",
        C,
        "DATETOSTRING(days, pattern)",
        (2, 2),
        |t| format_type(t, integer),
        |a| format_at(a, a.int(0) * DAY_MS),
        "days since the epoch as text in a Java pattern (FORMAT_DATE for INTs)",
        "DATETOSTRING(1, 'yyyy-MM-dd') = '1970-01-02'",
    ),
    scalar(
        "STRINGTODATE",
        C,
        "STRINGTODATE(text, pattern)",
        (2, 2),
        |t| parse_type(t, SqlType::Int),
        |a| parse_at(a).map_or(Value::Null, |ms| Value::Int(ms.div_euclid(DAY_MS) as i32)),
        "text in a Java pattern as days since the epoch",
        "STRINGTODATE('1970-01-02', 'yyyy-MM-dd') = 1",
    ),
    scalar(
        "CONVERT_TZ",
        C,
        "CONVERT_TZ(ts, from_zone, to_zone)",
        (3, 3),
        convert_tz_type,
        convert_tz,
        "a TIMESTAMP's wall-clock time moved from one zone to another",
        "CONVERT_TZ(FROM_UNIXTIME(0), 'UTC', 'America/Los_Angeles')",
    ),
    scalar(
        "TIMESTAMPADD",
        C,
        "TIMESTAMPADD(unit, n, ts)",
        (3, 3),
        |t| add_type(t, timestamp),
        |a| shift(a, 1),
        "a TIMESTAMP plus n units (SECONDS, MINUTES, HOURS, DAYS, ...)",
        "TIMESTAMPADD(SECONDS, 5, FROM_UNIXTIME(0))",
    )
    .time_unit_first(),
    scalar(
        "TIMESTAMPSUB",
        C,
        "TIMESTAMPSUB(unit, n, ts)",
        (3, 3),
        |t| add_type(t, timestamp),
        |a| shift(a, -1),
        "a TIMESTAMP minus n units",
        "TIMESTAMPSUB(DAYS, 1, FROM_UNIXTIME(0))",
    )
    .time_unit_first(),
    scalar(
        "DATEADD",
        C,
        "DATEADD(unit, n, date)",
        (3, 3),
        |t| add_type(t, date),
        |a| shift(a, 1),
        "a DATE plus n units",
        "DATEADD(DAYS, 3, FROM_DAYS(0))",
    )
    .time_unit_first(),
    scalar(
        "DATESUB",
        C,
        "DATESUB(unit, n, date)",
        (3, 3),
        |t| add_type(t, date),
        |a| shift(a, -1),
        "a DATE minus n units",
        "DATESUB(DAYS, 3, FROM_DAYS(10))",
    )
    .time_unit_first(),
    scalar(
        "TIMEADD",
        C,
        "TIMEADD(unit, n, time)",
        (3, 3),
        |t| add_type(t, time),
        |a| shift(a, 1),
        "a TIME plus n units, around the clock",
        "TIMEADD(HOURS, 2, PARSE_TIME('23:00', 'HH:mm'))",
    )
    .time_unit_first(),
    scalar(
        "TIMESUB",
        C,
        "TIMESUB(unit, n, time)",
        (3, 3),
        |t| add_type(t, time),
        |a| shift(a, -1),
        "a TIME minus n units, around the clock",
        "TIMESUB(MINUTES, 5, PARSE_TIME('00:01', 'HH:mm'))",
    )
    .time_unit_first(),
];

/// The units DATEADD and its siblings take, in milliseconds.
pub const TIME_UNITS: &[(&str, i64)] = &[
    ("MILLISECONDS", 1),
    ("SECONDS", 1000),
    ("MINUTES", 60_000),
    ("HOURS", 3_600_000),
    ("DAYS", DAY_MS),
];

type Check = fn(&[SqlType], usize) -> Result<(), ArgError>;

fn opt(args: &[SqlType], check: Check, out: SqlType) -> Result<SqlType, ArgError> {
    if !args.is_empty() {
        check(args, 0)?;
    }
    Ok(out)
}

fn format_type(args: &[SqlType], first: Check) -> Result<SqlType, ArgError> {
    first(args, 0)?;
    (1..args.len()).try_for_each(|i| string(args, i))?;
    Ok(SqlType::String)
}

fn parse_type(args: &[SqlType], out: SqlType) -> Result<SqlType, ArgError> {
    (0..args.len()).try_for_each(|i| string(args, i))?;
    Ok(out)
}

fn add_type(args: &[SqlType], third: Check) -> Result<SqlType, ArgError> {
    string(args, 0)?;
    integer(args, 1)?;
    third(args, 2)?;
    Ok(if args[2] == SqlType::Null {
        SqlType::Timestamp
    } else {
        args[2].clone()
    })
}

fn convert_tz_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    timestamp(args, 0)?;
    string(args, 1)?;
    string(args, 2)?;
    Ok(SqlType::Timestamp)
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn unix_timestamp(a: &Args) -> Value {
    match a.values.first() {
        Some(Value::Timestamp(ms)) => Value::Bigint(*ms),
        Some(_) => Value::Null,
        None => Value::Bigint(now_ms()),
    }
}

fn unix_date(a: &Args) -> Value {
    match a.values.first() {
        Some(Value::Date(d)) => Value::Int(*d),
        Some(_) => Value::Null,
        None => Value::Int(now_ms().div_euclid(DAY_MS) as i32),
    }
}

fn time_ms(v: &Value) -> i64 {
    match v {
        Value::Time(t) => *t as i64,
        _ => 0,
    }
}

fn date_ms(v: &Value) -> i64 {
    match v {
        Value::Date(d) => *d as i64 * DAY_MS,
        _ => 0,
    }
}

/// The optional zone argument (the third), UTC without one; None if unknown.
fn zone_arg(a: &Args) -> Option<Tz> {
    if a.len() > 2 {
        zone(a.str(2))
    } else {
        Some(Tz::UTC)
    }
}

fn format_at(a: &Args, ms: i64) -> Value {
    zone_arg(a)
        .and_then(|tz| format(ms, a.str(1), tz))
        .map_or(Value::Null, text)
}

fn parse_at(a: &Args) -> Option<i64> {
    parse_ms(a.str(0), a.str(1), zone_arg(a)?)
}

fn convert_tz(a: &Args) -> Value {
    let (Some(from), Some(to)) = (zone(a.str(1)), zone(a.str(2))) else {
        return Value::Null;
    };
    let Some(naive) = DateTime::<Utc>::from_timestamp_millis(a.int(0)).map(|t| t.naive_utc())
    else {
        return Value::Null;
    };
    match from.from_local_datetime(&naive).earliest() {
        Some(instant) => Value::Timestamp(
            instant
                .with_timezone(&to)
                .naive_local()
                .and_utc()
                .timestamp_millis(),
        ),
        None => Value::Null,
    }
}

fn shift(a: &Args, sign: i64) -> Value {
    let unit = a.str(0).to_ascii_uppercase();
    let Some((_, unit_ms)) = TIME_UNITS
        .iter()
        .find(|(n, _)| *n == unit || n.trim_end_matches('S') == unit)
    else {
        return Value::Null;
    };
    // A shift past the range of the type is NULL, as a failing function is, never a wrapped time.
    let shifted = (|| {
        let delta = a.int(1).checked_mul(sign)?.checked_mul(*unit_ms)?;
        Some(match a.get(2) {
            Value::Timestamp(ms) => Value::Timestamp(ms.checked_add(delta)?),
            Value::Date(d) => Value::Date(
                i32::try_from((*d as i64 * DAY_MS).checked_add(delta)?.div_euclid(DAY_MS)).ok()?,
            ),
            Value::Time(t) => Value::Time((*t as i64 + delta % DAY_MS).rem_euclid(DAY_MS) as i32),
            _ => Value::Null,
        })
    })();
    shifted.unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use crate::data::Value;
    use crate::functions::testing::{call, s};

    #[test]
    fn a_shift_out_of_range_is_null_not_a_wrapped_time() {
        let ts = Value::Timestamp(i64::MAX - 10);
        assert_eq!(
            call(
                "TIMESTAMPADD",
                &[s("MILLISECONDS"), Value::Bigint(5), ts.clone()]
            ),
            Value::Timestamp(i64::MAX - 5)
        );
        assert_eq!(
            call("TIMESTAMPADD", &[s("MILLISECONDS"), Value::Bigint(11), ts]),
            Value::Null
        );
        assert_eq!(
            call(
                "DATEADD",
                &[s("DAYS"), Value::Bigint(i64::MAX), Value::Date(0)]
            ),
            Value::Null
        );
        assert_eq!(
            call(
                "DATEADD",
                &[s("DAYS"), Value::Bigint(1 << 40), Value::Date(0)]
            ),
            Value::Null
        );
        assert_eq!(
            call("DATEADD", &[s("DAYS"), Value::Bigint(-1), Value::Date(0)]),
            Value::Date(-1)
        );
        assert_eq!(
            call("TIMEADD", &[s("HOURS"), Value::Bigint(-1), Value::Time(0)]),
            Value::Time(23 * 3_600_000)
        );
    }

    #[test]
    fn formats_and_parses_in_java_patterns() {
        let ts = Value::Timestamp(1_700_000_000_123);
        assert_eq!(
            call(
                "FORMAT_TIMESTAMP",
                &[ts.clone(), s("yyyy-MM-dd'T'HH:mm:ss.SSS")]
            ),
            s("2023-11-14T22:13:20.123")
        );
        assert_eq!(
            call("FORMAT_TIMESTAMP", &[ts, s("HH:mm"), s("Europe/Paris")]),
            s("23:13")
        );
        assert_eq!(
            call("PARSE_DATE", &[s("2021-10-11"), s("yyyy-MM-dd")]),
            Value::Date(18911)
        );
        assert_eq!(
            call("PARSE_TIME", &[s("13:25"), s("HH:mm")]),
            Value::Time(48_300_000)
        );
        assert_eq!(
            call("FORMAT_DATE", &[Value::Date(18911), s("dd/MM/yyyy")]),
            s("11/10/2021")
        );
        assert_eq!(
            call("FORMAT_TIME", &[Value::Time(48_300_000), s("HH.mm")]),
            s("13.25")
        );
        assert_eq!(
            call("STRINGTODATE", &[s("1970-01-02"), s("yyyy-MM-dd")]),
            Value::Int(1)
        );
        assert_eq!(
            call("DATETOSTRING", &[Value::Int(1), s("yyyy-MM-dd")]),
            s("1970-01-02")
        );
        assert_eq!(
            call(
                "STRINGTOTIMESTAMP",
                &[s("1970-01-01 00:00:01"), s("yyyy-MM-dd HH:mm:ss")]
            ),
            Value::Bigint(1000)
        );
        assert_eq!(
            call("TIMESTAMPTOSTRING", &[Value::Bigint(0), s("yyyy")]),
            s("1970")
        );
        assert_eq!(
            call("PARSE_DATE", &[s("nope"), s("yyyy-MM-dd")]),
            Value::Null
        );
    }

    #[test]
    fn arithmetic_on_times() {
        assert_eq!(
            call("DATEADD", &[s("DAYS"), Value::Int(3), Value::Date(1)]),
            Value::Date(4)
        );
        assert_eq!(
            call("DATESUB", &[s("DAYS"), Value::Int(3), Value::Date(1)]),
            Value::Date(-2)
        );
        assert_eq!(
            call(
                "TIMEADD",
                &[s("HOURS"), Value::Int(2), Value::Time(23 * 3_600_000)]
            ),
            Value::Time(3_600_000)
        );
        assert_eq!(
            call(
                "TIMESTAMPADD",
                &[s("SECONDS"), Value::Int(5), Value::Timestamp(0)]
            ),
            Value::Timestamp(5000)
        );
        assert_eq!(
            call(
                "TIMESTAMPSUB",
                &[s("MINUTES"), Value::Null, Value::Timestamp(0)]
            ),
            Value::Null
        );
        // 1970-01-01 00:00 in UTC is 1969-12-31 16:00 in Los Angeles (PST, -8h)
        let la = call(
            "CONVERT_TZ",
            &[Value::Timestamp(0), s("UTC"), s("America/Los_Angeles")],
        );
        assert_eq!(la, Value::Timestamp(-8 * 3_600_000));
        assert_eq!(call("UNIX_DATE", &[Value::Date(7)]), Value::Int(7));
    }
}
