//! What a query sees: the columns of a row, with the source they come from. Source rows are
//! laid out as ROWTIME, ROWPARTITION, ROWOFFSET, then the source's key and value columns.

use std::collections::HashMap;
use std::sync::OnceLock;

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
    /// Columns a query can name that are not in the row but computed from it: a join's
    /// synthetic key column (ROWKEY), whose value is the join expression.
    pub computed: Vec<(String, crate::plan::expr::TypedExpr)>,
    /// Field positions by name, built on the first lookup, so that binding the columns of
    /// a very wide row is linear, not quadratic.
    names: NameIndex,
}

/// Positions of the fields of each name. Built once; a clone starts empty (the clone's
/// fields may be extended), and a stale index (fields added after it was built) is not used.
#[derive(Default)]
struct NameIndex(OnceLock<(usize, HashMap<String, Vec<usize>>)>);

impl Clone for NameIndex {
    fn clone(&self) -> Self {
        NameIndex::default()
    }
}

impl PartialEq for NameIndex {
    fn eq(&self, _: &Self) -> bool {
        true // a cache: schemas are equal when their fields are
    }
}

impl std::fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameIndex")
    }
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
        Schema::new(fields)
    }

    /// Row positions of the first WINDOWSTART and WINDOWEND (in a join, the left
    /// source's), filled from a windowed key.
    pub fn window_slots(&self) -> Option<(usize, usize)> {
        let slot = |name: &str| self.fields.iter().position(|f| f.pseudo && f.name == name);
        slot("WINDOWSTART").zip(slot("WINDOWEND"))
    }

    pub fn new(fields: Vec<Field>) -> Schema {
        Schema {
            fields,
            computed: Vec::new(),
            names: NameIndex::default(),
        }
    }

    /// The positions of the fields named `name`, in order.
    pub fn positions_of(&self, name: &str) -> Vec<usize> {
        let (len, index) = self.names.0.get_or_init(|| {
            let mut index: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, f) in self.fields.iter().enumerate() {
                index.entry(f.name.clone()).or_default().push(i);
            }
            (self.fields.len(), index)
        });
        if *len == self.fields.len() {
            index.get(name).cloned().unwrap_or_default()
        } else {
            let named = self
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.name == name);
            named.map(|(i, _)| i).collect()
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}
