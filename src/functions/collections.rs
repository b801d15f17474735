//! Array and map functions. Array positions are 1-based, as in ksqlDB.

use super::rules::array;
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::{SqlType, Value};

const C: Category = Category::Collections;

pub const FUNCTIONS: &[FunctionDef] = &[scalar(
    "ARRAY_LENGTH",
    C,
    "ARRAY_LENGTH(array)",
    (1, 1),
    length_type,
    array_length,
    "the number of elements",
    "ARRAY_LENGTH(ARRAY[1, 2]) = 2",
)];

fn length_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    array(args, 0)?;
    Ok(SqlType::Int)
}

fn array_length(a: &Args) -> Value {
    match a.get(0) {
        Value::Array(items) => Value::Int(items.len() as i32),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::data::Value;
    use crate::functions::testing::call;

    #[test]
    fn array_length() {
        let a = Value::Array(Arc::new(vec![Value::Int(1), Value::Int(2)]));
        assert_eq!(call("ARRAY_LENGTH", &[a]), Value::Int(2));
    }
}
