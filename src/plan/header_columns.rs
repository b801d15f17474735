//! Header columns: `HEADERS` (every header of the record, as an array of key/value structs)
//! and `HEADER('k')` (the value of the record's last header with key `k`). They are read
//! from the record, never from its value, and nothing writes them: a query's sink holds
//! them as ordinary value columns, and INSERT into a source that has them is refused.

use crate::data::SqlType;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::HeaderMarker;
use crate::syntax::span::Span;

/// The type of a `HEADERS` column.
pub fn headers_type() -> SqlType {
    SqlType::Array(Box::new(SqlType::Struct(vec![
        ("KEY".to_string(), SqlType::String),
        ("VALUE".to_string(), SqlType::Bytes),
    ])))
}

/// A header column's declared type must be the one its marker gives.
pub fn check_type(marker: &HeaderMarker, ty: &SqlType, span: Span) -> Result<(), Diagnostic> {
    let (expected, what) = match marker {
        HeaderMarker::All => (headers_type(), "HEADERS"),
        HeaderMarker::Key(_) => (SqlType::Bytes, "HEADER('key')"),
    };
    if *ty == expected {
        return Ok(());
    }
    Err(Diagnostic::new(
        Code::TypeMismatch,
        format!("Invalid type for {what} column: expected {expected}, got {ty}"),
    )
    .label(span, format!("a {what} column is {expected}")))
}

/// Where a source's header column goes in the row, and which headers it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderSlot {
    /// Row position (in the source's own schema, pseudo-columns included).
    pub slot: usize,
    /// `HEADER('k')`: the key; None for `HEADERS`.
    pub key: Option<String>,
}

/// The header columns of a source, as slots of its schema.
pub fn slots(def: &super::catalog::SourceDef) -> Vec<HeaderSlot> {
    let n_pseudo = super::schema::PSEUDO_COLUMNS.len();
    def.columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.role == super::catalog::ColumnRole::Header)
        .map(|(i, c)| HeaderSlot {
            slot: n_pseudo + i,
            key: c.header_key.clone(),
        })
        .collect()
}
