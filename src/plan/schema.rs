//! What a query sees: the columns of a row, with the source they come from. Source rows are
//! laid out as ROWTIME, ROWPARTITION, ROWOFFSET, then the source's key and value columns.

use crate::data::SqlType;
use crate::plan::catalog::SourceDef;

/// The pseudo-columns every source row starts with.
pub const PSEUDO_COLUMNS: [(&str, SqlType); 3] = [
    ("ROWTIME", SqlType::Bigint),
    ("ROWPARTITION", SqlType::Int),
    ("ROWOFFSET", SqlType::Bigint),
];
pub const ROWTIME: usize = 0;
pub const ROWPARTITION: usize = 1;
pub const ROWOFFSET: usize = 2;

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The source name and its alias, for `alias.col`.
    pub qualifiers: Vec<String>,
    pub name: String,
    pub ty: SqlType,
    /// Pseudo-columns are left out of `SELECT *`.
    pub pseudo: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    pub fields: Vec<Field>,
}

impl Schema {
    /// The row layout of a source.
    pub fn of_source(def: &SourceDef, alias: Option<&str>) -> Schema {
        let mut qualifiers = vec![def.name.clone()];
        if let Some(a) = alias {
            qualifiers.push(a.to_string());
        }
        let mut fields: Vec<Field> = PSEUDO_COLUMNS
            .iter()
            .map(|(n, t)| Field {
                qualifiers: qualifiers.clone(),
                name: n.to_string(),
                ty: t.clone(),
                pseudo: true,
            })
            .collect();
        fields.extend(def.columns.iter().map(|c| Field {
            qualifiers: qualifiers.clone(),
            name: c.name.clone(),
            ty: c.ty.clone(),
            pseudo: false,
        }));
        // A windowed table's rows also have their window (filled from the key).
        if def.window.is_some() {
            for n in ["WINDOWSTART", "WINDOWEND"] {
                if !def.columns.iter().any(|c| c.name == n) {
                    fields.push(Field {
                        qualifiers: qualifiers.clone(),
                        name: n.to_string(),
                        ty: SqlType::Bigint,
                        pseudo: true,
                    });
                }
            }
        }
        Schema { fields }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}
