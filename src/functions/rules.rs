//! Pieces of return-type rules: checks that an argument has the expected type. A bare
//! NULL (type NULL) fits every argument.

use super::ArgError;
use crate::data::SqlType;

pub type Check = Result<(), ArgError>;

pub fn string(args: &[SqlType], i: usize) -> Check {
    match &args[i] {
        SqlType::String | SqlType::Null => Ok(()),
        _ => Err((i, "a STRING".into())),
    }
}

pub fn strings(args: &[SqlType]) -> Check {
    (0..args.len()).try_for_each(|i| string(args, i))
}

pub fn numeric(args: &[SqlType], i: usize) -> Check {
    if args[i].is_numeric() || args[i] == SqlType::Null {
        Ok(())
    } else {
        Err((i, "a number".into()))
    }
}

pub fn integer(args: &[SqlType], i: usize) -> Check {
    match &args[i] {
        SqlType::Int | SqlType::Bigint | SqlType::Null => Ok(()),
        _ => Err((i, "an INTEGER".into())),
    }
}

pub fn timestamp(args: &[SqlType], i: usize) -> Check {
    match &args[i] {
        SqlType::Timestamp | SqlType::Null => Ok(()),
        _ => Err((i, "a TIMESTAMP".into())),
    }
}

pub fn date(args: &[SqlType], i: usize) -> Check {
    match &args[i] {
        SqlType::Date | SqlType::Null => Ok(()),
        _ => Err((i, "a DATE".into())),
    }
}

pub fn time(args: &[SqlType], i: usize) -> Check {
    match &args[i] {
        SqlType::Time | SqlType::Null => Ok(()),
        _ => Err((i, "a TIME".into())),
    }
}

/// The element type of an ARRAY argument (NULL for a bare NULL).
pub fn array(args: &[SqlType], i: usize) -> Result<SqlType, ArgError> {
    match &args[i] {
        SqlType::Array(t) => Ok((**t).clone()),
        SqlType::Null => Ok(SqlType::Null),
        _ => Err((i, "an ARRAY".into())),
    }
}

/// The key and value types of a MAP argument.
pub fn map(args: &[SqlType], i: usize) -> Result<(SqlType, SqlType), ArgError> {
    match &args[i] {
        SqlType::Map(k, v) => Ok(((**k).clone(), (**v).clone())),
        SqlType::Null => Ok((SqlType::String, SqlType::Null)),
        _ => Err((i, "a MAP".into())),
    }
}

/// The type every argument from `from` on can take (numbers widen; NULL fits anything).
pub fn common(args: &[SqlType], from: usize) -> Result<SqlType, ArgError> {
    let mut ty = SqlType::Null;
    for (i, a) in args.iter().enumerate().skip(from) {
        ty = unify(&ty, a).ok_or((i, format!("a {ty}, like the arguments before it")))?;
    }
    Ok(ty)
}

/// The type both values can take (numbers widen; NULL fits anything).
pub fn unify(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (SqlType::Null, t) | (t, SqlType::Null) => Some(t.clone()),
        (x, y) if x.is_numeric() && y.is_numeric() => SqlType::common_numeric(x, y),
        (SqlType::Array(x), SqlType::Array(y)) => Some(SqlType::Array(Box::new(unify(x, y)?))),
        (SqlType::Map(k1, v1), SqlType::Map(k2, v2)) => Some(SqlType::Map(
            Box::new(unify(k1, k2)?),
            Box::new(unify(v1, v2)?),
        )),
        // Structs join field by field (names are case-sensitive); a field only one has
        // is NULL in the other's values.
        (SqlType::Struct(x), SqlType::Struct(y)) => {
            let mut fields = Vec::with_capacity(x.len().max(y.len()));
            for (name, t) in x {
                let joined = match y.iter().find(|(n, _)| n == name) {
                    Some((_, u)) => unify(t, u)?,
                    None => t.clone(),
                };
                fields.push((name.clone(), joined));
            }
            fields.extend(
                y.iter()
                    .filter(|(n, _)| !x.iter().any(|(m, _)| m == n))
                    .cloned(),
            );
            Some(SqlType::Struct(fields))
        }
        _ => None,
    }
}

/// A number's type as a result, a bare NULL read as DOUBLE.
pub fn numeric_result(t: &SqlType) -> SqlType {
    if *t == SqlType::Null {
        SqlType::Double
    } else {
        t.clone()
    }
}
