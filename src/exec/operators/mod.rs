//! The operators: what a task does to its rows. `pipeline.rs`: stateless filter/project
//! (and table functions); `aggregate.rs` + `aggregate/`: GROUP BY's groups and windows;
//! a persistent query's stage tasks, one type per operator, each reading one partition
//! (`partition_input.rs`): `filter_project.rs`, `aggregate/task.rs`, `repartition.rs`;
//! `join/`: every join kind, a join's feeders and the join that keeps running between
//! catch-ups. The drivers (`exec/drivers/`) run them as tasks, the sinks (`exec/sinks/`)
//! append what they make, and durability (`exec/state/`) saves their state.

pub mod aggregate;
pub(crate) mod filter_project;
pub mod join;
pub(crate) mod partition_input;
pub mod pipeline;
pub(crate) mod repartition;
