//! Functions that take lambdas: TRANSFORM, FILTER and REDUCE over arrays and maps. The
//! binder types each lambda's parameters from the collection (`LambdaDef::params`); the
//! evaluator hands the implementation a way to apply a lambda to parameter values.

use std::sync::Arc;

use super::rules::unify;
use super::{scalar, ArgError, Args, Category, FunctionDef, LambdaDef};
use crate::data::{SqlType, Value};

const C: Category = Category::Lambda;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "TRANSFORM",
        C,
        "TRANSFORM(array, x => ...) or TRANSFORM(map, (k, v) => key, (k, v) => value)",
        (2, 3),
        transform_type,
        no_value,
        "each element (or each map entry's key and value) computed by lambdas",
        "TRANSFORM(ARRAY[1, 2], x => x * 10) = [10, 20]",
    )
    .with_lambdas(LambdaDef {
        params: element_params,
        eval: transform,
    }),
    scalar(
        "FILTER",
        C,
        "FILTER(array, x => ...) or FILTER(map, (k, v) => ...)",
        (2, 2),
        filter_type,
        no_value,
        "the elements (or entries) for which the lambda is true",
        "FILTER(ARRAY[1, 5, 7], x => x > 4) = [5, 7]",
    )
    .with_lambdas(LambdaDef {
        params: element_params,
        eval: filter,
    }),
    scalar(
        "REDUCE",
        C,
        "REDUCE(array, state, (s, x) => ...) or REDUCE(map, state, (s, k, v) => ...)",
        (3, 3),
        reduce_type,
        no_value,
        "the state folded over the elements (or entries); NULL when the state is NULL",
        "REDUCE(ARRAY[1, 2, 3], 0, (s, x) => s + x) = 6",
    )
    .with_lambdas(LambdaDef {
        params: reduce_params,
        eval: reduce,
    }),
];

fn no_value(_: &Args) -> Value {
    Value::Null
}

/// A lambda's parameters over the collection's elements: `x`, or `(k, v)` for a map.
fn element_params(args: &[SqlType]) -> Result<Vec<SqlType>, ArgError> {
    match &args[0] {
        SqlType::Array(t) => Ok(vec![(**t).clone()]),
        SqlType::Map(k, v) => Ok(vec![(**k).clone(), (**v).clone()]),
        SqlType::Null => Ok(vec![SqlType::Null]),
        _ => Err((0, "an ARRAY or a MAP".into())),
    }
}

fn reduce_params(args: &[SqlType]) -> Result<Vec<SqlType>, ArgError> {
    let mut params = vec![args[1].clone()];
    params.extend(element_params(args)?);
    Ok(params)
}

fn transform_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    match &args[0] {
        SqlType::Map(..) if args.len() == 3 => Ok(SqlType::Map(
            Box::new(args[1].clone()),
            Box::new(args[2].clone()),
        )),
        SqlType::Map(..) => Err((
            1,
            "two lambdas, one for the keys and one for the values".into(),
        )),
        _ if args.len() == 3 => Err((2, "nothing: an array takes one lambda".into())),
        _ => Ok(SqlType::Array(Box::new(args[1].clone()))),
    }
}

fn filter_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    if !matches!(args[1], SqlType::Boolean | SqlType::Null) {
        return Err((1, "a lambda that gives a BOOLEAN".into()));
    }
    Ok(args[0].clone())
}

fn reduce_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    unify(&args[1], &args[2]).ok_or((
        2,
        format!("a lambda that gives a {}, the state's type", args[1]),
    ))
}

type Apply<'a> = &'a dyn Fn(usize, &[Value]) -> Value;

fn transform(a: &Args, apply: Apply) -> Value {
    match a.get(0) {
        Value::Array(items) => Value::Array(Arc::new(
            items
                .iter()
                .map(|x| apply(1, std::slice::from_ref(x)))
                .collect(),
        )),
        Value::Map(entries) => Value::Map(Arc::new(
            entries
                .iter()
                .map(|(k, v)| {
                    let kv = [k.clone(), v.clone()];
                    (apply(1, &kv), apply(2, &kv))
                })
                .collect(),
        )),
        _ => Value::Null,
    }
}

fn filter(a: &Args, apply: Apply) -> Value {
    let keep = |params: &[Value]| matches!(apply(1, params), Value::Boolean(true));
    match a.get(0) {
        Value::Array(items) => Value::Array(Arc::new(
            items
                .iter()
                .filter(|x| keep(std::slice::from_ref(*x)))
                .cloned()
                .collect(),
        )),
        Value::Map(entries) => Value::Map(Arc::new(
            entries
                .iter()
                .filter(|(k, v)| keep(&[k.clone(), v.clone()]))
                .cloned()
                .collect(),
        )),
        _ => Value::Null,
    }
}

fn reduce(a: &Args, apply: Apply) -> Value {
    let mut state = a.get(1).clone();
    if state.is_null() {
        return Value::Null;
    }
    match a.get(0) {
        Value::Array(items) => {
            for x in items.iter() {
                state = apply(2, &[state, x.clone()]);
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries.iter() {
                state = apply(2, &[state, k.clone(), v.clone()]);
            }
        }
        // No collection: the initial state, as ksqlDB gives it.
        _ => {}
    }
    state
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::functions::lookup;

    /// Runs a lambda function with Rust closures standing for the lambdas.
    fn run(name: &str, values: &[Value], apply: Apply) -> Value {
        let f = lookup(name).unwrap();
        let args = Args {
            values,
            types: &[],
            ty: &SqlType::Null,
        };
        (f.lambda.as_ref().unwrap().eval)(&args, apply)
    }

    fn ints(xs: &[i32]) -> Value {
        Value::Array(Arc::new(xs.iter().map(|x| Value::Int(*x)).collect()))
    }

    #[test]
    fn transform_filter_reduce_over_arrays() {
        let times_ten = |_: usize, p: &[Value]| Value::Int(p[0].as_i64().unwrap() as i32 * 10);
        assert_eq!(
            run("TRANSFORM", &[ints(&[1, 2]), Value::Null], &times_ten),
            ints(&[10, 20])
        );
        let above_four = |_: usize, p: &[Value]| Value::Boolean(p[0].as_i64().unwrap() > 4);
        assert_eq!(
            run("FILTER", &[ints(&[1, 5, 7]), Value::Null], &above_four),
            ints(&[5, 7])
        );
        let sum = |_: usize, p: &[Value]| {
            Value::Int((p[0].as_i64().unwrap() + p[1].as_i64().unwrap()) as i32)
        };
        assert_eq!(
            run(
                "REDUCE",
                &[ints(&[1, 2, 3]), Value::Int(0), Value::Null],
                &sum
            ),
            Value::Int(6)
        );
        assert_eq!(
            run("REDUCE", &[ints(&[1]), Value::Null, Value::Null], &sum),
            Value::Null
        );
        assert_eq!(
            run("TRANSFORM", &[Value::Null, Value::Null], &times_ten),
            Value::Null
        );
    }

    #[test]
    fn map_lambdas_take_key_and_value() {
        let m = Value::Map(Arc::new(vec![
            (Value::string("a"), Value::Int(1)),
            (Value::string("b"), Value::Int(2)),
        ]));
        // keys upper-cased by lambda 1, values doubled by lambda 2
        let kv = |i: usize, p: &[Value]| match i {
            1 => Value::string(&p[0].to_string().to_uppercase()),
            _ => Value::Int(p[1].as_i64().unwrap() as i32 * 2),
        };
        let out = run("TRANSFORM", &[m.clone(), Value::Null, Value::Null], &kv);
        assert_eq!(
            out,
            Value::Map(Arc::new(vec![
                (Value::string("A"), Value::Int(2)),
                (Value::string("B"), Value::Int(4))
            ]))
        );
        let even = |_: usize, p: &[Value]| Value::Boolean(p[1].as_i64().unwrap() % 2 == 0);
        assert_eq!(
            run("FILTER", &[m.clone(), Value::Null], &even),
            Value::Map(Arc::new(vec![(Value::string("b"), Value::Int(2))]))
        );
        let total = |_: usize, p: &[Value]| {
            Value::Int((p[0].as_i64().unwrap() + p[2].as_i64().unwrap()) as i32)
        };
        assert_eq!(
            run("REDUCE", &[m, Value::Int(10), Value::Null], &total),
            Value::Int(13)
        );
    }
}
