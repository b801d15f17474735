//! kql: ksqlDB's SQL dialect compiled to plans that run on an embedded Kafka-like log.
//!
//! The pipeline, one module a stage: [`syntax`] (text to AST), [`plan`] (AST to a typed
//! logical plan against a catalog), [`exec`] (the plan run as tasks over the log of
//! `kql-runtime`, or on Apache Kafka through [`kafka`]), [`cli`] (the commands).
//! [`functions`] is the registry of every function, read by the planner, the evaluator,
//! the docs and the shell. Every stage reports [`diagnostic::Diagnostic`]s.

pub mod cli;
pub mod data;
pub mod diagnostic;
pub mod exec;
pub mod functions;
pub mod kafka;
pub mod plan;
pub mod sources;
pub mod syntax;
