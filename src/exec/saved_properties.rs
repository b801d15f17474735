//! The session properties a statement of the command topic was run with. A persistent
//! query compiled after `SET 'ksql.persistence.wrap.single.values'='false'` (or another
//! session property) must compile the same way when a later session restores it from the
//! data directory, as ksqlDB keeps each command's property overrides with it. They travel
//! as headers of the statement's record: `kql.property.NAME` = value, only for the
//! session properties that differ from their defaults (client properties, which may hold
//! credentials, are never written).

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::exec::log::Header;

const PREFIX: &str = "kql.property.";

/// The headers recording the session properties that are not at their defaults.
pub fn headers(properties: &BTreeMap<String, String>) -> Vec<Header> {
    crate::plan::session_properties::SESSION_PROPERTIES
        .iter()
        .filter_map(|&(name, default, ..)| {
            let value = properties.get(name)?;
            (value != default).then(|| Header {
                name: format!("{PREFIX}{name}"),
                value: Some(Bytes::from(value.clone().into_bytes())),
            })
        })
        .collect()
}

/// The properties a recorded statement's headers carry (other headers are ignored).
pub fn from_headers(headers: &[Header]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|h| {
            let name = h.name.strip_prefix(PREFIX)?;
            let value = std::str::from_utf8(h.value.as_deref()?).ok()?;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_session_properties_are_kept_and_read_back() {
        let mut props: BTreeMap<String, String> =
            crate::plan::session_properties::SESSION_PROPERTIES
                .iter()
                .map(|p| (p.0.to_string(), p.1.to_string()))
                .collect();
        assert!(headers(&props).is_empty());
        props.insert("ksql.persistence.wrap.single.values".into(), "false".into());
        props.insert("sasl.password".into(), "secret".into());
        let h = headers(&props);
        assert_eq!(
            from_headers(&h),
            vec![(
                "ksql.persistence.wrap.single.values".to_string(),
                "false".to_string()
            )]
        );
    }
}
