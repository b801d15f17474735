//! The data kql computes on: SQL types and the values a row holds. Shared by the planner
//! (types, constant values) and the executor (rows).

pub mod decimal;
pub mod map_order;
pub mod types;
pub mod value;
mod wide;

pub use decimal::Decimal;
pub use types::SqlType;
pub use value::Value;
