//! EXTRACTJSONFIELD's lookup: a JSONPath of `.name`, `['name']` and `[index]` steps from
//! `$`, followed over the JSON text itself, so a number comes out as it was written
//! (`1.23450`, not `1.2345`), as ksqlDB gives it. Like ksqlDB's reader, the document is the
//! first JSON value of the text: anything after it is ignored.

use serde_json::Value as Json;

enum Step {
    Key(String),
    Index(usize),
}

/// The text at `path` in `doc`: a string's contents, another scalar as written, an object
/// or array as compact JSON; None when the path is invalid or leads nowhere, or to null.
pub fn extract(doc: &str, path: &str) -> Option<String> {
    let steps = parse_path(path)?;
    let mut value = first_value(doc)?;
    // The walk below trusts the text's shape: a document that is no valid JSON gives None.
    serde_json::from_str::<serde::de::IgnoredAny>(value).ok()?;
    for step in steps {
        value = match step {
            Step::Key(k) => member(value, &k)?,
            Step::Index(i) => element(value, i)?,
        };
    }
    match value.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(value).ok(),
        b'{' | b'[' => serde_json::from_str::<Json>(value)
            .ok()
            .map(|j| j.to_string()),
        _ if value == "null" => None,
        _ => Some(value.to_string()),
    }
}

/// The elements of the JSON array `doc` as compact JSON text, each as written (keys in
/// document order, numbers as they are); None when `doc` is no JSON array.
pub fn array_items(doc: &str) -> Option<Vec<String>> {
    serde_json::from_str::<serde::de::IgnoredAny>(doc).ok()?;
    Some(
        elements(first_value(doc)?)?
            .into_iter()
            .map(compact)
            .collect(),
    )
}

/// JSON text without the white space between its tokens.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            steps.push(Step::Key(r[..end].to_string()));
            rest = &r[end..];
        } else {
            let r = rest.strip_prefix('[')?;
            let end = r.find(']')?;
            let inner = r[..end].trim();
            steps.push(
                match inner
                    .strip_prefix(['\'', '"'])
                    .and_then(|x| x.strip_suffix(['\'', '"']))
                {
                    Some(k) => Step::Key(k.to_string()),
                    None => Step::Index(inner.parse().ok()?),
                },
            );
            rest = &r[end + 1..];
        }
    }
    Some(steps)
}

/// The text of the first JSON value in `s` (None when it does not start with one).
fn first_value(s: &str) -> Option<&str> {
    let start = skip_ws(s, 0);
    let end = skip_value(s.as_bytes(), start)?;
    Some(&s[start..end])
}

/// The value of `key` in the object `obj` (the last one, if the key repeats).
fn member<'a>(obj: &'a str, key: &str) -> Option<&'a str> {
    let b = obj.as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut found = None;
    let mut i = skip_ws(obj, 1);
    while b.get(i) == Some(&b'"') {
        let key_end = skip_value(b, i)?;
        let name: String = serde_json::from_str(&obj[i..key_end]).ok()?;
        i = skip_ws(obj, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(obj, i + 1);
        let end = skip_value(b, start)?;
        if name == key {
            found = Some(&obj[start..end]);
        }
        i = skip_ws(obj, end);
        if b.get(i) == Some(&b',') {
            i = skip_ws(obj, i + 1);
        }
    }
    found
}

/// The element at `index` (from 0) of the array `arr`.
fn element(arr: &str, index: usize) -> Option<&str> {
    elements(arr)?.into_iter().nth(index)
}

/// The elements of the array `arr` (None when it is no array).
fn elements(arr: &str) -> Option<Vec<&str>> {
    let b = arr.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = skip_ws(arr, 1);
    while i < b.len() && b[i] != b']' {
        let end = skip_value(b, i)?;
        out.push(&arr[i..end]);
        i = skip_ws(arr, end);
        if b.get(i) == Some(&b',') {
            i = skip_ws(arr, i + 1);
        }
    }
    Some(out)
}

fn skip_ws(s: &str, mut i: usize) -> usize {
    let b = s.as_bytes();
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Where the JSON value starting at `i` ends (None for text that is no JSON value).
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => {
            let mut j = i + 1;
            while j < b.len() {
                match b[j] {
                    b'\\' => j += 2,
                    b'"' => return Some(j + 1),
                    _ => j += 1,
                }
            }
            None
        }
        open @ (b'{' | b'[') => {
            let close = if open == b'{' { b'}' } else { b']' };
            let mut j = i + 1;
            loop {
                while j < b.len() && (b[j].is_ascii_whitespace() || matches!(b[j], b',' | b':')) {
                    j += 1;
                }
                match b.get(j)? {
                    c if *c == close => return Some(j + 1),
                    b'}' | b']' => return None,
                    _ => j = skip_value(b, j)?,
                }
            }
        }
        _ => {
            let mut j = i;
            while j < b.len()
                && !matches!(b[j], b',' | b'}' | b']' | b':')
                && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_out_as_written_and_strings_unquoted() {
        let doc = r#"{"array": [1.23450, "two", {"a" : [true, null]}], "name": "c\"d"}"#;
        assert_eq!(extract(doc, "$.array[0]").as_deref(), Some("1.23450"));
        assert_eq!(extract(doc, "$.array[1]").as_deref(), Some("two"));
        assert_eq!(
            extract(doc, "$.array[2]").as_deref(),
            Some(r#"{"a":[true,null]}"#)
        );
        assert_eq!(extract(doc, "$.array[2].a[0]").as_deref(), Some("true"));
        assert_eq!(extract(doc, "$.array[2].a[1]"), None);
        assert_eq!(extract(doc, "$['name']").as_deref(), Some("c\"d"));
        assert_eq!(extract(doc, "$.array[3]"), None);
        assert_eq!(extract(doc, "$.missing"), None);
        assert_eq!(extract(doc, "$.array[-1]"), None);
    }

    #[test]
    fn array_items_keep_their_keys_in_document_order() {
        assert_eq!(
            array_items(r#"[{"type": "A", "timestamp": "2022 01"}, 1.50, "x y"]"#),
            Some(vec![
                r#"{"type":"A","timestamp":"2022 01"}"#.to_string(),
                "1.50".to_string(),
                r#""x y""#.to_string()
            ])
        );
        assert_eq!(array_items("[]"), Some(vec![]));
        assert_eq!(array_items(r#"{"a": 1}"#), None);
        assert_eq!(array_items("[1,"), None);
    }

    #[test]
    fn text_after_the_document_is_ignored() {
        let doc = r#"{"name": "cdd", "@type": "VAL"}}"#;
        assert_eq!(extract(doc, "$.name").as_deref(), Some("cdd"));
        assert_eq!(extract(doc, "$.@type").as_deref(), Some("VAL"));
        assert_eq!(extract("not json", "$.a"), None);
        assert_eq!(extract(r#"{"a": }"#, "$.a"), None);
    }
}
