//! URL functions: parts of a URI (RFC 3986) and the form encoding of query parameters.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::rules::strings;
use super::string::text;
use super::{scalar, ArgError, Args, Category, FunctionDef};
use crate::data::{SqlType, Value};

const C: Category = Category::Url;

pub const FUNCTIONS: &[FunctionDef] = &[
    scalar(
        "URL_ENCODE_PARAM",
        C,
        "URL_ENCODE_PARAM(s)",
        (1, 1),
        to_string,
        |a| text(form_encode(a.str(0))),
        "text encoded for a query parameter (a space is +)",
        "URL_ENCODE_PARAM('a b&c') = 'a+b%26c'",
    ),
    scalar(
        "URL_DECODE_PARAM",
        C,
        "URL_DECODE_PARAM(s)",
        (1, 1),
        to_string,
        |a| form_decode(a.str(0)).map_or(Value::Null, text),
        "a query parameter decoded",
        "URL_DECODE_PARAM('url%20encoded') = 'url encoded'",
    ),
    scalar(
        "URL_EXTRACT_PROTOCOL",
        C,
        "URL_EXTRACT_PROTOCOL(url)",
        (1, 1),
        to_string,
        |a| part(a, |u| u.scheme.map(String::from)),
        "the scheme, NULL if there is none",
        "URL_EXTRACT_PROTOCOL('https://a.io/x') = 'https'",
    ),
    scalar(
        "URL_EXTRACT_HOST",
        C,
        "URL_EXTRACT_HOST(url)",
        (1, 1),
        to_string,
        |a| part(a, |u| u.host.map(String::from)),
        "the host name",
        "URL_EXTRACT_HOST('http://test.com:8080/path') = 'test.com'",
    ),
    scalar(
        "URL_EXTRACT_PORT",
        C,
        "URL_EXTRACT_PORT(url)",
        (1, 1),
        |t| strings(t).map(|_| SqlType::Int),
        |a| {
            Uri::parse(a.str(0))
                .and_then(|u| u.port)
                .map_or(Value::Null, Value::Int)
        },
        "the explicit port, NULL if there is none",
        "URL_EXTRACT_PORT('http://localhost:8080/path') = 8080",
    ),
    scalar(
        "URL_EXTRACT_PATH",
        C,
        "URL_EXTRACT_PATH(url)",
        (1, 1),
        to_string,
        |a| part(a, |u| decode(u.path)),
        "the path, decoded ('' when empty)",
        "URL_EXTRACT_PATH('http://test.com/path/to#a') = '/path/to'",
    ),
    scalar(
        "URL_EXTRACT_QUERY",
        C,
        "URL_EXTRACT_QUERY(url)",
        (1, 1),
        to_string,
        |a| part(a, |u| u.query.and_then(decode)),
        "the query string, decoded",
        "URL_EXTRACT_QUERY('http://test.com?a=foo%20bar&b=baz') = 'a=foo bar&b=baz'",
    ),
    scalar(
        "URL_EXTRACT_FRAGMENT",
        C,
        "URL_EXTRACT_FRAGMENT(url)",
        (1, 1),
        to_string,
        |a| part(a, |u| u.fragment.and_then(decode)),
        "the fragment, decoded",
        "URL_EXTRACT_FRAGMENT('http://test.com#frag') = 'frag'",
    ),
    scalar(
        "URL_EXTRACT_PARAMETER",
        C,
        "URL_EXTRACT_PARAMETER(url, name)",
        (2, 2),
        to_string,
        extract_parameter,
        "the decoded value of a query parameter, NULL if absent or without a value",
        "URL_EXTRACT_PARAMETER('http://test.com?a=foo&b=bar', 'b') = 'bar'",
    ),
];

fn to_string(args: &[SqlType]) -> Result<SqlType, ArgError> {
    strings(args)?;
    Ok(SqlType::String)
}

/// The parts of a URI, borrowed from its text (still percent-encoded).
struct Uri<'a> {
    scheme: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<i32>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> Uri<'a> {
    /// None when the text is not a URI (a bad scheme, port or character).
    fn parse(s: &'a str) -> Option<Uri<'a>> {
        if s.is_empty() || s.contains([' ', '"', '<', '>', '\\', '^', '`', '{', '|', '}']) {
            return None;
        }
        let (rest, fragment) = match s.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (s, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (scheme, rest) = match rest.split_once(':') {
            Some((sch, r))
                if !sch.is_empty()
                    && sch.starts_with(|c: char| c.is_ascii_alphabetic())
                    && sch
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                (Some(sch), r)
            }
            _ => (None, rest),
        };
        let (host, port, path) = match rest.strip_prefix("//") {
            Some(r) => {
                let end = r.find('/').unwrap_or(r.len());
                let authority = &r[..end];
                let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                let (host, port) = match host_port.rsplit_once(':') {
                    Some((h, p)) if !h.ends_with(']') || p.is_empty() => {
                        let port = if p.is_empty() {
                            None
                        } else {
                            Some(p.parse::<u16>().ok()? as i32)
                        };
                        (h, port)
                    }
                    _ => (host_port, None),
                };
                (Some(host).filter(|h| !h.is_empty()), port, &r[end..])
            }
            None => (None, None, rest),
        };
        Some(Uri {
            scheme,
            host,
            port,
            path,
            query,
            fragment,
        })
    }
}

fn part(a: &Args, f: impl Fn(Uri) -> Option<String>) -> Value {
    Uri::parse(a.str(0)).and_then(f).map_or(Value::Null, text)
}

fn decode(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// What form encoding leaves as it is: letters, digits and `.-*_`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'*')
    .remove(b'_');

fn form_encode(s: &str) -> String {
    s.split(' ')
        .map(|part| utf8_percent_encode(part, FORM).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

fn form_decode(s: &str) -> Option<String> {
    decode(&s.replace('+', " "))
}

fn extract_parameter(a: &Args) -> Value {
    let Some(query) = Uri::parse(a.str(0)).and_then(|u| u.query) else {
        return Value::Null;
    };
    let wanted = a.str(1);
    for pair in query.split('&') {
        let (k, v) = match pair.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (pair, None),
        };
        if form_decode(k).as_deref() == Some(wanted) {
            return v.and_then(form_decode).map_or(Value::Null, text);
        }
    }
    Value::Null
}

#[cfg(test)]
mod tests {
    use crate::data::Value;
    use crate::functions::testing::{call, s};

    #[test]
    fn url_parts() {
        let u = || s("http://test@confluent.io:8080/nested/path?q=2&a%20b=c%20d#frag%20x");
        assert_eq!(call("URL_EXTRACT_PROTOCOL", &[u()]), s("http"));
        assert_eq!(call("URL_EXTRACT_HOST", &[u()]), s("confluent.io"));
        assert_eq!(call("URL_EXTRACT_PORT", &[u()]), Value::Int(8080));
        assert_eq!(call("URL_EXTRACT_PATH", &[u()]), s("/nested/path"));
        assert_eq!(call("URL_EXTRACT_QUERY", &[u()]), s("q=2&a b=c d"));
        assert_eq!(call("URL_EXTRACT_FRAGMENT", &[u()]), s("frag x"));
        assert_eq!(call("URL_EXTRACT_PARAMETER", &[u(), s("a b")]), s("c d"));
        assert_eq!(call("URL_EXTRACT_PARAMETER", &[u(), s("zz")]), Value::Null);
        assert_eq!(
            call("URL_EXTRACT_PROTOCOL", &[s("www.confluent.io")]),
            Value::Null
        );
        assert_eq!(
            call("URL_EXTRACT_PORT", &[s("http://test@confluent.io")]),
            Value::Null
        );
        assert_eq!(
            call(
                "URL_EXTRACT_PATH",
                &[s("http://www.test.com?query#fragment")]
            ),
            s("")
        );
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            call("URL_ENCODE_PARAM", &[s("?foo $bar")]),
            s("%3Ffoo+%24bar")
        );
        assert_eq!(
            call("URL_DECODE_PARAM", &[s("%3Ffoo+%24bar")]),
            s("?foo $bar")
        );
        assert_eq!(
            call("URL_DECODE_PARAM", &[s("url%20encoded")]),
            s("url encoded")
        );
    }
}
