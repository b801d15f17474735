//! JSON functions: JSON text read and written as ksqlDB does (compact, keys in document
//! order). Text that is not valid JSON gives NULL.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value as Json;

use super::rules::{string, strings};
use super::string::text;
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::value::{base64, format_date, format_double, format_timestamp};
use crate::data::{SqlType, Value};

const C: Category = Category::Json;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "TO_JSON_STRING",
        C,
        "TO_JSON_STRING(x)",
        (1, 1),
        |_| Ok(SqlType::String),
        to_json_string,
        "any value as JSON text",
        "TO_JSON_STRING(STRUCT(id := 1)) = '{\"ID\":1}'",
    )
    .handles_nulls(),
    scalar(
        "EXTRACTJSONFIELD",
        C,
        "EXTRACTJSONFIELD(json, path)",
        (2, 2),
        to_string,
        extract_json_field,
        "the value at a JSONPath ($.a.b[0]) as text, NULL when absent",
        "EXTRACTJSONFIELD('{\"a\":{\"b\":7}}', '$.a.b') = '7'",
    ),
    scalar(
        "IS_JSON_STRING",
        C,
        "IS_JSON_STRING(s)",
        (1, 1),
        |t| string(t, 0).map(|_| SqlType::Boolean),
        |a| Value::Boolean(matches!(a.get(0), Value::String(s) if parse(s).is_some())),
        "is the text valid JSON?",
        "IS_JSON_STRING('[1, 2]') = true",
    )
    .handles_nulls(),
    scalar(
        "JSON_ARRAY_LENGTH",
        C,
        "JSON_ARRAY_LENGTH(json)",
        (1, 1),
        |t| string(t, 0).map(|_| SqlType::Int),
        |a| match parse(a.str(0)) {
            Some(Json::Array(items)) => Value::Int(items.len() as i32),
            _ => Value::Null,
        },
        "the length of a JSON array",
        "JSON_ARRAY_LENGTH('[1, [2], 3]') = 3",
    ),
    scalar(
        "JSON_ARRAY_CONTAINS",
        C,
        "JSON_ARRAY_CONTAINS(json, x)",
        (2, 2),
        contains_type,
        json_array_contains,
        "does a JSON array hold the value?",
        "JSON_ARRAY_CONTAINS('[1, 2, 3]', 3) = true",
    )
    .handles_nulls(),
    scalar(
        "JSON_CONCAT",
        C,
        "JSON_CONCAT(json, json, ...)",
        (2, usize::MAX),
        to_string,
        json_concat,
        "objects merged (the last value of a key wins), anything else concatenated as arrays",
        "JSON_CONCAT('[1, 2]', '3') = '[1,2,3]'",
    ),
    scalar(
        "JSON_KEYS",
        C,
        "JSON_KEYS(json)",
        (1, 1),
        |t| string(t, 0).map(|_| SqlType::Array(Box::new(SqlType::String))),
        |a| match entries(a.str(0)) {
            Some(e) => Value::Array(Arc::new(e.into_iter().map(|(k, _)| text(k)).collect())),
            None => Value::Null,
        },
        "the top-level keys of a JSON object",
        "JSON_KEYS('{\"a\": 1, \"b\": 2}') = ['a', 'b']",
    ),
    scalar(
        "JSON_RECORDS",
        C,
        "JSON_RECORDS(json)",
        (1, 1),
        |t| {
            string(t, 0).map(|_| SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::String)))
        },
        json_records,
        "a JSON object's top-level entries, values as JSON text",
        "JSON_RECORDS('{\"a\": 1}')",
    ),
    scalar(
        "JSON_ITEMS",
        C,
        "JSON_ITEMS(json)",
        (1, 1),
        |t| string(t, 0).map(|_| SqlType::Array(Box::new(SqlType::String))),
        |a| match super::json_path::array_items(a.str(0)) {
            Some(items) => Value::Array(Arc::new(items.into_iter().map(text).collect())),
            None => Value::Null,
        },
        "a JSON array's elements, each as JSON text",
        "JSON_ITEMS('[1, 2]') = ['1', '2']",
    ),
];

fn to_string(args: &[SqlType]) -> Result<SqlType, ArgError> {
    strings(args)?;
    Ok(SqlType::String)
}

fn contains_type(args: &[SqlType]) -> Result<SqlType, ArgError> {
    string(args, 0)?;
    Ok(SqlType::Boolean)
}

fn parse(s: &str) -> Option<Json> {
    serde_json::from_str(s).ok()
}

/// A JSON object's entries in document order (None when the text is not an object).
fn entries(s: &str) -> Option<Vec<(String, Json)>> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, Json)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, Json>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(s);
    let out = (&mut de).deserialize_map(Entries).ok()?;
    de.end().ok()?;
    Some(out)
}

fn json_records(a: &Args) -> Value {
    match entries(a.str(0)) {
        Some(e) => Value::Map(Arc::new(
            e.into_iter()
                .map(|(k, v)| {
                    // A string value is its text, anything else its JSON.
                    let v = match v {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    (text(k), text(v))
                })
                .collect(),
        )),
        None => Value::Null,
    }
}

/// Writes a value as compact JSON text, its type giving struct field names.
pub(crate) fn write_json(v: &Value, ty: &SqlType, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Bigint(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Double(d) if d.is_finite() => out.push_str(&format_double(*d)),
        Value::Double(d) => write_str(&d.to_string(), out),
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::String(s) => write_str(s, out),
        Value::Bytes(b) => write_str(&base64(b), out),
        Value::Timestamp(ms) => write_str(&format_timestamp(*ms), out),
        Value::Date(d) => write_str(&format_date(*d), out),
        Value::Time(_) => write_str(&v.to_string(), out),
        Value::Array(items) => {
            let inner = match ty {
                SqlType::Array(t) => &**t,
                _ => &SqlType::Null,
            };
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, inner, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let inner = match ty {
                SqlType::Map(_, t) => &**t,
                _ => &SqlType::Null,
            };
            out.push('{');
            for (i, (k, x)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(&k.to_string(), out);
                out.push(':');
                write_json(x, inner, out);
            }
            out.push('}');
        }
        Value::Struct(fields) => {
            let names: &[(String, SqlType)] = match ty {
                SqlType::Struct(f) => f,
                _ => &[],
            };
            out.push('{');
            for (i, x) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let (name, t) = names
                    .get(i)
                    .map_or((String::new(), &SqlType::Null), |(n, t)| (n.clone(), t));
                write_str(&name, out);
                out.push(':');
                write_json(x, t, out);
            }
            out.push('}');
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push_str(&Json::String(s.to_string()).to_string());
}

fn to_json_string(a: &Args) -> Value {
    let mut out = String::new();
    write_json(a.get(0), a.type_of(0), &mut out);
    text(out)
}

/// The text at a JSONPath (see `json_path`).
fn extract_json_field(a: &Args) -> Value {
    super::json_path::extract(a.str(0), a.str(1)).map_or(Value::Null, text)
}

fn json_array_contains(a: &Args) -> Value {
    let Some(Json::Array(items)) = (match a.get(0) {
        Value::String(s) => parse(s),
        _ => None,
    }) else {
        return Value::Boolean(false);
    };
    let wanted = a.get(1);
    let found = items.iter().any(|j| match (j, wanted) {
        (Json::Null, Value::Null) => true,
        (Json::Bool(x), Value::Boolean(y)) => x == y,
        (Json::String(x), Value::String(y)) => **x == **y,
        (Json::Number(n), Value::Int(_) | Value::Bigint(_)) => n.as_i64() == wanted.as_i64(),
        (Json::Number(n), Value::Double(_) | Value::Decimal(_)) => {
            n.as_f64().is_some() && n.as_f64() == wanted.as_f64()
        }
        _ => false,
    });
    Value::Boolean(found)
}

fn json_concat(a: &Args) -> Value {
    let mut parsed = Vec::with_capacity(a.len());
    for v in a.values {
        let Value::String(s) = v else {
            return Value::Null;
        };
        match parse(s) {
            Some(j) => parsed.push((s.clone(), j)),
            None => return Value::Null,
        }
    }
    if parsed.iter().all(|(_, j)| j.is_object()) {
        // Merge in document order: a repeated key takes the later value in its first place.
        let mut out: Vec<(String, Json)> = Vec::new();
        for (s, _) in &parsed {
            for (k, v) in entries(s).unwrap_or_default() {
                match out.iter_mut().find(|(ek, _)| *ek == k) {
                    Some(e) => e.1 = v,
                    None => out.push((k, v)),
                }
            }
        }
        let mut text_out = String::from("{");
        for (i, (k, v)) in out.iter().enumerate() {
            if i > 0 {
                text_out.push(',');
            }
            write_str(k, &mut text_out);
            text_out.push(':');
            text_out.push_str(&v.to_string());
        }
        text_out.push('}');
        return text(text_out);
    }
    let mut items = Vec::new();
    for (_, j) in parsed {
        match j {
            Json::Array(xs) => items.extend(xs),
            other => items.push(other),
        }
    }
    text(Json::Array(items).to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::data::{SqlType, Value};
    use crate::functions::testing::{call, s};
    use crate::functions::{lookup, Args};

    #[test]
    fn to_json_string_writes_compact_json_with_field_names() {
        let ty = SqlType::Struct(vec![
            ("ID".into(), SqlType::Int),
            ("NAME".into(), SqlType::String),
        ]);
        let v = Value::Struct(Arc::new(vec![Value::Int(1), s("A")]));
        let f = lookup("TO_JSON_STRING").unwrap();
        let types = [ty];
        let out = f.call(&Args {
            values: &[v],
            types: &types,
            ty: &SqlType::String,
        });
        assert_eq!(out, s("{\"ID\":1,\"NAME\":\"A\"}"));
        assert_eq!(call("TO_JSON_STRING", &[Value::Null]), s("null"));
        assert_eq!(call("TO_JSON_STRING", &[s("abc")]), s("\"abc\""));
        assert_eq!(call("TO_JSON_STRING", &[Value::Double(15.3)]), s("15.3"));
        assert_eq!(
            call("TO_JSON_STRING", &[Value::Timestamp(0)]),
            s("\"1970-01-01T00:00:00.000\"")
        );
    }

    #[test]
    fn reading_json_text() {
        let doc =
            s("{\"log\": {\"cloud\": \"gcp836Csd\", \"instance\": 4, \"tags\": [\"a\", \"b\"]}}");
        assert_eq!(
            call("EXTRACTJSONFIELD", &[doc.clone(), s("$.log.cloud")]),
            s("gcp836Csd")
        );
        assert_eq!(
            call("EXTRACTJSONFIELD", &[doc.clone(), s("$.log.instance")]),
            s("4")
        );
        assert_eq!(
            call("EXTRACTJSONFIELD", &[doc.clone(), s("$.log.tags[1]")]),
            s("b")
        );
        assert_eq!(
            call("EXTRACTJSONFIELD", &[doc, s("$.log.missing")]),
            Value::Null
        );
        assert_eq!(call("IS_JSON_STRING", &[s("abc")]), Value::Boolean(false));
        assert_eq!(call("IS_JSON_STRING", &[s("null")]), Value::Boolean(true));
        assert_eq!(
            call("IS_JSON_STRING", &[Value::Null]),
            Value::Boolean(false)
        );
        assert_eq!(
            call("JSON_ARRAY_LENGTH", &[s("[1, [1, [2]], 3]")]),
            Value::Int(3)
        );
        assert_eq!(call("JSON_ARRAY_LENGTH", &[s("{}")]), Value::Null);
        let keys = call("JSON_KEYS", &[s("{\"b\": 1, \"a\": {\"c\": 2}}")]);
        assert_eq!(keys, Value::Array(Arc::new(vec![s("b"), s("a")])));
        assert_eq!(
            call("JSON_ARRAY_CONTAINS", &[s("[1, 2, 3]"), Value::Int(3)]),
            Value::Boolean(true)
        );
        assert_eq!(
            call("JSON_ARRAY_CONTAINS", &[s("{}"), Value::Int(3)]),
            Value::Boolean(false)
        );
    }

    #[test]
    fn json_concat_follows_postgres() {
        // ksqlDB's documented examples
        assert_eq!(
            call("JSON_CONCAT", &[s("{\"a\": 1}"), s("{\"b\": 2}")]),
            s("{\"a\":1,\"b\":2}")
        );
        assert_eq!(
            call(
                "JSON_CONCAT",
                &[s("{\"a\": {\"5\": 6}}"), s("{\"a\": {\"3\": 4}}")]
            ),
            s("{\"a\":{\"3\":4}}")
        );
        assert_eq!(
            call("JSON_CONCAT", &[s("[1, 2]"), s("{\"a\": 1}")]),
            s("[1,2,{\"a\":1}]")
        );
        assert_eq!(
            call("JSON_CONCAT", &[s("null"), s("null")]),
            s("[null,null]")
        );
        assert_eq!(call("JSON_CONCAT", &[s("abc"), s("[1]")]), Value::Null);
    }
}
