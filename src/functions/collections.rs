//! Array and map functions. Array positions are 1-based, as in ksqlDB; elements compare
//! by SQL order, with NULLs after every value.

use std::cmp::Ordering;
use std::sync::Arc;

use super::rules::{array, integer, map, string, unify};
use super::string::text;
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::{SqlType, Value};

const C: Category = Category::Collections;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "ARRAY_LENGTH",
        C,
        "ARRAY_LENGTH(array)",
        (1, 1),
        length_type,
        array_length,
        "the number of elements",
        "ARRAY_LENGTH(ARRAY[1, 2]) = 2",
    ),
    scalar(
        "ARRAY_CONCAT",
        C,
        "ARRAY_CONCAT(a, b)",
        (2, 2),
        two_arrays,
        array_concat,
        "a's elements then b's; NULL only when both are NULL",
        "ARRAY_CONCAT(ARRAY[1, 2], ARRAY[3]) = [1, 2, 3]",
    )
    .handles_nulls(),
    scalar(
        "ARRAY_CONTAINS",
        C,
        "ARRAY_CONTAINS(array, x)",
        (2, 2),
        contains_type,
        array_contains,
        "is x an element?",
        "ARRAY_CONTAINS(ARRAY[1, 2], 2) = true",
    )
    .handles_nulls(),
    scalar(
        "ARRAY_DISTINCT",
        C,
        "ARRAY_DISTINCT(array)",
        (1, 1),
        same_array,
        |a| Value::Array(Arc::new(distinct(items(a.get(0))))),
        "the distinct elements, in order of first occurrence",
        "ARRAY_DISTINCT(ARRAY[1, 1, 2]) = [1, 2]",
    ),
    scalar(
        "ARRAY_EXCEPT",
        C,
        "ARRAY_EXCEPT(a, b)",
        (2, 2),
        two_arrays,
        array_except,
        "the distinct elements of a that are not in b",
        "ARRAY_EXCEPT(ARRAY[1, 2, 3], ARRAY[2]) = [1, 3]",
    ),
    scalar(
        "ARRAY_INTERSECT",
        C,
        "ARRAY_INTERSECT(a, b)",
        (2, 2),
        two_arrays,
        array_intersect,
        "the distinct elements of a that are also in b",
        "ARRAY_INTERSECT(ARRAY[1, 2, 3], ARRAY[2, 1]) = [1, 2]",
    ),
    scalar(
        "ARRAY_UNION",
        C,
        "ARRAY_UNION(a, b)",
        (2, 2),
        two_arrays,
        array_union,
        "the distinct elements of both, in order",
        "ARRAY_UNION(ARRAY[1, 2], ARRAY[2, 3]) = [1, 2, 3]",
    ),
    scalar(
        "ARRAY_JOIN",
        C,
        "ARRAY_JOIN(array [, delimiter])",
        (1, 2),
        join_type,
        array_join,
        "the elements as text, joined by the delimiter (default ',')",
        "ARRAY_JOIN(ARRAY[1, 2], '-') = '1-2'",
    )
    .handles_nulls(),
    scalar(
        "ARRAY_MAX",
        C,
        "ARRAY_MAX(array)",
        (1, 1),
        element_type,
        |a| extreme(a, Ordering::Greater),
        "the largest element, NULLs ignored",
        "ARRAY_MAX(ARRAY[1, 3, 2]) = 3",
    ),
    scalar(
        "ARRAY_MIN",
        C,
        "ARRAY_MIN(array)",
        (1, 1),
        element_type,
        |a| extreme(a, Ordering::Less),
        "the smallest element, NULLs ignored",
        "ARRAY_MIN(ARRAY[1, 3, 2]) = 1",
    ),
    scalar(
        "ARRAY_REMOVE",
        C,
        "ARRAY_REMOVE(array, x)",
        (2, 2),
        contains_same_array,
        array_remove,
        "the array without the elements equal to x (NULL removes NULLs)",
        "ARRAY_REMOVE(ARRAY[1, 2, 1], 1) = [2]",
    )
    .handles_nulls(),
    scalar(
        "ARRAY_SORT",
        C,
        "ARRAY_SORT(array [, 'ASC' | 'DESC'])",
        (1, 2),
        sort_type,
        array_sort,
        "the elements sorted, NULLs last",
        "ARRAY_SORT(ARRAY[3, 1, 2], 'DESC') = [3, 2, 1]",
    ),
    scalar(
        "SLICE",
        C,
        "SLICE(array, from, to)",
        (3, 3),
        slice_type,
        slice,
        "the elements from one position to another, both included",
        "SLICE(ARRAY[1, 2, 3, 4], 2, 3) = [2, 3]",
    ),
    scalar(
        "GENERATE_SERIES",
        C,
        "GENERATE_SERIES(start, end [, step])",
        (2, 3),
        series_type,
        generate_series,
        "the numbers from start to end, both included",
        "GENERATE_SERIES(1, 5, 2) = [1, 3, 5]",
    ),
    scalar(
        "ELT",
        C,
        "ELT(n, s1, s2, ...)",
        (1, usize::MAX),
        elt_type,
        elt,
        "the n-th of the strings (from 1), NULL if there is none",
        "ELT(2, 'a', 'b') = 'b'",
    )
    .handles_nulls(),
    scalar(
        "FIELD",
        C,
        "FIELD(s, s1, s2, ...)",
        (1, usize::MAX),
        field_type,
        field,
        "the position of s among the strings (from 1), 0 if absent or NULL",
        "FIELD('b', 'a', 'b') = 2",
    )
    .handles_nulls(),
    scalar(
        "AS_MAP",
        C,
        "AS_MAP(keys, values)",
        (2, 2),
        as_map_type,
        as_map,
        "a map of the keys to the values at the same positions",
        "AS_MAP(ARRAY['a'], ARRAY[1])",
    ),
    scalar(
        "MAP_KEYS",
        C,
        "MAP_KEYS(map)",
        (1, 1),
        map_keys_type,
        |a| map_part(a, true),
        "the keys, in an array",
        "MAP_KEYS(MAP('a' := 1))",
    ),
    scalar(
        "MAP_VALUES",
        C,
        "MAP_VALUES(map)",
        (1, 1),
        map_values_type,
        |a| map_part(a, false),
        "the values, in an array",
        "MAP_VALUES(MAP('a' := 1))",
    ),
    scalar(
        "MAP_UNION",
        C,
        "MAP_UNION(a, b)",
        (2, 2),
        two_maps,
        map_union,
        "both maps' entries, b's value where a key is in both; NULL only when both are NULL",
        "MAP_UNION(MAP('a' := 1), MAP('b' := 2))",
    )
    .handles_nulls(),
    scalar(
        "ENTRIES",
        C,
        "ENTRIES(map, sorted)",
        (2, 2),
        entries_type,
        entries,
        "the map's entries as an array of STRUCT<K, V>, by key if sorted",
        "ENTRIES(MAP('a' := 1), true)",
    ),
];

/// The elements of an array value (none for anything else).
pub(crate) fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        _ => &[],
    }
}

/// SQL order with NULLs after every value, for sorting.
pub(crate) fn order(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.sql_cmp(b).unwrap_or(Ordering::Equal),
    }
}

fn array_of(v: Vec<Value>) -> Value {
    Value::Array(Arc::new(v))
}

fn length_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    array(args, 0)?;
    Ok(SqlType::Int)
}

fn same_array(args: &[SqlType]) -> Result<SqlType, ArgError> {
    Ok(SqlType::Array(Box::new(array(args, 0)?)))
}

fn element_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    array(args, 0)
}

fn two_arrays(args: &[SqlType]) -> Result<SqlType, ArgError> {
    let (a, b) = (array(args, 0)?, array(args, 1)?);
    let t = unify(&a, &b).ok_or((1, format!("an ARRAY<{a}>, like the first argument")))?;
    Ok(SqlType::Array(Box::new(t)))
}

fn contains_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    contains_same_array(args)?;
    Ok(SqlType::Boolean)
}

fn contains_same_array(args: &[SqlType]) -> Result<SqlType, ArgError> {
    let e = array(args, 0)?;
    unify(&e, &args[1]).ok_or((1, format!("a {e}, the array's element type")))?;
    Ok(SqlType::Array(Box::new(e)))
}

fn join_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    array(args, 0)?;
    if args.len() > 1 {
        string(args, 1)?;
    }
    Ok(SqlType::String)
}

fn sort_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    if args.len() > 1 {
        string(args, 1)?;
    }
    same_array(args)
}

fn slice_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    integer(args, 1)?;
    integer(args, 2)?;
    same_array(args)
}

fn series_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    (0..args.len()).try_for_each(|i| integer(args, i))?;
    let t = match (&args[0], &args[1]) {
        (SqlType::Bigint, _) | (_, SqlType::Bigint) => SqlType::Bigint,
        _ => SqlType::Int,
    };
    Ok(SqlType::Array(Box::new(t)))
}

fn elt_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    integer(args, 0)?;
    (1..args.len()).try_for_each(|i| string(args, i))?;
    Ok(SqlType::String)
}

fn field_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    (0..args.len()).try_for_each(|i| string(args, i))?;
    Ok(SqlType::Int)
}

fn as_map_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    let k = array(args, 0)?;
    if !matches!(k, SqlType::String | SqlType::Null) {
        return Err((0, "an ARRAY<STRING> of keys".into()));
    }
    let v = array(args, 1)?;
    Ok(SqlType::Map(Box::new(SqlType::String), Box::new(v)))
}

fn map_keys_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    Ok(SqlType::Array(Box::new(map(args, 0)?.0)))
}

fn map_values_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    Ok(SqlType::Array(Box::new(map(args, 0)?.1)))
}

fn two_maps(args: &[SqlType]) -> Result<SqlType, ArgError> {
    let (a, b) = (map(args, 0)?, map(args, 1)?);
    let v = unify(&a.1, &b.1).ok_or((1, format!("a MAP<STRING, {}>, like the first", a.1)))?;
    Ok(SqlType::Map(Box::new(SqlType::String), Box::new(v)))
}

fn entries_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    let (k, v) = map(args, 0)?;
    if !matches!(args[1], SqlType::Boolean | SqlType::Null) {
        return Err((1, "a BOOLEAN".into()));
    }
    Ok(SqlType::Array(Box::new(SqlType::Struct(vec![
        ("K".into(), k),
        ("V".into(), v),
    ]))))
}

fn array_length(a: &Args) -> Value {
    Value::Int(items(a.get(0)).len() as i32)
}

fn array_concat(a: &Args) -> Value {
    match (a.get(0), a.get(1)) {
        (Value::Null, Value::Null) => Value::Null,
        (x, y) => array_of(items(x).iter().chain(items(y)).cloned().collect()),
    }
}

fn array_contains(a: &Args) -> Value {
    match a.get(0) {
        Value::Array(items) => Value::Boolean(items.iter().any(|x| same(x, a.get(1)))),
        _ => Value::Boolean(false),
    }
}

/// Equality of elements, NULL equal to NULL (as set operations need).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => a.sql_cmp(b) == Some(Ordering::Equal) || a == b,
    }
}

fn distinct(values: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in values {
        if !out.iter().any(|o| same(o, v)) {
            out.push(v.clone());
        }
    }
    out
}

fn array_except(a: &Args) -> Value {
    let b = items(a.get(1));
    let kept: Vec<Value> = items(a.get(0))
        .iter()
        .filter(|x| !b.iter().any(|y| same(x, y)))
        .cloned()
        .collect();
    array_of(distinct(&kept))
}

fn array_intersect(a: &Args) -> Value {
    let b = items(a.get(1));
    let kept: Vec<Value> = items(a.get(0))
        .iter()
        .filter(|x| b.iter().any(|y| same(x, y)))
        .cloned()
        .collect();
    array_of(distinct(&kept))
}

fn array_union(a: &Args) -> Value {
    let all: Vec<Value> = items(a.get(0))
        .iter()
        .chain(items(a.get(1)))
        .cloned()
        .collect();
    array_of(distinct(&all))
}

fn array_join(a: &Args) -> Value {
    let Value::Array(values) = a.get(0) else {
        return Value::Null;
    };
    let delimiter = match a.values.get(1) {
        None => ",",
        Some(Value::String(d)) => d,
        Some(_) => "",
    };
    let parts: Vec<String> = values
        .iter()
        .map(|v| crate::exec::eval::to_text(v))
        .collect();
    text(parts.join(delimiter))
}

fn extreme(a: &Args, wanted: Ordering) -> Value {
    let mut best: Option<&Value> = None;
    for v in items(a.get(0)).iter().filter(|v| !v.is_null()) {
        if best.is_none_or(|b| v.sql_cmp(b) == Some(wanted)) {
            best = Some(v);
        }
    }
    best.cloned().unwrap_or(Value::Null)
}

fn array_remove(a: &Args) -> Value {
    let Value::Array(values) = a.get(0) else {
        return Value::Null;
    };
    array_of(
        values
            .iter()
            .filter(|v| !same(v, a.get(1)))
            .cloned()
            .collect(),
    )
}

fn array_sort(a: &Args) -> Value {
    let mut values = items(a.get(0)).to_vec();
    let descending = a.len() > 1 && a.str(1).eq_ignore_ascii_case("DESC");
    if a.len() > 1 && !descending && !a.str(1).eq_ignore_ascii_case("ASC") {
        return Value::Null;
    }
    values.sort_by(|x, y| {
        let o = order(x, y);
        if descending && !x.is_null() && !y.is_null() {
            o.reverse()
        } else {
            o
        }
    });
    array_of(values)
}

fn slice(a: &Args) -> Value {
    let values = items(a.get(0));
    let n = values.len() as i64;
    let (from, to) = (a.int(1).max(1), a.int(2).min(n));
    if from > to {
        return array_of(Vec::new());
    }
    array_of(values[(from - 1) as usize..to as usize].to_vec())
}

/// The longest series GENERATE_SERIES builds: a bound on memory.
const SERIES_MAX: i64 = 1_000_000;

fn generate_series(a: &Args) -> Value {
    let (start, end) = (a.int(0), a.int(1));
    // Without a step the series counts towards the end, down if need be.
    let step = match (a.len() > 2, end >= start) {
        (true, _) => a.int(2),
        (false, true) => 1,
        (false, false) => -1,
    };
    if step == 0 || (end - start).signum() * step.signum() < 0 {
        return Value::Null;
    }
    if (end - start) / step >= SERIES_MAX {
        return Value::Null;
    }
    let bigint = matches!(a.ty, SqlType::Array(t) if **t == SqlType::Bigint);
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0 && x <= end) || (step < 0 && x >= end) {
        out.push(if bigint {
            Value::Bigint(x)
        } else {
            Value::Int(x as i32)
        });
        x += step;
    }
    array_of(out)
}

fn elt(a: &Args) -> Value {
    let n = match a.get(0).as_i64() {
        Some(n) => n,
        None => return Value::Null,
    };
    if n < 1 || n as usize >= a.len() {
        return Value::Null;
    }
    a.get(n as usize).clone()
}

fn field(a: &Args) -> Value {
    let Value::String(s) = a.get(0) else {
        return Value::Int(0);
    };
    let pos = a.values[1..]
        .iter()
        .position(|v| matches!(v, Value::String(x) if x == s));
    Value::Int(pos.map_or(0, |p| p as i32 + 1))
}

fn as_map(a: &Args) -> Value {
    let (keys, values) = (items(a.get(0)), items(a.get(1)));
    let mut out: Vec<(Value, Value)> = Vec::new();
    for (k, v) in keys.iter().zip(values) {
        match out.iter_mut().find(|(ek, _)| ek == k) {
            Some(e) => e.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    Value::Map(Arc::new(out))
}

fn map_part(a: &Args, keys: bool) -> Value {
    let Value::Map(entries) = a.get(0) else {
        return Value::Null;
    };
    array_of(
        entries
            .iter()
            .map(|(k, v)| if keys { k.clone() } else { v.clone() })
            .collect(),
    )
}

fn map_union(a: &Args) -> Value {
    let (x, y) = (a.get(0), a.get(1));
    if x.is_null() && y.is_null() {
        return Value::Null;
    }
    let mut out: Vec<(Value, Value)> = Vec::new();
    for m in [x, y] {
        if let Value::Map(entries) = m {
            for (k, v) in entries.iter() {
                match out.iter_mut().find(|(ek, _)| ek == k) {
                    Some(e) => e.1 = v.clone(),
                    None => out.push((k.clone(), v.clone())),
                }
            }
        }
    }
    Value::Map(Arc::new(out))
}

fn entries(a: &Args) -> Value {
    let Value::Map(entries) = a.get(0) else {
        return Value::Null;
    };
    let mut out: Vec<(Value, Value)> = entries.to_vec();
    if matches!(a.get(1), Value::Boolean(true)) {
        out.sort_by(|x, y| order(&x.0, &y.0));
    }
    array_of(
        out.into_iter()
            .map(|(k, v)| Value::Struct(Arc::new(vec![k, v])))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::data::Value;
    use crate::functions::testing::{call, s};

    fn ints(xs: &[i32]) -> Value {
        Value::Array(Arc::new(xs.iter().map(|x| Value::Int(*x)).collect()))
    }

    fn arr(xs: Vec<Value>) -> Value {
        Value::Array(Arc::new(xs))
    }

    #[test]
    fn set_operations_keep_first_occurrence_order() {
        // ksqlDB's documented examples
        assert_eq!(
            call("ARRAY_CONCAT", &[ints(&[1, 2, 3, 1, 2]), ints(&[4, 1])]),
            ints(&[1, 2, 3, 1, 2, 4, 1])
        );
        assert_eq!(call("ARRAY_CONCAT", &[Value::Null, ints(&[4])]), ints(&[4]));
        assert_eq!(
            call("ARRAY_CONCAT", &[Value::Null, Value::Null]),
            Value::Null
        );
        assert_eq!(
            call("ARRAY_DISTINCT", &[ints(&[1, 1, 2, 3, 1, 2])]),
            ints(&[1, 2, 3])
        );
        assert_eq!(
            call("ARRAY_EXCEPT", &[ints(&[1, 2, 3, 1, 2]), ints(&[2, 3])]),
            ints(&[1])
        );
        assert_eq!(
            call("ARRAY_INTERSECT", &[ints(&[1, 2, 3, 1, 2]), ints(&[2, 1])]),
            ints(&[1, 2])
        );
        assert_eq!(
            call("ARRAY_UNION", &[ints(&[1, 2, 3, 1, 2]), ints(&[4, 1])]),
            ints(&[1, 2, 3, 4])
        );
        let fruit = arr(vec![s("apple"), s("apple"), Value::Null, s("cherry")]);
        assert_eq!(
            call("ARRAY_EXCEPT", &[fruit.clone(), arr(vec![s("cherry")])]),
            arr(vec![s("apple"), Value::Null])
        );
        assert_eq!(
            call("ARRAY_DISTINCT", &[fruit]),
            arr(vec![s("apple"), Value::Null, s("cherry")])
        );
    }

    #[test]
    fn min_max_sort_remove() {
        let a = arr(vec![
            Value::Int(-1),
            Value::Int(2),
            Value::Null,
            Value::Int(0),
        ]);
        assert_eq!(call("ARRAY_MAX", &[a.clone()]), Value::Int(2));
        assert_eq!(call("ARRAY_MIN", &[a.clone()]), Value::Int(-1));
        assert_eq!(
            call("ARRAY_SORT", &[a.clone()]),
            arr(vec![
                Value::Int(-1),
                Value::Int(0),
                Value::Int(2),
                Value::Null
            ])
        );
        assert_eq!(
            call("ARRAY_SORT", &[a, s("DESC")]),
            arr(vec![
                Value::Int(2),
                Value::Int(0),
                Value::Int(-1),
                Value::Null
            ])
        );
        let words = arr(vec![s("Foo"), s("Bar"), Value::Null, s("baz")]);
        assert_eq!(call("ARRAY_MAX", &[words.clone()]), s("baz"));
        assert_eq!(
            call("ARRAY_REMOVE", &[words, Value::Null]),
            arr(vec![s("Foo"), s("Bar"), s("baz")])
        );
        assert_eq!(
            call("ARRAY_REMOVE", &[ints(&[1, 2, 3, 2, 1]), Value::Int(2)]),
            ints(&[1, 3, 1])
        );
    }

    #[test]
    fn positions_start_at_one() {
        assert_eq!(
            call(
                "SLICE",
                &[ints(&[1, 2, 3, 4]), Value::Int(2), Value::Int(3)]
            ),
            ints(&[2, 3])
        );
        assert_eq!(
            call(
                "GENERATE_SERIES",
                &[Value::Int(1), Value::Int(5), Value::Int(2)]
            ),
            ints(&[1, 3, 5])
        );
        assert_eq!(
            call(
                "GENERATE_SERIES",
                &[Value::Int(3), Value::Int(1), Value::Int(-1)]
            ),
            ints(&[3, 2, 1])
        );
        assert_eq!(call("ELT", &[Value::Int(2), s("a"), s("b")]), s("b"));
        assert_eq!(call("ELT", &[Value::Int(3), s("a"), s("b")]), Value::Null);
        assert_eq!(call("FIELD", &[s("b"), s("a"), s("b")]), Value::Int(2));
        assert_eq!(call("FIELD", &[Value::Null, s("a")]), Value::Int(0));
        assert_eq!(call("ARRAY_JOIN", &[ints(&[1, 2])]), s("1,2"));
        assert_eq!(
            call("ARRAY_CONTAINS", &[ints(&[1, 2]), Value::Int(2)]),
            Value::Boolean(true)
        );
    }
}
