//! Event time from text: `timestamp_format` patterns in Java's DateTimeFormatter letters
//! (yyyy MM dd HH mm ss SSS, quoted literals, and X/Z zone letters for a trailing offset).
//! Times without a zone are UTC.

use crate::data::value::days_from_civil;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Field(char, usize),
    Literal(String),
    Zone,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimestampFormat {
    pattern: String,
    parts: Vec<Part>,
}

impl TimestampFormat {
    pub fn new(pattern: &str) -> TimestampFormat {
        let mut parts = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                let mut lit = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    lit.push(chars[i]);
                    i += 1;
                }
                i += 1;
                parts.push(Part::Literal(lit));
            } else if "yMdHhmsS".contains(c) {
                let mut n = 0;
                while i < chars.len() && chars[i] == c {
                    n += 1;
                    i += 1;
                }
                parts.push(Part::Field(c, n));
            } else if "XZx".contains(c) {
                while i < chars.len() && chars[i] == c {
                    i += 1;
                }
                parts.push(Part::Zone);
            } else {
                parts.push(Part::Literal(c.to_string()));
                i += 1;
            }
        }
        TimestampFormat {
            pattern: pattern.to_string(),
            parts,
        }
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Epoch milliseconds, or None when the text does not match.
    pub fn parse(&self, text: &str) -> Option<i64> {
        let b = text.as_bytes();
        let mut i = 0;
        let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut ms) =
            (1970i64, 1u32, 1u32, 0i64, 0i64, 0i64, 0i64);
        let mut offset_ms = 0i64;
        for p in &self.parts {
            match p {
                Part::Literal(l) => {
                    if !text.get(i..)?.starts_with(l.as_str()) {
                        return None;
                    }
                    i += l.len();
                }
                Part::Field(c, n) => {
                    let width = if *c == 'S' { *n } else { (*n).max(2) };
                    let width = if *c == 'y' && *n <= 2 {
                        2
                    } else if *c == 'y' {
                        4.max(*n)
                    } else {
                        width
                    };
                    let end = (i + width).min(b.len());
                    let digits = text.get(i..end)?;
                    if digits.is_empty() || !digits.bytes().all(|x| x.is_ascii_digit()) {
                        return None;
                    }
                    let v: i64 = digits.parse().ok()?;
                    i = end;
                    match c {
                        'y' => y = if *n <= 2 { 2000 + v } else { v },
                        'M' => mo = v as u32,
                        'd' => d = v as u32,
                        'H' | 'h' => h = v,
                        'm' => mi = v,
                        's' => s = v,
                        'S' => {
                            ms = v * 10i64.pow(3u32.saturating_sub(*n as u32))
                                / 10i64.pow((*n as u32).saturating_sub(3))
                        }
                        _ => {}
                    }
                }
                Part::Zone => {
                    let rest = text.get(i..)?;
                    if let Some(r) = rest.strip_prefix('Z') {
                        i = text.len() - r.len();
                    } else if rest.len() >= 3 && (rest.starts_with('+') || rest.starts_with('-')) {
                        let sign = if rest.starts_with('-') { -1 } else { 1 };
                        let digits: String = rest[1..]
                            .chars()
                            .filter(|c| c.is_ascii_digit())
                            .take(4)
                            .collect();
                        let hh: i64 = digits.get(0..2)?.parse().ok()?;
                        let mm: i64 = digits.get(2..4).unwrap_or("0").parse().ok()?;
                        offset_ms = sign * (hh * 3_600_000 + mm * 60_000);
                        i = text.len();
                    } else {
                        return None;
                    }
                }
            }
        }
        if i != text.len() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(days * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + ms - offset_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_patterns() {
        let f = TimestampFormat::new("yyyy-MM-dd HH:mm:ss");
        assert_eq!(f.parse("2023-11-14 22:13:20"), Some(1_700_000_000_000));
        assert_eq!(f.parse("2023-11-14 22:13"), None);
        let f = TimestampFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSSX");
        // text that is not ASCII is a mismatch, not a panic
        assert_eq!(f.parse("2023-11-14T22:13:2é.500Z"), None);
        assert_eq!(f.parse("2023-11-14T22:13:20.500+0é"), None);
        assert_eq!(f.parse("2023-11-14T22:13:20.500Z"), Some(1_700_000_000_500));
        assert_eq!(
            f.parse("2023-11-14T23:13:20.500+01:00"),
            Some(1_700_000_000_500)
        );
    }
}
