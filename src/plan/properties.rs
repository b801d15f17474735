//! The `WITH (...)` properties of CREATE statements, checked and typed.

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{ExprKind, Literal, Property};
use crate::syntax::span::Span;

use super::catalog::{did_you_mean, Format};

pub const KNOWN: &[&str] = &[
    "kafka_topic",
    "partitions",
    "replicas",
    "value_format",
    "key_format",
    "format",
    "timestamp",
    "timestamp_format",
    "retention_ms",
    "retention_bytes",
    "segment_bytes",
    "cleanup_policy",
    "value_delimiter",
    "key_delimiter",
    "min_insync_replicas",
    "wrap_single_value",
    "window_type",
    "window_size",
];

#[derive(Debug, Clone, Default)]
pub struct SourceProperties {
    pub kafka_topic: Option<(String, Span)>,
    pub partitions: Option<(u32, Span)>,
    pub replicas: Option<(u32, Span)>,
    pub value_format: Option<Format>,
    pub key_format: Option<Format>,
    pub timestamp: Option<(String, Span)>,
    pub timestamp_format: Option<String>,
    pub retention_ms: Option<i64>,
    pub retention_bytes: Option<i64>,
    pub segment_bytes: Option<i64>,
    pub compact: Option<bool>,
    pub min_insync_replicas: Option<(u32, Span)>,
    /// WRAP_SINGLE_VALUE: whether a value of one column is a JSON object holding it.
    pub wrap_single_value: Option<(bool, Span)>,
    /// VALUE_DELIMITER: DELIMITED's field separator.
    pub value_delimiter: Option<(char, Span)>,
    /// WINDOW_TYPE: the source's keys carry a window (TUMBLING, HOPPING or SESSION).
    pub window_type: Option<(String, Span)>,
    /// WINDOW_SIZE: the size of a TUMBLING or HOPPING source's windows.
    pub window_size: Option<(i64, Span)>,
    /// KEY_DELIMITER: the field separator of a DELIMITED key.
    pub key_delimiter: Option<(char, Span)>,
}

type Result<T> = std::result::Result<T, Diagnostic>;

impl SourceProperties {
    /// The settings of the topic a statement creates; `compact_default` applies when
    /// `cleanup_policy` is not given.
    pub fn topic_settings(&self, compact_default: bool) -> super::catalog::TopicSettings {
        super::catalog::TopicSettings {
            retention_ms: self.retention_ms,
            retention_bytes: self.retention_bytes,
            compact: self.compact.unwrap_or(compact_default),
            segment_bytes: self.segment_bytes,
            min_insync_replicas: self.min_insync_replicas.map(|(n, _)| n),
        }
    }
}

/// The properties that are valid, and an error for each one that is not (so a bad
/// property never hides a good one, which would cause follow-on errors).
pub fn parse(props: &[Property]) -> (SourceProperties, Vec<Diagnostic>) {
    let mut out = SourceProperties::default();
    let mut errors = Vec::new();
    for p in props {
        if let Err(d) = apply(&mut out, p) {
            errors.push(d);
        }
    }
    // FORMAT sets both formats, so KEY_FORMAT or VALUE_FORMAT beside it says one twice.
    if let Some(both) = props.iter().find(|p| p.name == "format") {
        for p in props
            .iter()
            .filter(|p| p.name == "key_format" || p.name == "value_format")
        {
            let which = p.name.to_ascii_uppercase();
            errors.push(
                Diagnostic::new(
                    Code::InvalidPropertyValue,
                    format!("Cannot supply both '{which}' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats"),
                )
                .label(p.value.span, format!("{which} given here"))
                .label(both.value.span, "FORMAT sets it already")
                .help("give FORMAT alone, or KEY_FORMAT and VALUE_FORMAT without FORMAT"),
            );
        }
    }
    let replicas = out.replicas.map_or(1, |(r, _)| r);
    if let Some((min, span)) = out.min_insync_replicas.filter(|(m, _)| *m > replicas) {
        let mut d = Diagnostic::new(
            Code::InvalidPropertyValue,
            format!("min_insync_replicas={min} is more than the topic's {replicas} replica(s): no write with acks=all could ever succeed"),
        )
        .label(span, "more than the replicas");
        if let Some((_, r)) = out.replicas {
            d = d.label(r, "the replicas");
        }
        errors.push(d.help(format!(
            "give the topic at least {min} replicas (replicas={min}), or lower min_insync_replicas"
        )));
    }
    (out, errors)
}

fn apply(out: &mut SourceProperties, p: &Property) -> Result<()> {
    let span = p.value.span;
    match p.name.as_str() {
        "kafka_topic" => {
            let t = string(p)?;
            if t.is_empty()
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(Diagnostic::new(
                    Code::InvalidPropertyValue,
                    format!("'{t}' is not a valid topic name"),
                )
                .label(span, "invalid topic name")
                .help("topic names use letters, digits, '.', '_' and '-', as in Kafka"));
            }
            out.kafka_topic = Some((t, span));
        }
        "partitions" => out.partitions = Some((positive(p)?, span)),
        "replicas" => out.replicas = Some((positive(p)?, span)),
        "value_format" => out.value_format = Some(format(p)?),
        "key_format" => out.key_format = Some(format(p)?),
        "format" => {
            let f = format(p)?;
            out.value_format = Some(f);
            out.key_format = Some(f);
        }
        "timestamp" => out.timestamp = Some((string(p)?.to_ascii_uppercase(), span)),
        "timestamp_format" => {
            let f = string(p)?;
            super::window::check_timestamp_format(&f).map_err(|why| {
                Diagnostic::new(
                    Code::BadTimestampFormat,
                    format!("timestamp_format '{f}' is not a pattern kql can read: {why}"),
                )
                .label(span, "invalid pattern")
                .help("use Java DateTimeFormatter letters: yyyy MM dd HH mm ss SSS, 'T' for literals, X for a zone offset, e.g. 'yyyy-MM-dd''T''HH:mm:ss'")
            })?;
            out.timestamp_format = Some(f)
        }
        "retention_ms" => out.retention_ms = Some(positive(p)? as i64),
        "retention_bytes" => out.retention_bytes = Some(positive(p)? as i64),
        "segment_bytes" => out.segment_bytes = Some(positive(p)? as i64),
        "min_insync_replicas" => out.min_insync_replicas = Some((positive(p)?, span)),
        "cleanup_policy" => {
            out.compact = Some(match string(p)?.to_ascii_lowercase().as_str() {
                "compact" => true,
                "delete" => false,
                other => {
                    return Err(Diagnostic::new(
                        Code::InvalidPropertyValue,
                        format!("cleanup_policy '{other}' is not known"),
                    )
                    .label(span, "expected 'delete' or 'compact'"))
                }
            })
        }
        "wrap_single_value" => out.wrap_single_value = Some((boolean(p)?, span)),
        "window_type" => {
            let kind = string(p)?.to_ascii_uppercase();
            if !["TUMBLING", "HOPPING", "SESSION"].contains(&kind.as_str()) {
                return Err(Diagnostic::new(
                    Code::InvalidPropertyValue,
                    format!("WINDOW_TYPE '{kind}' is not a window type"),
                )
                .label(span, "not a window type")
                .help("write WINDOW_TYPE='TUMBLING', 'HOPPING' or 'SESSION'"));
            }
            out.window_type = Some((kind, span));
        }
        "window_size" => {
            let ms = super::window::parse_duration_text(&string(p)?).map_err(|why| {
                Diagnostic::new(
                    Code::InvalidPropertyValue,
                    format!("Configuration WINDOW_SIZE is invalid: {why}"),
                )
                .label(span, "not a duration")
                .help("write WINDOW_SIZE='30 SECONDS'")
            })?;
            out.window_size = Some((ms, span));
        }
        "value_delimiter" => out.value_delimiter = Some((delimiter(p, "value_delimiter")?, span)),
        "key_delimiter" => out.key_delimiter = Some((delimiter(p, "key_delimiter")?, span)),
        other => {
            let mut d =
                Diagnostic::new(Code::UnknownProperty, format!("unknown property '{other}'"))
                    .label(p.name_span, "not a property kql knows");
            d = match did_you_mean(other, KNOWN.iter().copied()) {
                Some(s) => d.help(format!("did you mean '{s}'?")),
                None => d.help(format!("the properties are: {}", KNOWN.join(", "))),
            };
            return Err(d);
        }
    }
    Ok(())
}

fn string(p: &Property) -> Result<String> {
    match &p.value.kind {
        ExprKind::Literal(Literal::String(s)) => Ok(s.clone()),
        _ => Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            format!("{} takes a string", p.name),
        )
        .label(p.value.span, "expected a 'string'")
        .help(format!("write it in single quotes: {}='...'", p.name))),
    }
}

fn boolean(p: &Property) -> Result<bool> {
    match &p.value.kind {
        ExprKind::Literal(Literal::Boolean(b)) => Ok(*b),
        ExprKind::Literal(Literal::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        ExprKind::Literal(Literal::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            format!("{} takes true or false", p.name),
        )
        .label(p.value.span, "expected true or false")),
    }
}

/// The window a declared source's keys carry: WINDOW_TYPE, with WINDOW_SIZE for time
/// windows and without it for sessions (ksqlDB's rules).
pub fn declared_window(props: &SourceProperties) -> Result<Option<super::window::WindowType>> {
    let Some((kind, kind_span)) = &props.window_type else {
        if let Some((_, span)) = props.window_size {
            return Err(Diagnostic::new(
                Code::InvalidPropertyValue,
                "WINDOW_SIZE without WINDOW_TYPE: the keys are not windowed",
            )
            .label(span, "a size of no window")
            .help("add WINDOW_TYPE='TUMBLING' or 'HOPPING', or remove WINDOW_SIZE"));
        }
        return Ok(None);
    };
    let size = match (kind.as_str(), props.window_size) {
        ("SESSION", Some((_, span))) => {
            return Err(Diagnostic::new(
                Code::InvalidPropertyValue,
                "'WINDOW_SIZE' should not be set for SESSION windows.",
            )
            .label(span, "a session has no fixed size")
            .help("remove WINDOW_SIZE"))
        }
        ("SESSION", None) => 0,
        (_, Some((ms, _))) => ms,
        (_, None) => {
            return Err(Diagnostic::new(
                Code::MissingProperty,
                format!("{kind} windows require 'WINDOW_SIZE' to be provided in the WITH clause"),
            )
            .label(*kind_span, "windows of no size")
            .help("add WINDOW_SIZE='10 SECONDS'"))
        }
    };
    Ok(super::window::WindowType::declared(kind, size))
}

/// WRAP_SINGLE_VALUE against the value columns and format a statement gives: ksqlDB's rules.
/// `value_columns` is the number of value columns; Ok(wrapped) is what the source keeps,
/// where `default` applies when WITH does not say (`ksql.persistence.wrap.single.values`).
pub fn wrap_single_value(
    props: &SourceProperties,
    format: Format,
    value_columns: usize,
    default: bool,
) -> Result<bool> {
    let Some((wrap, span)) = props.wrap_single_value else {
        return Ok(default);
    };
    if value_columns != 1 {
        return Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas",
        )
        .label(span, format!("the value has {value_columns} columns"))
        .help("leave WRAP_SINGLE_VALUE out: a value of several columns is always an object"));
    }
    if wrap && format != Format::Json {
        return Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            format!(
                "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'true'.",
                format.name()
            ),
        )
        .label(span, "only JSON wraps a single value")
        .help(format!(
            "{} values are never wrapped: leave WRAP_SINGLE_VALUE out",
            format.name()
        )));
    }
    Ok(wrap)
}

/// Whether a value format can hold these value columns (ksqlDB's rules and wording): KAFKA
/// holds one column of a primitive type Kafka has a serializer for, DELIMITED no ARRAY,
/// MAP or STRUCT. The reason when it cannot.
pub fn value_format_error(
    format: Format,
    columns: &[(&str, &crate::data::SqlType)],
) -> Option<String> {
    use crate::data::SqlType as T;
    let nested = |t: &T| matches!(t, T::Array(_) | T::Map(..) | T::Struct(_));
    let ksql_type = |t: &T| match t {
        T::Int => "INTEGER".to_string(),
        other => other.to_string(),
    };
    match (format, columns) {
        (Format::Json, _) => columns
            .iter()
            .any(|(_, t)| has_non_string_map_key(t))
            .then(|| JSON_MAP_KEYS_ERROR.to_string()),
        (Format::None, []) => None,
        (Format::None, _) => Some(none_format_error(
            columns.iter().map(|(n, t)| (*n, *t, false)),
        )),
        (Format::Delimited, _) => columns.iter().find(|(_, t)| nested(t)).map(|(_, t)| {
            format!(
                "The 'DELIMITED' format does not support type '{}'",
                type_kind(t)
            )
        }),
        (Format::Kafka, [] | [_])
            if columns
                .iter()
                .all(|(_, t)| super::persistent::kafka_key_type(t)) =>
        {
            None
        }
        (Format::Kafka, [(_, t)]) => Some(format!(
            "The 'KAFKA' format does not support type '{}'",
            type_kind(t)
        )),
        (Format::Kafka, _) => Some(format!(
            "The 'KAFKA' format only supports a single field. Got: [{}]",
            columns
                .iter()
                .map(|(n, t)| format!("`{n}` {}", ksql_type(t)))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The NONE format's error for columns it was given: (name, type, is a key column).
pub fn none_format_error<'a>(
    columns: impl Iterator<Item = (&'a str, &'a crate::data::SqlType, bool)>,
) -> String {
    let listed: Vec<String> = columns
        .map(|(n, t, key)| {
            let ty = match t {
                crate::data::SqlType::Int => "INTEGER".to_string(),
                other => other.to_string(),
            };
            format!("`{n}` {ty}{}", if key { " KEY" } else { "" })
        })
        .collect();
    format!(
        "The 'NONE' format can only be used when no columns are defined. Got: [{}]",
        listed.join(", ")
    )
}

/// A type's kind as ksqlDB names it in format errors: ARRAY, MAP, STRUCT or the type.
pub fn type_kind(t: &crate::data::SqlType) -> String {
    use crate::data::SqlType as T;
    match t {
        T::Array(_) => "ARRAY".into(),
        T::Map(..) => "MAP".into(),
        T::Struct(_) => "STRUCT".into(),
        other => other.to_string(),
    }
}

/// The error for a MAP with non-string keys in the JSON format (ksqlDB's words), and how
/// to mend it: one text for values and keys.
pub const JSON_MAP_KEYS_ERROR: &str = "JSON only supports MAP types with STRING keys";
pub const JSON_MAP_KEYS_HELP: &str = "give the map STRING keys, e.g. MAP(CAST(k AS VARCHAR) := v)";

/// Whether a type holds a MAP whose keys are not strings, at any depth: a JSON object's
/// field names are strings, so JSON cannot hold one (a declaration is refused when it is
/// bound; a query's computed column, `MAP(k := v)` with an INT `k`, here).
pub fn has_non_string_map_key(t: &crate::data::SqlType) -> bool {
    use crate::data::SqlType as T;
    match t {
        T::Map(k, v) => **k != T::String || has_non_string_map_key(v),
        T::Array(inner) => has_non_string_map_key(inner),
        T::Struct(fields) => fields.iter().any(|(_, t)| has_non_string_map_key(t)),
        _ => false,
    }
}

/// The error for value columns their format cannot hold, pointing at `at`.
pub fn check_value_format(
    format: Format,
    columns: &[(&str, &crate::data::SqlType)],
    at: Span,
) -> Result<()> {
    match value_format_error(format, columns) {
        None => Ok(()),
        Some(reason) => Err(Diagnostic::new(Code::InvalidPropertyValue, reason)
            .label(at, format!("values in the {} format", format.name()))
            .help(if format == Format::Json {
                JSON_MAP_KEYS_HELP
            } else {
                "value_format='JSON' holds values of any type and any number of columns"
            })),
    }
}

/// A DELIMITED field separator (`name` is the property): one character, 'TAB' or 'SPACE'.
fn delimiter(p: &Property, name: &str) -> Result<char> {
    let d = string(p)?;
    let mut chars = d.chars();
    match (d.to_ascii_uppercase().as_str(), chars.next(), chars.next()) {
        ("TAB", ..) => Ok('\t'),
        ("SPACE", ..) => Ok(' '),
        (_, Some(c), None) if c != '"' && c != '\n' && c != '\r' => Ok(c),
        _ => Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            format!("'{d}' is not a {name}: it is one character, 'TAB' or 'SPACE'"),
        )
        .label(p.value.span, "not a delimiter")
        .help(format!(
            "write {name}='|' (a double quote or a line break cannot be one)"
        ))),
    }
}

/// The field separator of a `what` ("value" or "key") in `format`: the `given`
/// VALUE_DELIMITER or KEY_DELIMITER, which only DELIMITED takes, else `inherited` (a
/// sink's source's, when both are DELIMITED) or a comma.
pub fn delimiter_of(
    given: Option<(char, Span)>,
    what: &str,
    format: Format,
    inherited: Option<char>,
) -> Result<char> {
    match given {
        Some((_, span)) if format != Format::Delimited => Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            format!(
                "Delimiter only supported with DELIMITED format, not {}",
                format.name()
            ),
        )
        .label(span, "a delimiter for a format without one")
        .help(format!(
            "remove {what}_delimiter, or set {what}_format='DELIMITED'"
        ))),
        Some((c, _)) => Ok(c),
        None => Ok(inherited.unwrap_or(',')),
    }
}

/// The column a `timestamp` property names (its index in `columns`): BIGINT or TIMESTAMP,
/// or STRING when a `timestamp_format` was given (`format_given`, even one reported as
/// invalid, so its error is not followed by another).
pub fn timestamp_column(
    props: &SourceProperties,
    columns: &[super::catalog::Column],
    format_given: bool,
) -> Result<Option<usize>> {
    use crate::data::SqlType;
    let Some((name, span)) = &props.timestamp else {
        return Ok(None);
    };
    match columns.iter().position(|c| &c.name == name) {
        Some(i)
            if matches!(columns[i].ty, SqlType::Bigint | SqlType::Timestamp)
                || (columns[i].ty == SqlType::String && format_given) =>
        {
            Ok(Some(i))
        }
        Some(i) => Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            format!(
                "timestamp column {name} is {}, not a time: it should be BIGINT, TIMESTAMP, or a STRING with a timestamp_format",
                columns[i].ty
            ),
        )
        .label(*span, "not usable as event time")
        .help("use a BIGINT (milliseconds) or TIMESTAMP column, or a STRING with timestamp_format")),
        None => {
            let mut d = Diagnostic::new(
                Code::UnknownColumn,
                format!("timestamp column {name} is not declared"),
            )
            .label(*span, "unknown column");
            if let Some(s) = did_you_mean(name, columns.iter().map(|c| c.name.as_str())) {
                d = d.help(format!("did you mean '{s}'?"));
            }
            Err(d)
        }
    }
}

fn positive(p: &Property) -> Result<u32> {
    match &p.value.kind {
        ExprKind::Literal(Literal::Integer(i)) if *i > 0 && *i <= u32::MAX as i64 => Ok(*i as u32),
        ExprKind::Literal(Literal::String(s)) if s.parse::<u32>().is_ok_and(|n| n > 0) => {
            Ok(s.parse().unwrap())
        }
        _ => Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            format!("{} takes a whole number from 1 to {}", p.name, u32::MAX),
        )
        .label(p.value.span, "expected a number such as 3")),
    }
}

fn format(p: &Property) -> Result<Format> {
    let s = string(p)?;
    match s.to_ascii_uppercase().as_str() {
        "JSON" => Ok(Format::Json),
        "DELIMITED" => Ok(Format::Delimited),
        "KAFKA" => Ok(Format::Kafka),
        "NONE" => Ok(Format::None),
        _ => Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            format!("format '{s}' is not supported"),
        )
        .label(p.value.span, "unsupported format")
        .help("kql reads and writes 'JSON', 'DELIMITED', 'KAFKA' and (for no columns) 'NONE'")),
    }
}
