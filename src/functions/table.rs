//! Table functions: a call gives each input row several output rows, one per element of
//! the list it produces (`SELECT id, EXPLODE(items) AS item FROM orders`). The type rule
//! gives the type of one element; the implementation gives the whole list as an ARRAY,
//! which the projection (`Project::table_functions`) unrolls. A NULL or empty list gives
//! no row.

use std::sync::Arc;

use super::rules::array;
use super::{scalar, ArgError, Args, Category, FunctionDef, Kind};
use crate::data::{SqlType, Value};

/// CUBE_EXPLODE gives 2^n rows for n elements: arrays longer than this give no row
/// (a million rows from one record would stall the query).
pub const CUBE_ELEMENTS_MAX: usize = 20;

const fn table(
    name: &'static str,
    signature: &'static str,
    returns: fn(&[SqlType]) -> Result<SqlType, ArgError>,
    eval: fn(&Args) -> Value,
    doc: &'static str,
    example: &'static str,
) -> FunctionDef {
    FunctionDef {
        kind: Kind::Table,
        ..scalar(
            name,
            Category::Table,
            signature,
            (1, 1),
            returns,
            eval,
            doc,
            example,
        )
    }
}

pub const FUNCTIONS: &[FunctionDef] = &[
    table(
        "EXPLODE",
        "EXPLODE(array)",
        |t| array(t, 0),
        |a| a.get(0).clone(),
        "one row per element of the array, in order (none for NULL or an empty array)",
        "EXPLODE(ARRAY[1, 2]) gives the rows 1 and 2",
    ),
    table(
        "CUBE_EXPLODE",
        "CUBE_EXPLODE(array)",
        |t| array(t, 0).map(|e| SqlType::Array(Box::new(e))),
        cube,
        "one row per combination of the elements, each kept or replaced by NULL (NULL elements give no extra combination)",
        "CUBE_EXPLODE(ARRAY[1, 2]) gives [null, null], [null, 2], [1, null], [1, 2]",
    ),
];

/// Every way of keeping or nulling each element, counting in binary with the first
/// element as the highest bit; a NULL element is already NULL, so the combinations that
/// "keep" it are duplicates and are skipped.
fn cube(a: &Args) -> Value {
    let Value::Array(items) = a.get(0) else {
        return Value::Null;
    };
    let n = items.len();
    if n > CUBE_ELEMENTS_MAX {
        return Value::Array(Arc::new(Vec::new()));
    }
    let nulls: u32 = items
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_null())
        .map(|(i, _)| 1 << (n - 1 - i))
        .sum();
    let rows = (0u32..1 << n)
        .filter(|mask| mask & nulls == 0)
        .map(|mask| {
            let row = (0..n)
                .map(|i| {
                    if mask & (1 << (n - 1 - i)) != 0 {
                        items[i].clone()
                    } else {
                        Value::Null
                    }
                })
                .collect();
            Value::Array(Arc::new(row))
        })
        .collect();
    Value::Array(Arc::new(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::lookup;

    fn call(name: &str, v: Value, ty: SqlType) -> Value {
        let f = lookup(name).unwrap();
        let types = [ty];
        let out = (f.returns)(&types).unwrap();
        f.call(&Args {
            values: &[v],
            types: &types,
            ty: &out,
        })
    }

    fn ints(v: &[Option<i32>]) -> Value {
        Value::Array(Arc::new(
            v.iter()
                .map(|x| x.map_or(Value::Null, Value::Int))
                .collect(),
        ))
    }

    const INTS: fn() -> SqlType = || SqlType::Array(Box::new(SqlType::Int));

    #[test]
    fn explode_lists_the_elements_and_types_one() {
        assert_eq!(
            call("EXPLODE", ints(&[Some(1), None]), INTS()),
            ints(&[Some(1), None])
        );
        assert_eq!(call("EXPLODE", Value::Null, INTS()), Value::Null);
        let f = lookup("EXPLODE").unwrap();
        assert_eq!((f.returns)(&[INTS()]), Ok(SqlType::Int));
        assert!((f.returns)(&[SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Int)
        )])
        .is_err());
    }

    #[test]
    fn cube_counts_down_from_all_nulls_and_skips_null_elements() {
        let rows = |v: Value| match v {
            Value::Array(r) => r.to_vec(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            rows(call("CUBE_EXPLODE", ints(&[Some(1), Some(2)]), INTS())),
            vec![
                ints(&[None, None]),
                ints(&[None, Some(2)]),
                ints(&[Some(1), None]),
                ints(&[Some(1), Some(2)])
            ]
        );
        assert_eq!(
            rows(call("CUBE_EXPLODE", ints(&[Some(1), None]), INTS())),
            vec![ints(&[None, None]), ints(&[Some(1), None])]
        );
        assert_eq!(
            rows(call("CUBE_EXPLODE", ints(&[]), INTS())),
            vec![ints(&[])]
        );
    }
}
