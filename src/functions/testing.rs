//! Helpers for the functions' unit tests: call a registered function on values.

use crate::data::{SqlType, Value};
use crate::functions::{lookup, Args};

/// Calls a registered function on literal arguments, typed from the values.
pub fn call(name: &str, values: &[Value]) -> Value {
    let f = lookup(name).unwrap_or_else(|| panic!("{name} is not registered"));
    let types: Vec<SqlType> = values.iter().map(type_of).collect();
    let ty = (f.returns)(&types).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    f.call(&Args {
        values,
        types: &types,
        ty: &ty,
    })
}

pub fn type_of(v: &Value) -> SqlType {
    match v {
        Value::Null => SqlType::Null,
        Value::Boolean(_) => SqlType::Boolean,
        Value::Int(_) => SqlType::Int,
        Value::Bigint(_) => SqlType::Bigint,
        Value::Double(_) => SqlType::Double,
        Value::Decimal(d) => SqlType::Decimal {
            precision: d.digits().max(d.scale()),
            scale: d.scale(),
        },
        Value::String(_) => SqlType::String,
        Value::Bytes(_) => SqlType::Bytes,
        Value::Timestamp(_) => SqlType::Timestamp,
        Value::Date(_) => SqlType::Date,
        Value::Time(_) => SqlType::Time,
        Value::Array(items) => SqlType::Array(Box::new(
            items
                .iter()
                .map(type_of)
                .find(|t| *t != SqlType::Null)
                .unwrap_or(SqlType::Null),
        )),
        Value::Map(entries) => SqlType::Map(
            Box::new(SqlType::String),
            Box::new(
                entries
                    .iter()
                    .map(|(_, v)| type_of(v))
                    .find(|t| *t != SqlType::Null)
                    .unwrap_or(SqlType::Null),
            ),
        ),
        Value::Struct(_) => SqlType::Struct(Vec::new()),
    }
}

pub fn s(x: &str) -> Value {
    Value::string(x)
}
