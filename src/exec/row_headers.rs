//! The Kafka headers a row carries from the input record that caused it to the record a
//! query writes (ksqlDB copies them so). Most records have none: a row then carries
//! nothing and costs nothing. kql's own headers (`kql.*`, which name a row's source or a
//! retraction) are not a record's headers in this sense and are never carried.

use std::sync::Arc;

use crate::exec::log::{Header, LogRecord};

/// A row's headers, shared by every row made from one record.
pub type RowHeaders = Option<Arc<[Header]>>;

/// Whether a header is one kql writes for itself.
pub fn is_internal(name: &[u8]) -> bool {
    name.starts_with(b"kql.")
}

/// The headers of `r` a row carries: None (and no allocation) when it has none but kql's.
/// The values share the fetched buffer.
pub fn of_record(r: &LogRecord) -> RowHeaders {
    if !r.any_header_named(|n| !is_internal(n)) {
        return None;
    }
    let headers: Vec<Header> = r
        .headers()
        .filter(|(n, _)| !is_internal(n))
        .map(|(n, v)| Header {
            name: String::from_utf8_lossy(n).into_owned(),
            value: v.map(|v| r.keep(v)),
        })
        .collect();
    Some(headers.into())
}

/// Gives the rows one record caused (`rows`) that record's headers.
pub fn stamp(rows: &mut [super::task::OutputRow], headers: &RowHeaders) {
    if let Some(h) = headers {
        for row in rows {
            row.headers = Some(h.clone());
        }
    }
}

/// Headers to write with a row: kql's own (`internal`) then the row's.
pub fn written(mut internal: Vec<Header>, row: &RowHeaders) -> Vec<Header> {
    if let Some(h) = row {
        internal.extend(h.iter().cloned());
    }
    internal
}
