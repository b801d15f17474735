//! JSON functions: JSON text read and written as ksqlDB does.

use super::FunctionDef;

pub const FUNCTIONS: &[FunctionDef] = &[];
