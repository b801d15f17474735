//! Functions about NULLs and choosing between values.

use super::rules::{common, unify};
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::{SqlType, Value};

const C: Category = Category::Nulls;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "COALESCE",
        C,
        "COALESCE(a, b, ...)",
        (1, usize::MAX),
        |t| common(t, 0),
        coalesce,
        "the first argument that is not NULL",
        "COALESCE(NULL, 'x') = 'x'",
    )
    .handles_nulls()
    .widening(),
    scalar(
        "IFNULL",
        C,
        "IFNULL(a, otherwise)",
        (2, 2),
        |t| common(t, 0),
        coalesce,
        "a, or the second argument when a is NULL",
        "IFNULL(NULL, 0) = 0",
    )
    .handles_nulls()
    .widening(),
    scalar(
        "NULLIF",
        C,
        "NULLIF(a, b)",
        (2, 2),
        nullif_type,
        nullif,
        "NULL when a equals b, a otherwise",
        "NULLIF('', '') IS NULL",
    )
    .handles_nulls(),
    scalar(
        "AS_VALUE",
        C,
        "AS_VALUE(column)",
        (1, 1),
        |t| Ok(t[0].clone()),
        |a| a.get(0).clone(),
        "a copy of a (key) column, to store it in the value as well",
        "AS_VALUE(id)",
    )
    .handles_nulls(),
];

fn coalesce(a: &Args) -> Value {
    a.values
        .iter()
        .find(|v| !v.is_null())
        .cloned()
        .unwrap_or(Value::Null)
}

fn nullif_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    unify(&args[0], &args[1]).ok_or((1, format!("a {}, like the first argument", args[0])))?;
    Ok(args[0].clone())
}

fn nullif(a: &Args) -> Value {
    if a.get(0) == a.get(1) {
        Value::Null
    } else {
        a.get(0).clone()
    }
}

#[cfg(test)]
mod tests {
    use crate::data::Value;
    use crate::functions::testing::{call, s};

    #[test]
    fn null_functions() {
        assert_eq!(call("COALESCE", &[Value::Null, s("x"), s("y")]), s("x"));
        assert_eq!(call("IFNULL", &[Value::Null, Value::Int(0)]), Value::Int(0));
        assert_eq!(call("NULLIF", &[s("a"), s("a")]), Value::Null);
        assert_eq!(call("NULLIF", &[s("a"), s("b")]), s("a"));
    }
}
