//! Names of SELECT items written without an alias, as ksqlDB gives them: a column keeps its
//! name, a struct field (`s->f`) is named after the field, and any other expression is
//! `KSQL_COL_n`. Generated names never clash with a column of the source: each name is
//! read as a stem and a number (`ID_2` is `ID` and 2, `ID` is `ID` and 0), and a stem's
//! next name skips the numbers the source's columns use (`s->id` next to a column `ID` is
//! `ID_1`). A field name's own number is dropped (`s->f_2` is `F`, then `F_1`), as in
//! ksqlDB; `KSQL_COL` names always carry their number.

use std::collections::{HashMap, HashSet};

const GENERATED: &str = "KSQL_COL";

#[derive(Default)]
struct Stem {
    used: HashSet<u64>,
    next: u64,
}

/// Hands out generated names for one SELECT list.
pub struct ColumnNamer {
    stems: HashMap<String, Stem>,
}

/// `NAME_12` as (`NAME`, 12); a name without a trailing `_digits` has number 0.
fn split(name: &str) -> (&str, u64) {
    if let Some((stem, digits)) = name.rsplit_once('_') {
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = digits.parse() {
                return (stem, n);
            }
        }
    }
    (name, 0)
}

impl ColumnNamer {
    /// A namer that avoids the names of `columns` (the source's columns).
    pub fn new<'a>(columns: impl IntoIterator<Item = &'a str>) -> ColumnNamer {
        let mut stems: HashMap<String, Stem> = HashMap::new();
        for c in columns {
            let (stem, n) = split(c);
            stems.entry(stem.to_string()).or_default().used.insert(n);
        }
        ColumnNamer { stems }
    }

    fn next(&mut self, stem: &str) -> String {
        let s = self.stems.entry(stem.to_string()).or_default();
        let mut n = s.next;
        while s.used.contains(&n) {
            n += 1;
        }
        s.next = n + 1;
        if n == 0 && stem != GENERATED {
            stem.to_string()
        } else {
            format!("{stem}_{n}")
        }
    }

    /// The next `KSQL_COL_n`.
    pub fn generated(&mut self) -> String {
        self.next(GENERATED)
    }

    /// The name of a struct field selected without an alias.
    pub fn field(&mut self, field: &str) -> String {
        let stem = split(field).0.to_string();
        self.next(&stem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_count_up_and_skip_the_sources_columns() {
        let mut n = ColumnNamer::new(["ID", "KSQL_COL_1"]);
        assert_eq!(n.generated(), "KSQL_COL_0");
        assert_eq!(n.generated(), "KSQL_COL_2");
        assert_eq!(n.generated(), "KSQL_COL_3");
    }

    #[test]
    fn a_field_named_like_a_column_gets_a_number() {
        let mut n = ColumnNamer::new(["ITEMID", "NAME"]);
        assert_eq!(n.field("ITEMID"), "ITEMID_1");
        assert_eq!(n.field("ITEMID"), "ITEMID_2");
        assert_eq!(n.field("TOWN"), "TOWN");
        assert_eq!(n.field("TOWN"), "TOWN_1");
        assert_eq!(n.field("F_2"), "F");
    }
}
