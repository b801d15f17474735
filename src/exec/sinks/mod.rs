//! The sinks: how rows become records of a topic. `append.rs` appends records in the
//! driver's merged order (the one sink every run writes through); `repartition.rs` encodes
//! the records of internal topics (a re-keyed source, GROUP BY's rows, an inner join's).
//! The sink topic's own encoding is the persistent query's `SinkWriter`, which `batch.rs`
//! applies to a batch of rows a row at a time; `record.rs` is the record on its way from a
//! task to the appender.

pub(crate) mod append;
pub(crate) mod batch;
pub mod record;
pub mod repartition;
pub mod row;
