//! Scalar functions: their names, arities and result types. Their code is in
//! `exec/functions.rs`; this module only decides whether a call makes sense.

use crate::data::SqlType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    Ucase,
    Lcase,
    Trim,
    Ltrim,
    Rtrim,
    Len,
    Concat,
    ConcatWs,
    Substring,
    Replace,
    Instr,
    Lpad,
    Rpad,
    Abs,
    Round,
    Floor,
    Ceil,
    Sqrt,
    Exp,
    Ln,
    Power,
    Sign,
    Random,
    Coalesce,
    Ifnull,
    Nullif,
    UnixTimestamp,
    TimestampToString,
    StringToTimestamp,
    FromUnixtime,
    ArrayLength,
    GeoDistance,
}

/// What a function accepts, checked against the argument types.
pub struct Signature {
    pub func: Func,
    pub name: &'static str,
    pub min_args: usize,
    /// `usize::MAX` for variadic functions.
    pub max_args: usize,
    pub example: &'static str,
}

const fn sig(
    func: Func,
    name: &'static str,
    min_args: usize,
    max_args: usize,
    example: &'static str,
) -> Signature {
    Signature {
        func,
        name,
        min_args,
        max_args,
        example,
    }
}

pub const FUNCTIONS: &[Signature] = &[
    sig(Func::Ucase, "UCASE", 1, 1, "UCASE(name)"),
    sig(Func::Lcase, "LCASE", 1, 1, "LCASE(name)"),
    sig(Func::Trim, "TRIM", 1, 1, "TRIM(name)"),
    sig(Func::Ltrim, "LTRIM", 1, 1, "LTRIM(name)"),
    sig(Func::Rtrim, "RTRIM", 1, 1, "RTRIM(name)"),
    sig(Func::Len, "LEN", 1, 1, "LEN(name)"),
    sig(Func::Len, "LENGTH", 1, 1, "LENGTH(name)"),
    sig(
        Func::Concat,
        "CONCAT",
        1,
        usize::MAX,
        "CONCAT(first, ' ', last)",
    ),
    sig(
        Func::ConcatWs,
        "CONCAT_WS",
        2,
        usize::MAX,
        "CONCAT_WS('-', a, b)",
    ),
    sig(Func::Substring, "SUBSTRING", 2, 3, "SUBSTRING(name, 1, 3)"),
    sig(Func::Replace, "REPLACE", 3, 3, "REPLACE(name, 'a', 'b')"),
    sig(Func::Instr, "INSTR", 2, 2, "INSTR(name, 'x')"),
    sig(Func::Lpad, "LPAD", 3, 3, "LPAD(id, 5, '0')"),
    sig(Func::Rpad, "RPAD", 3, 3, "RPAD(id, 5, ' ')"),
    sig(Func::Abs, "ABS", 1, 1, "ABS(delta)"),
    sig(Func::Round, "ROUND", 1, 2, "ROUND(temp, 1)"),
    sig(Func::Floor, "FLOOR", 1, 1, "FLOOR(temp)"),
    sig(Func::Ceil, "CEIL", 1, 1, "CEIL(temp)"),
    sig(Func::Sqrt, "SQRT", 1, 1, "SQRT(x)"),
    sig(Func::Exp, "EXP", 1, 1, "EXP(x)"),
    sig(Func::Ln, "LN", 1, 1, "LN(x)"),
    sig(Func::Power, "POWER", 2, 2, "POWER(x, 2)"),
    sig(Func::Sign, "SIGN", 1, 1, "SIGN(x)"),
    sig(Func::Random, "RANDOM", 0, 0, "RANDOM()"),
    sig(
        Func::Coalesce,
        "COALESCE",
        1,
        usize::MAX,
        "COALESCE(a, b, 'none')",
    ),
    sig(Func::Ifnull, "IFNULL", 2, 2, "IFNULL(a, 'none')"),
    sig(Func::Nullif, "NULLIF", 2, 2, "NULLIF(a, '')"),
    sig(
        Func::UnixTimestamp,
        "UNIX_TIMESTAMP",
        0,
        1,
        "UNIX_TIMESTAMP()",
    ),
    sig(
        Func::TimestampToString,
        "TIMESTAMPTOSTRING",
        2,
        3,
        "TIMESTAMPTOSTRING(ROWTIME, 'yyyy-MM-dd HH:mm:ss')",
    ),
    sig(
        Func::StringToTimestamp,
        "STRINGTOTIMESTAMP",
        2,
        3,
        "STRINGTOTIMESTAMP(ts, 'yyyy-MM-dd HH:mm:ss')",
    ),
    sig(
        Func::FromUnixtime,
        "FROM_UNIXTIME",
        1,
        1,
        "FROM_UNIXTIME(ts)",
    ),
    sig(
        Func::ArrayLength,
        "ARRAY_LENGTH",
        1,
        1,
        "ARRAY_LENGTH(tags)",
    ),
    sig(
        Func::GeoDistance,
        "GEO_DISTANCE",
        4,
        5,
        "GEO_DISTANCE(lat, lon, 37.41, -122.11, 'KM')",
    ),
];

/// Aggregate functions: known names, so that using one outside an aggregation says so.
pub const AGGREGATES: &[&str] = &[
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "LATEST_BY_OFFSET",
    "EARLIEST_BY_OFFSET",
    "COLLECT_LIST",
    "COLLECT_SET",
    "TOPK",
];

/// Names other SQL dialects use for kql's functions, for a "did you mean".
pub const ALIASES: &[(&str, &str)] = &[
    ("UPPER", "UCASE"),
    ("LOWER", "LCASE"),
    ("CHAR_LENGTH", "LEN"),
    ("SUBSTR", "SUBSTRING"),
    ("NVL", "IFNULL"),
    ("NOW", "UNIX_TIMESTAMP"),
    ("POW", "POWER"),
    ("CEILING", "CEIL"),
];

pub fn lookup(name: &str) -> Option<&'static Signature> {
    FUNCTIONS.iter().find(|s| s.name == name)
}

/// What each argument must be, and the result type; `Err` names the offending argument
/// (its index) and what was expected.
pub fn check(func: Func, args: &[SqlType]) -> Result<SqlType, (usize, String)> {
    use SqlType as T;
    let string = |i: usize| -> Result<(), (usize, String)> {
        match &args[i] {
            T::String | T::Null => Ok(()),
            _ => Err((i, "a STRING".into())),
        }
    };
    let numeric = |i: usize| -> Result<(), (usize, String)> {
        if args[i].is_numeric() || args[i] == T::Null {
            Ok(())
        } else {
            Err((i, "a number".into()))
        }
    };
    let integer = |i: usize| -> Result<(), (usize, String)> {
        match &args[i] {
            T::Int | T::Bigint | T::Null => Ok(()),
            _ => Err((i, "an INTEGER".into())),
        }
    };
    let numeric_result = |t: &SqlType| if *t == T::Null { T::Double } else { t.clone() };
    match func {
        Func::Ucase | Func::Lcase | Func::Trim | Func::Ltrim | Func::Rtrim => {
            string(0)?;
            Ok(T::String)
        }
        Func::Len => {
            string(0)?;
            Ok(T::Int)
        }
        Func::Concat => {
            for i in 0..args.len() {
                string(i)?;
            }
            Ok(T::String)
        }
        Func::ConcatWs => {
            for i in 0..args.len() {
                string(i)?;
            }
            Ok(T::String)
        }
        Func::Substring => {
            string(0)?;
            integer(1)?;
            if args.len() > 2 {
                integer(2)?;
            }
            Ok(T::String)
        }
        Func::Replace => {
            string(0)?;
            string(1)?;
            string(2)?;
            Ok(T::String)
        }
        Func::Instr => {
            string(0)?;
            string(1)?;
            Ok(T::Int)
        }
        Func::Lpad | Func::Rpad => {
            string(0)?;
            integer(1)?;
            string(2)?;
            Ok(T::String)
        }
        Func::Abs | Func::Floor | Func::Ceil | Func::Sign => {
            numeric(0)?;
            Ok(numeric_result(&args[0]))
        }
        Func::Round => {
            numeric(0)?;
            if args.len() == 2 {
                integer(1)?;
                Ok(numeric_result(&args[0]))
            } else {
                // ROUND(x) of a DOUBLE is a BIGINT in ksqlDB
                Ok(match &args[0] {
                    T::Double | T::Null => T::Bigint,
                    t => t.clone(),
                })
            }
        }
        Func::Sqrt | Func::Exp | Func::Ln => {
            numeric(0)?;
            Ok(T::Double)
        }
        Func::Power => {
            numeric(0)?;
            numeric(1)?;
            Ok(T::Double)
        }
        Func::Random => Ok(T::Double),
        Func::Coalesce | Func::Ifnull => {
            let mut ty = T::Null;
            for (i, a) in args.iter().enumerate() {
                ty = unify(&ty, a).ok_or((i, format!("a {ty}, like the arguments before it")))?;
            }
            Ok(ty)
        }
        Func::Nullif => {
            unify(&args[0], &args[1])
                .ok_or((1, format!("a {}, like the first argument", args[0])))?;
            Ok(args[0].clone())
        }
        Func::UnixTimestamp => {
            if args.len() == 1 && !matches!(args[0], T::Timestamp | T::Null) {
                return Err((0, "a TIMESTAMP".into()));
            }
            Ok(T::Bigint)
        }
        Func::TimestampToString => {
            integer(0)?;
            string(1)?;
            if args.len() > 2 {
                string(2)?;
            }
            Ok(T::String)
        }
        Func::StringToTimestamp => {
            string(0)?;
            string(1)?;
            if args.len() > 2 {
                string(2)?;
            }
            Ok(T::Bigint)
        }
        Func::FromUnixtime => {
            integer(0)?;
            Ok(T::Timestamp)
        }
        Func::GeoDistance => {
            for i in 0..4 {
                numeric(i)?;
            }
            if args.len() == 5 {
                string(4)?;
            }
            Ok(T::Double)
        }
        Func::ArrayLength => match &args[0] {
            T::Array(_) | T::Null => Ok(T::Int),
            _ => Err((0, "an ARRAY".into())),
        },
    }
}

/// The type both values can take (numbers widen; NULL fits anything).
pub fn unify(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (SqlType::Null, t) | (t, SqlType::Null) => Some(t.clone()),
        (x, y) if x.is_numeric() && y.is_numeric() => SqlType::common_numeric(x, y),
        _ => None,
    }
}
