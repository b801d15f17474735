//! The properties `SET` and `UNSET` change, with the values each takes. An unknown name is
//! an error with a did-you-mean (a misspelled `auto.offset.rest` would otherwise be
//! accepted and do nothing); a topic setting named as a session property points to WITH.

use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::syntax::ast::{SetProperty, UnsetProperty};

/// Name, default, accepted values (lower case; `NUMBERS`, `TEXT`), what it does.
pub const SESSION_PROPERTIES: &[(&str, &str, &[&str], &str)] = &[
    (
        "auto.offset.reset",
        "earliest",
        &["earliest", "latest"],
        "where a query starts reading a topic it has no committed offset for",
    ),
    (
        "acks",
        "all",
        &["0", "1", "all", "-1"],
        "how many replicas must have a record INSERT writes before it returns",
    ),
    (
        "processing.guarantee",
        "exactly_once_v2",
        &["exactly_once_v2", "exactly_once", "at_least_once"],
        "how kql run --follow processes sharing a query on Kafka write its results: in Kafka transactions (each result once), or at least once",
    ),
    (
        "ksql.persistence.wrap.single.values",
        "true",
        &["true", "false"],
        "whether a JSON value of one column is an object holding it (true) or the bare value (false), where WITH (WRAP_SINGLE_VALUE=...) does not say",
    ),
    (
        "ksql.persistence.default.format.key",
        "KAFKA",
        &["kafka", "json", "delimited", "none", "avro", "protobuf", "protobuf_nosr", "json_sr"],
        "the key format of a CREATE whose WITH gives none, and of a sink that gets key columns its source does not have (kql reads KAFKA, JSON, DELIMITED and NONE: a statement that needs another is an error)",
    ),
    (
        "ksql.persistence.default.format.value",
        "JSON",
        &["json", "delimited", "kafka", "avro", "protobuf", "protobuf_nosr", "json_sr"],
        "the value format of a CREATE whose WITH gives none (kql reads JSON, DELIMITED and KAFKA: a statement that needs another is an error)",
    ),
    (
        "ksql.streams.default.timestamp.extractor",
        "org.apache.kafka.streams.processor.LogAndSkipOnInvalidTimestamp",
        &["org.apache.kafka.streams.processor.logandskiponinvalidtimestamp"],
        "what a query does with a record whose timestamp column gives no valid time (NULL, negative, not matching timestamp_format): kql always skips it and counts it as a bad record",
    ),
    (
        "ksql.new.query.planner.enabled",
        "false",
        &["true", "false"],
        "whether a query over a stream may leave the key out of its projection (true: the result has no key), as ksqlDB's newer planner allows",
    ),
    (
        "ksql.functions.collect_list.limit",
        "1000",
        NUMBERS,
        "how many values COLLECT_LIST keeps (the later ones are left out)",
    ),
    (
        "ksql.functions.collect_set.limit",
        "1000",
        NUMBERS,
        "how many distinct values COLLECT_SET keeps (the later ones are left out)",
    ),
    (
        "ksql.functions.substring.legacy.args",
        "false",
        &["false"],
        "SUBSTRING's arguments as ksqlDB reads them now (positions from 1); kql has no legacy form",
    ),
    (
        "ksql.output.topic.name.prefix",
        "",
        TEXT,
        "text put before the name of the topic a CREATE ... AS SELECT makes when WITH gives no KAFKA_TOPIC",
    ),
    // ksqlDB's settings whose only value is what kql always does, accepted so that scripts
    // written for ksqlDB run; any other value is refused rather than ignored.
    (
        "ksql.streams.__emit.interval.ms.kstreams.windowed.aggregation__",
        "0",
        &["0"],
        "how long an EMIT FINAL window waits after it closes: kql emits it when stream time closes it",
    ),
    (
        "ksql.windowed.session.key.legacy",
        "false",
        &["false"],
        "ksqlDB's older layout of session window keys: kql writes the current one",
    ),
    (
        "ksql.streams.topology.optimization",
        "all",
        &["all", "none"],
        "whether ksqlDB may use a table's own topic as its changelog: kql's results are the same either way",
    ),
];

/// The values a count property accepts: any whole number from 1 (checked in `check_set`).
const NUMBERS: &[&str] = &[];

/// The values a text property accepts: any text, kept as written.
const TEXT: &[&str] = &["(text)"];

/// Topic settings people try to SET: (name, the WITH property to use instead).
const TOPIC_SETTINGS: &[(&str, &str)] = &[
    ("min.insync.replicas", "min_insync_replicas"),
    ("retention.ms", "retention_ms"),
    ("retention.bytes", "retention_bytes"),
    ("segment.bytes", "segment_bytes"),
    ("cleanup.policy", "cleanup_policy"),
];

/// Checks `SET 'name'='value'`; returns the name and value as stored (value lower case).
pub fn check_set(s: &SetProperty) -> Result<(String, String), Diagnostic> {
    let (name, _, values, _) = known(&s.name, s.name_span)?;
    if *values == TEXT {
        return Ok((name.to_string(), s.value.clone()));
    }
    let value = s.value.trim().to_ascii_lowercase();
    let accepted = if values.is_empty() {
        value.parse::<u32>().is_ok_and(|n| n >= 1)
    } else {
        values.contains(&value.as_str())
    };
    if !accepted {
        return Err(Diagnostic::new(
            Code::InvalidPropertyValue,
            format!("'{}' is not a value of '{name}'", s.value),
        )
        .label(s.value_span, "not accepted")
        .help(if values.is_empty() {
            format!("'{name}' takes a whole number from 1")
        } else {
            format!("'{name}' takes {}", quoted(values))
        }));
    }
    Ok((name.to_string(), value))
}

/// Is `name` one of kql's session properties or topic settings (as opposed to a Kafka
/// client property, which a log with a client may take)?
pub fn is_kql_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SESSION_PROPERTIES.iter().any(|p| p.0 == lower) || TOPIC_SETTINGS.iter().any(|t| t.0 == lower)
}

/// Checks `UNSET 'name'`.
pub fn check_unset(u: &UnsetProperty) -> Result<String, Diagnostic> {
    known(&u.name, u.name_span).map(|(name, ..)| name.to_string())
}

fn known(
    name: &str,
    span: crate::syntax::span::Span,
) -> Result<
    &'static (
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static str,
    ),
    Diagnostic,
> {
    let lower = name.to_ascii_lowercase();
    if let Some(p) = SESSION_PROPERTIES.iter().find(|p| p.0 == lower) {
        return Ok(p);
    }
    let d = Diagnostic::new(
        Code::UnknownProperty,
        format!("'{name}' is not a property kql can SET"),
    )
    .label(span, "unknown property");
    if let Some((_, with)) = TOPIC_SETTINGS.iter().find(|(t, _)| *t == lower) {
        return Err(d.help(format!(
            "'{name}' is a topic's setting: give it when the topic is made, CREATE STREAM ... WITH ({with}=...)"
        )));
    }
    let names = SESSION_PROPERTIES.iter().map(|p| p.0);
    Err(match did_you_mean(name, names.clone()) {
        Some(s) => d.help(format!("did you mean '{s}'?")),
        None => d.help(format!(
            "the properties are {}",
            quoted(&names.collect::<Vec<_>>())
        )),
    })
}

fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
