//! What a sink reads of a row (`SinkRow`): an output row a task made, or a picked row,
//! the columns a projection picks read where they are, in the task's row and the table
//! row joined to it. A query whose SELECT only names columns needs no output row: making
//! one copies each value (a reference count for each string, and its release once the
//! row is written) only for the sink to read it once.

use crate::data::Value;
use crate::exec::row_headers::RowHeaders;
use crate::exec::task::OutputRow;

/// A row as the sink encodes it.
pub trait SinkRow {
    /// Where the row comes from: its event time, input partition and offset.
    fn order(&self) -> (i64, u32, u64);
    /// The query's output column `i`.
    fn value(&self, i: usize) -> &Value;
    fn tombstone(&self) -> bool;
    fn window(&self) -> Option<(i64, i64)>;
    fn headers(&self) -> &RowHeaders;
}

impl SinkRow for OutputRow {
    fn order(&self) -> (i64, u32, u64) {
        OutputRow::order(self)
    }

    #[inline]
    fn value(&self, i: usize) -> &Value {
        &self.values[i]
    }

    fn tombstone(&self) -> bool {
        self.tombstone
    }

    fn window(&self) -> Option<(i64, i64)> {
        self.window
    }

    fn headers(&self) -> &RowHeaders {
        &self.headers
    }
}

/// An output row whose columns are columns of a task's row, read there: `cols[i]` is
/// output column `i`'s position in the row. A join's table columns (`table`) may be read
/// from the table's row instead, which then need not be copied into the task's row.
pub struct PickedRow<'a> {
    pub event_time_ms: i64,
    pub partition: u32,
    pub offset: u64,
    pub headers: &'a RowHeaders,
    pub cols: &'a [usize],
    pub row: &'a [Value],
    pub table: Option<JoinedTable<'a>>,
}

/// The table side of a join's picked row: the positions `start..start + len` of the row
/// are the table row's columns (all NULL when no table row matched).
pub struct JoinedTable<'a> {
    pub start: usize,
    pub len: usize,
    pub row: Option<&'a [Value]>,
}

static NULL: Value = Value::Null;

impl SinkRow for PickedRow<'_> {
    fn order(&self) -> (i64, u32, u64) {
        (self.event_time_ms, self.partition, self.offset)
    }

    #[inline]
    fn value(&self, i: usize) -> &Value {
        let at = self.cols[i];
        match &self.table {
            Some(t) if at.wrapping_sub(t.start) < t.len => {
                t.row.map_or(&NULL, |row| &row[at - t.start])
            }
            _ => &self.row[at],
        }
    }

    fn tombstone(&self) -> bool {
        false
    }

    fn window(&self) -> Option<(i64, i64)> {
        None
    }

    fn headers(&self) -> &RowHeaders {
        self.headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_row_reads_the_table_columns_from_the_table_row_or_null() {
        let row = [
            Value::string("s1"),
            Value::Double(1.5),
            Value::Null,
            Value::Null,
        ];
        let table_row = [Value::string("paris"), Value::Bigint(7)];
        let cols = [0, 2, 1, 3];
        fn picked<'a>(
            row: &'a [Value],
            cols: &'a [usize],
            table: Option<&'a [Value]>,
        ) -> PickedRow<'a> {
            PickedRow {
                event_time_ms: 0,
                partition: 0,
                offset: 0,
                headers: &None,
                cols,
                row,
                table: Some(JoinedTable {
                    start: 2,
                    len: 2,
                    row: table,
                }),
            }
        }
        let matched = picked(&row, &cols, Some(&table_row));
        let values: Vec<_> = (0..4).map(|i| matched.value(i).clone()).collect();
        assert_eq!(
            values,
            [
                Value::string("s1"),
                Value::string("paris"),
                Value::Double(1.5),
                Value::Bigint(7)
            ]
        );
        let unmatched = picked(&row, &cols, None);
        let values: Vec<_> = (0..4).map(|i| unmatched.value(i).clone()).collect();
        assert_eq!(
            values,
            [
                Value::string("s1"),
                Value::Null,
                Value::Double(1.5),
                Value::Null
            ]
        );
    }
}
