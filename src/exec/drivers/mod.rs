//! The drivers: what runs tasks. `driver.rs` is the one run loop every run goes through;
//! `stage.rs` runs a persistent query's stage (filter/project, repartition, aggregate) as
//! its units, `query.rs` a transient query's tasks, their rows to the caller.

pub(crate) mod driver;
pub mod query;
pub(crate) mod stage;
