//! The catalog: every stream, table and global table the session knows, with its columns,
//! its topic and where it was declared (so diagnostics can point at the declaration).

use std::collections::BTreeMap;

use crate::data::SqlType;
use crate::syntax::ast::SourceKind;
use crate::syntax::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    Key,
    Value,
    /// Read from the record's headers (`HEADERS` or `HEADER('k')`), never written.
    Header,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub role: ColumnRole,
    /// A `HEADER('k')` column: the header key `k` (None for every other column, a
    /// `HEADERS` column included).
    pub header_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Delimited,
    /// ksqlDB's KAFKA format: a single primitive in Kafka's serializer bytes (keys).
    Kafka,
    /// ksqlDB's NONE format: nothing is read or written (a stream without key columns).
    None,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Delimited => "DELIMITED",
            Format::Kafka => "KAFKA",
            Format::None => "NONE",
        }
    }
}

/// Settings of the topic a CREATE makes (a topic that exists keeps its own).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopicSettings {
    pub retention_ms: Option<i64>,
    pub retention_bytes: Option<i64>,
    /// `cleanup_policy='compact'`; tables default to it, streams to delete.
    pub compact: bool,
    /// Segment size of this topic (small values make retention visible in examples).
    pub segment_bytes: Option<i64>,
    /// Writes with acks=all are refused while fewer replicas are in sync (default 1).
    pub min_insync_replicas: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceDef {
    pub name: String,
    pub kind: SourceKind,
    /// Key columns first, then value columns, each in declared order.
    pub columns: Vec<Column>,
    pub topic: String,
    pub partitions: u32,
    pub replicas: u32,
    pub topic_settings: TopicSettings,
    pub key_format: Format,
    pub value_format: Format,
    /// JSON only: a value of one column is written as an object holding it (true, the
    /// default) or as the bare value (WRAP_SINGLE_VALUE=false).
    pub wrap_single_value: bool,
    /// DELIMITED only: the character between a value's fields (`value_delimiter`).
    pub value_delimiter: char,
    /// DELIMITED keys only: the character between a key's fields (`key_delimiter`).
    pub key_delimiter: char,
    /// Index (into `columns`) of the column that gives event time, instead of ROWTIME.
    pub timestamp_column: Option<usize>,
    pub timestamp_format: Option<String>,
    /// The whole CREATE statement, and the part that says where the partition count comes from.
    pub declared_at: Span,
    pub partitions_at: Option<Span>,
    /// A windowed source (a windowed aggregation's sink, or declared with WINDOW_TYPE):
    /// its keys carry the window, and its rows have WINDOWSTART and WINDOWEND.
    pub window: Option<super::window::WindowType>,
    /// The window was declared (WINDOW_TYPE), so only its kind and size are known.
    pub window_declared: bool,
    /// Declared with `CREATE SOURCE STREAM|TABLE`: no INSERT writes to it, its topic is
    /// not deleted with it, and it is not replaced.
    pub read_only: bool,
}

impl SourceDef {
    pub fn key_columns(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.role == ColumnRole::Key)
    }

    /// Columns read from the record's headers.
    pub fn has_header_columns(&self) -> bool {
        self.columns.iter().any(|c| c.role == ColumnRole::Header)
    }

    pub fn value_columns(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.role == ColumnRole::Value)
    }
}

/// Streams and tables by name (names are stored as shown: upper-case unless quoted), and
/// the types declared with CREATE TYPE.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    sources: BTreeMap<String, SourceDef>,
    types: BTreeMap<String, SqlType>,
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&SourceDef> {
        self.sources.get(name)
    }

    pub fn insert(&mut self, def: SourceDef) {
        self.sources.insert(def.name.clone(), def);
    }

    pub fn remove(&mut self, name: &str) -> Option<SourceDef> {
        self.sources.remove(name)
    }

    pub fn sources(&self) -> impl Iterator<Item = &SourceDef> {
        self.sources.values()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(|s| s.as_str())
    }

    /// A type declared with CREATE TYPE.
    pub fn type_named(&self, name: &str) -> Option<&SqlType> {
        self.types.get(name)
    }

    pub fn insert_type(&mut self, name: String, ty: SqlType) {
        self.types.insert(name, ty);
    }

    pub fn remove_type(&mut self, name: &str) -> Option<SqlType> {
        self.types.remove(name)
    }

    /// The declared types, by name.
    pub fn types(&self) -> impl Iterator<Item = (&str, &SqlType)> {
        self.types.iter().map(|(n, t)| (n.as_str(), t))
    }
}

pub use crate::diagnostic::did_you_mean;
