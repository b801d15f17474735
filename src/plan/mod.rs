//! AST to typed logical plan: the catalog of streams and tables, name resolution, type
//! checking, and the plan the executor runs. Knows nothing of the log or of tokio.

pub mod aggregate;
pub mod catalog;
mod coerce;
pub mod column_names;
pub mod compile;
pub mod expr;
pub mod header_columns;
pub mod join;
pub mod join_key;
pub mod logical;
pub mod magic_timestamp;
pub mod persistent;
pub mod properties;
pub mod reserved_names;
pub mod schema;
pub mod session_properties;
pub mod sink_keys;
pub mod table_function;
pub mod window;
pub mod windowed_join;

pub use catalog::{Catalog, SourceDef};
pub use compile::{Compiler, Planned};
pub use logical::{LogicalPlan, QueryPlan};
