//! The sinks: how rows become records of a topic. `append.rs` appends records in the
//! driver's merged order (the one sink every run writes through); `repartition.rs` encodes
//! the records of internal topics (a re-keyed source, GROUP BY's rows, an inner join's).
//! The sink topic's own encoding is the persistent query's `SinkWriter`; `record.rs` is
//! the record on its way from a task to the appender.

pub(crate) mod append;
pub mod record;
pub mod repartition;
