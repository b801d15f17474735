//! Aggregate functions, as the registry lists them. Their binding is in
//! `plan/aggregate.rs` and their state in `exec/operators/aggregate.rs`; the type rule and the
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
        "COUNT_DISTINCT",
        "COUNT_DISTINCT(x)",
        (1, 1),
        "the number of distinct values that are not NULL (COUNT(DISTINCT x))",
        "COUNT_DISTINCT(customer)",
    ),
    aggregate(
        "SUM_LIST",
        "SUM_LIST(array)",
        (1, 1),
        "the sum of the elements of every array (INT, BIGINT or DOUBLE), NULL elements skipped",
        "SUM_LIST(amounts)",
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
        "LATEST_BY_OFFSET(x [, n] [, ignore_nulls])",
        (1, 3),
        "the value of the row with the highest offset, skipping NULLs unless ignore_nulls is FALSE; with n, an array of the n latest values, oldest first",
        "LATEST_BY_OFFSET(status, 2, false)",
    ),
    aggregate(
        "EARLIEST_BY_OFFSET",
        "EARLIEST_BY_OFFSET(x [, n] [, ignore_nulls])",
        (1, 3),
        "the value of the row with the lowest offset, skipping NULLs unless ignore_nulls is FALSE; with n, an array of the n earliest values",
        "EARLIEST_BY_OFFSET(status, 2)",
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
        "TOPK(x, [other, ...,] k)",
        (2, usize::MAX),
        "the k largest values, largest first; with other columns, structs of sort_col (x) and col0, col1, ... (the others)",
        "TOPK(temp, 3)",
    ),
    aggregate(
        "TOPKDISTINCT",
        "TOPKDISTINCT(x, k)",
        (2, 2),
        "the k largest distinct values, largest first",
        "TOPKDISTINCT(temp, 3)",
    ),
    aggregate(
        "HISTOGRAM",
        "HISTOGRAM(s)",
        (1, 1),
        "how many times each string occurs, a MAP<STRING, BIGINT> (at most 1000 strings)",
        "HISTOGRAM(status)",
    ),
    aggregate(
        "STDDEV_SAMP",
        "STDDEV_SAMP(x)",
        (1, 1),
        "the sample variance of the values (as ksqlDB computes it, despite the name), a DOUBLE; 0 below two values",
        "STDDEV_SAMP(temp)",
    ),
    aggregate(
        "STDDEV_SAMPLE",
        "STDDEV_SAMPLE(x)",
        (1, 1),
        "the sample standard deviation of the values, a DOUBLE; 0 below two values",
        "STDDEV_SAMPLE(temp)",
    ),
    aggregate(
        "CORRELATION",
        "CORRELATION(x, y)",
        (2, 2),
        "Pearson's correlation of the (x, y) pairs without NULLs, a DOUBLE (NaN while it is undefined)",
        "CORRELATION(temp, humidity)",
    ),
    aggregate(
        "ATTR",
        "ATTR(x)",
        (1, 1),
        "the value when every row has the same one (NULL counts as a value), else NULL",
        "ATTR(region)",
    ),
];
