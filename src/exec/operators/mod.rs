//! The operators: what a task does to its rows. `pipeline.rs`: stateless filter/project
//! (and table functions); `aggregate.rs` + `aggregate/`: GROUP BY's groups and windows;
//! `join/`: every join kind, a join's feeders and the join that keeps running between
//! catch-ups. The drivers (`exec/drivers/`) run them as tasks, the sinks (`exec/sinks/`)
//! append what they make, and durability (`exec/state/`) saves their state.

pub mod aggregate;
pub mod join;
pub mod pipeline;
