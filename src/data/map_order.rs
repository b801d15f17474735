//! The order of a map's entries. ksqlDB reads a JSON object into a MAP column as a Java
//! `HashMap` (created for the object's size and filled in the object's order), and
//! everything that walks the map afterwards walks it in that map's order: the fold of
//! REDUCE (whose result depends on the order when its lambda does not commute), MAP_KEYS,
//! and the JSON it writes. kql keeps a decoded map's entries in that same order, so the
//! same input gives the same result and the same text as in ksqlDB: by bucket (the key's
//! Java hash code, spread as `HashMap` spreads it, in the table such a map ends with),
//! and within a bucket in the object's order.

use super::Value;

/// `entries`, in the object's order, put in the order a `HashMap` created for their number
/// and filled in that order iterates them. A map with a key whose Java hash code is not
/// computed here (a type ksqlDB's JSON maps do not have as keys) keeps the object's order.
pub fn java_hash_map_order(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let buckets = table_size(entries.len());
    let Some(hashes) = entries
        .iter()
        .map(|(k, _)| java_hash_code(k))
        .collect::<Option<Vec<u32>>>()
    else {
        return entries;
    };
    let mut by_bucket: Vec<(usize, (Value, Value))> = hashes
        .into_iter()
        .map(|h| (h ^ (h >> 16)) as usize & (buckets - 1))
        .zip(entries)
        .collect();
    // Stable: entries of one bucket keep the object's order, as a bucket's list does
    // (a table's growth splits a bucket's list without reordering it).
    by_bucket.sort_by_key(|(bucket, _)| *bucket);
    by_bucket.into_iter().map(|(_, e)| e).collect()
}

/// The buckets of `new HashMap<>(n)` after `n` insertions: the smallest power of two of at
/// least `n` to begin with, doubled whenever the size passes three quarters of it (Java's
/// threshold arithmetic, which truncates, and doubles the threshold from 16 buckets on).
fn table_size(n: usize) -> usize {
    let mut buckets = n.max(1).next_power_of_two();
    let mut threshold = buckets * 3 / 4;
    for size in 1..=n {
        if size > threshold {
            let old = buckets;
            buckets *= 2;
            threshold = if old >= 16 {
                threshold * 2
            } else {
                buckets * 3 / 4
            };
        }
    }
    buckets
}

/// The `hashCode()` of the Java object ksqlDB holds for a map key, as its 32 bits; None for
/// a type not computed here.
fn java_hash_code(key: &Value) -> Option<u32> {
    Some(match key {
        // String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over the UTF-16 code units.
        Value::String(s) => s
            .encode_utf16()
            .fold(0u32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as u32)),
        Value::Int(i) => *i as u32,
        Value::Bigint(i) => (*i as u64 ^ (*i as u64 >> 32)) as u32,
        Value::Boolean(true) => 1231,
        Value::Boolean(false) => 1237,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_codes_are_javas() {
        // What any JVM gives for these strings' hashCode().
        let h = |s: &str| java_hash_code(&Value::string(s)).unwrap() as i32;
        assert_eq!(h(""), 0);
        assert_eq!(h("hello"), 99162322);
        assert_eq!(h("polygenelubricants"), i32::MIN);
        // a character outside the BMP is two UTF-16 units
        assert_eq!(h("\u{1F600}"), 0xD83D * 31 + 0xDE00);
        assert_eq!(java_hash_code(&Value::Bigint(1 << 32)), Some(1));
    }

    #[test]
    fn table_sizes_follow_a_hash_map_created_for_its_size() {
        // 1 entry grows a table of 1 bucket to 2; 3 fit in 4 buckets, a 4th passes three
        // quarters of them; 12 fit in 16, a 13th does not.
        for (n, buckets) in [
            (0, 1),
            (1, 2),
            (2, 4),
            (3, 4),
            (4, 8),
            (6, 8),
            (7, 16),
            (12, 16),
            (13, 32),
            (24, 32),
            (25, 64),
        ] {
            assert_eq!(table_size(n), buckets, "{n} entries");
        }
    }

    #[test]
    fn entries_go_by_bucket_then_in_the_objects_order() {
        let keys = |e: &[(Value, Value)]| e.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>();
        let map = |ks: &[&str]| -> Vec<(Value, Value)> {
            ks.iter().map(|k| (Value::string(k), Value::Null)).collect()
        };
        // 4 buckets: "yes, thanks" and "sure, yeah" share bucket 0, "nope" is in 1.
        let ordered = java_hash_map_order(map(&["yes, thanks", "nope", "sure, yeah"]));
        assert_eq!(keys(&ordered), ["yes, thanks", "sure, yeah", "nope"]);
        let ordered = java_hash_map_order(map(&["sure, yeah", "nope", "yes, thanks"]));
        assert_eq!(keys(&ordered), ["sure, yeah", "yes, thanks", "nope"]);
        // a key whose hash is not computed: the object's order
        let mixed = vec![
            (Value::string("b"), Value::Null),
            (Value::Double(1.0), Value::Null),
        ];
        assert_eq!(java_hash_map_order(mixed.clone()), mixed);
    }
}
