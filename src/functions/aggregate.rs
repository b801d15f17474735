//! Aggregate functions, as the registry lists them. Their binding is in
//! `plan/aggregate.rs` and their state in `exec/aggregate/`; the type rule and the
//! implementation here are never called for a scalar call (the binder says an aggregate
//! needs GROUP BY first).

use super::{ArgError, Args, Category, FunctionDef, Kind, Nulls};
use crate::data::{SqlType, Value};

const fn aggregate(
    name: &'static str,
    signature: &'static str,
    args: (usize, usize),
    doc: &'static str,
    example: &'static str,
) -> FunctionDef {
    FunctionDef {
        name,
        kind: Kind::Aggregate,
        category: Category::Aggregate,
        signature,
        min_args: args.0,
        max_args: args.1,
        returns: not_scalar,
        nulls: Nulls::Handled,
        eval: no_value,
        widen_args: false,
        time_unit_first: false,
        lambda: None,
        doc,
        example,
    }
}

fn not_scalar(_: &[SqlType]) -> Result<SqlType, ArgError> {
    Err((0, "used in an aggregation".into()))
}

fn no_value(_: &Args) -> Value {
    Value::Null
}

pub const FUNCTIONS: &[FunctionDef] = &[
    aggregate(
        "COUNT",
        "COUNT(*) | COUNT(x) | COUNT(DISTINCT x)",
        (1, 1),
        "the number of rows, of non-NULL values, or of distinct values",
        "COUNT(*)",
    ),
    aggregate(
        "SUM",
        "SUM(x)",
        (1, 1),
        "the sum of the values",
        "SUM(amount)",
    ),
    aggregate(
        "AVG",
        "AVG(x)",
        (1, 1),
        "the mean of the values, a DOUBLE",
        "AVG(temp)",
    ),
    aggregate("MIN", "MIN(x)", (1, 1), "the smallest value", "MIN(temp)"),
    aggregate("MAX", "MAX(x)", (1, 1), "the largest value", "MAX(temp)"),
    aggregate(
        "LATEST_BY_OFFSET",
        "LATEST_BY_OFFSET(x)",
        (1, 1),
        "the value of the row with the highest offset",
        "LATEST_BY_OFFSET(status)",
    ),
    aggregate(
        "EARLIEST_BY_OFFSET",
        "EARLIEST_BY_OFFSET(x)",
        (1, 1),
        "the value of the row with the lowest offset",
        "EARLIEST_BY_OFFSET(status)",
    ),
    aggregate(
        "COLLECT_LIST",
        "COLLECT_LIST(x)",
        (1, 1),
        "every value, in an array",
        "COLLECT_LIST(item)",
    ),
    aggregate(
        "COLLECT_SET",
        "COLLECT_SET(x)",
        (1, 1),
        "the distinct values, in an array",
        "COLLECT_SET(item)",
    ),
    aggregate(
        "TOPK",
        "TOPK(x, k)",
        (2, 2),
        "the k largest values, largest first",
        "TOPK(temp, 3)",
    ),
];
