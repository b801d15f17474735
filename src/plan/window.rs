//! Windows: TUMBLING, HOPPING and SESSION, with their grace period and retention, checked.
//!
//! Grace: a record is accepted while `window end + grace > stream time` (Kafka Streams'
//! rule); a window closes (EMIT FINAL emits it) once `stream time >= window end + grace`.
//! A session closes once stream time is past `end + gap + grace` (no record can extend it).
//! Without GRACE PERIOD ksqlDB's grace is 24 hours less the window's size or gap
//! (`DEFAULT_GRACE_MS`), except under EMIT FINAL, where it is 0: a window closes at its end.
//!
//! Retention: a time window is kept for its size plus its grace period (or RETENTION)
//! after the newest window's start; an EMIT FINAL window that stream time jumps past by
//! more than that is gone before it is emitted, as in ksqlDB, whose window store has
//! expired it (`WindowDef::oldest_kept_start`).

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{self, WindowKind};

/// ksqlDB's grace period when a window does not give one, less the window's size or gap.
pub const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;
/// Limit on the windows one record may fall into (HOPPING size / advance).
pub const HOPS_PER_RECORD_MAX: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowType {
    Tumbling { size_ms: i64 },
    Hopping { size_ms: i64, advance_ms: i64 },
    Session { gap_ms: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowDef {
    pub kind: WindowType,
    pub grace_ms: i64,
    /// Whether the grace period was written (else the default).
    pub grace_given: bool,
    pub retention_ms: Option<i64>,
}

impl WindowType {
    /// The size of a time window (None for sessions, whose size varies).
    pub fn size_ms(&self) -> Option<i64> {
        match self {
            WindowType::Tumbling { size_ms } | WindowType::Hopping { size_ms, .. } => {
                Some(*size_ms)
            }
            WindowType::Session { .. } => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            WindowType::Tumbling { .. } => "TUMBLING",
            WindowType::Hopping { .. } => "HOPPING",
            WindowType::Session { .. } => "SESSION",
        }
    }

    /// As written in a WINDOW clause: `TUMBLING (SIZE 1 MINUTE)`.
    pub fn describe(&self) -> String {
        match *self {
            WindowType::Tumbling { size_ms } => format!("TUMBLING (SIZE {})", duration(size_ms)),
            WindowType::Hopping {
                size_ms,
                advance_ms,
            } => format!(
                "HOPPING (SIZE {}, ADVANCE BY {})",
                duration(size_ms),
                duration(advance_ms)
            ),
            WindowType::Session { gap_ms } => format!("SESSION ({})", duration(gap_ms)),
        }
    }
}

impl WindowDef {
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            WindowType::Tumbling { size_ms } => format!("tumbling window of {}", duration(size_ms)),
            WindowType::Hopping {
                size_ms,
                advance_ms,
            } => format!(
                "hopping window of {} advancing by {}",
                duration(size_ms),
                duration(advance_ms)
            ),
            WindowType::Session { gap_ms } => format!("session window, gap {}", duration(gap_ms)),
        };
        let grace = match self.kind {
            // ksqlDB's default: a day less the window, so that it closes a day after its start
            _ if self.grace_given || self.grace_ms == 0 => duration(self.grace_ms),
            WindowType::Session { .. } => "1 DAY less the gap".to_string(),
            _ => "1 DAY less the size".to_string(),
        };
        format!(
            "{kind}, grace {grace}{}",
            if self.grace_given { "" } else { " (default)" }
        )
    }
}

/// A `WINDOW_SIZE='30 SECONDS'` text (a number, then a unit: MILLISECONDS, SECONDS,
/// MINUTES, HOURS or DAYS, singular or plural, any case) in milliseconds.
pub fn parse_duration_text(text: &str) -> Result<i64, String> {
    let invalid = |why: String| format!("Invalid duration: '{text}'. {why}");
    let mut words = text.split_whitespace();
    let (Some(n), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return Err(invalid(
            "It is a number and a time unit, e.g. '10 SECONDS'".into(),
        ));
    };
    let n: i64 = n
        .parse()
        .map_err(|_| invalid(format!("'{n}' is not a whole number")))?;
    let unit = unit.to_ascii_uppercase();
    let factor: i64 = match unit.strip_suffix('S').unwrap_or(&unit) {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return Err(invalid(format!("Unknown time unit: '{unit}'"))),
    };
    n.checked_mul(factor)
        .filter(|ms| *ms > 0)
        .ok_or_else(|| invalid("It must be positive and fit in 64-bit milliseconds".into()))
}

impl WindowType {
    /// The window a declared source's keys carry (`WINDOW_TYPE`, `WINDOW_SIZE`): only the
    /// kind and size are known, which is all a windowed key needs to be read (a session's
    /// gap and a hop's advance are not in the key).
    pub fn declared(kind: &str, size_ms: i64) -> Option<WindowType> {
        match kind {
            "TUMBLING" => Some(WindowType::Tumbling { size_ms }),
            "HOPPING" => Some(WindowType::Hopping {
                size_ms,
                advance_ms: size_ms,
            }),
            "SESSION" => Some(WindowType::Session { gap_ms: 0 }),
            _ => None,
        }
    }

    /// As a declared source's keys know it: `TUMBLING (SIZE 30 SECONDS)`, `SESSION`.
    pub fn describe_key(&self) -> String {
        match self.size_ms() {
            Some(size) => format!("{} (SIZE {})", self.name(), duration(size)),
            None => self.name().to_string(),
        }
    }

    /// Whether rows of the two windowed keys can be joined (ksqlDB: sessions with
    /// sessions, time windows with time windows).
    pub fn joins_with(&self, other: &WindowType) -> bool {
        matches!(self, WindowType::Session { .. }) == matches!(other, WindowType::Session { .. })
    }

    /// Whether the two keys are written alike (the same kind and size), so that rows
    /// with equal keys meet in the same partition without a repartition.
    pub fn same_key(&self, other: &WindowType) -> bool {
        self.name() == other.name() && self.size_ms() == other.size_ms()
    }
}

/// `1 MINUTE` style, for plans and messages.
pub fn duration(ms: i64) -> String {
    for (unit, n) in [
        ("DAY", 86_400_000),
        ("HOUR", 3_600_000),
        ("MINUTE", 60_000),
        ("SECOND", 1000),
    ] {
        if ms >= n && ms % n == 0 {
            let k = ms / n;
            return format!("{k} {unit}{}", if k == 1 { "" } else { "S" });
        }
    }
    format!("{ms} MILLISECONDS")
}

impl WindowDef {
    /// The earliest start of a time window still kept at `stream_time_ms`: the newest
    /// window's start (that of the window holding `stream_time_ms`) less the retention.
    /// None for sessions.
    pub fn oldest_kept_start(&self, stream_time_ms: i64) -> Option<i64> {
        let (step_ms, size_ms) = match self.kind {
            WindowType::Tumbling { size_ms } => (size_ms, size_ms),
            WindowType::Hopping {
                size_ms,
                advance_ms,
            } => (advance_ms, size_ms),
            WindowType::Session { .. } => return None,
        };
        let newest_start = stream_time_ms.saturating_sub(stream_time_ms.rem_euclid(step_ms));
        let retention_ms = self
            .retention_ms
            .unwrap_or_else(|| size_ms.saturating_add(self.grace_ms));
        Some(newest_start.saturating_sub(retention_ms))
    }
}

/// Checks a WINDOW clause; `emit_final`: the query says EMIT FINAL, whose default grace
/// period is 0.
pub fn plan(w: &ast::WindowSpec, emit_final: bool) -> Result<WindowDef, Diagnostic> {
    let positive = |d: &ast::Duration, what: &str| {
        if d.millis <= 0 {
            Err(Diagnostic::new(
                Code::InvalidWindow,
                format!("a window's {what} must be positive"),
            )
            .label(d.span, "zero")
            .help("give a duration such as 1 MINUTE"))
        } else {
            Ok(d.millis)
        }
    };
    let kind = match &w.kind {
        WindowKind::Tumbling { size } => WindowType::Tumbling {
            size_ms: positive(size, "size")?,
        },
        WindowKind::Hopping { size, advance } => {
            let size_ms = positive(size, "size")?;
            let advance_ms = positive(advance, "advance")?;
            if advance_ms > size_ms {
                return Err(Diagnostic::new(
                    Code::InvalidWindow,
                    "a hopping window cannot advance by more than its size",
                )
                .label(advance.span, format!("advance {}", duration(advance_ms)))
                .label(size.span, format!("size {}", duration(size_ms)))
                .help("records between windows would be lost; make ADVANCE BY at most SIZE (equal is a tumbling window)"));
            }
            if size_ms / advance_ms > HOPS_PER_RECORD_MAX {
                return Err(Diagnostic::new(
                    Code::InvalidWindow,
                    format!(
                        "each record would fall into {} windows; the limit is {HOPS_PER_RECORD_MAX}",
                        size_ms / advance_ms
                    ),
                )
                .label(advance.span, "advance too small for this size")
                .help("advance by a larger step"));
            }
            WindowType::Hopping {
                size_ms,
                advance_ms,
            }
        }
        WindowKind::Session { gap } => WindowType::Session {
            gap_ms: positive(gap, "inactivity gap")?,
        },
    };
    let default_grace_ms = match kind {
        _ if emit_final => 0,
        WindowType::Session { gap_ms } => (DEFAULT_GRACE_MS - gap_ms).max(0),
        _ => (DEFAULT_GRACE_MS - kind.size_ms().unwrap_or(0)).max(0),
    };
    let grace_ms = w.grace.map_or(default_grace_ms, |g| g.millis.max(0));
    if let Some(r) = &w.retention {
        let need = kind.size_ms().unwrap_or(0).saturating_add(grace_ms);
        if r.millis < need {
            let mut d = Diagnostic::new(
                Code::RetentionTooShort,
                format!(
                    "the retention ({}) is shorter than the window size plus its grace period ({})",
                    duration(r.millis),
                    duration(need)
                ),
            )
            .label(r.span, "too short");
            if let Some(g) = &w.grace {
                d = d.label(g.span, "grace period");
            }
            return Err(d.help(format!(
                "a window must be kept until it closes: RETENTION {} or more{}",
                duration(need),
                if w.grace.is_none() && !emit_final {
                    " (the grace period defaults to 24 HOURS less the window size; give a shorter GRACE PERIOD)"
                } else {
                    ""
                }
            )));
        }
    }
    Ok(WindowDef {
        kind,
        grace_ms,
        grace_given: w.grace.is_some(),
        retention_ms: w.retention.map(|r| r.millis),
    })
}

/// Checks a `timestamp_format` pattern: the letters kql reads are y M d H h m s S and
/// X x Z (zone offset); text in single quotes is literal; other letters are rejected.
pub fn check_timestamp_format(pattern: &str) -> Result<(), String> {
    let mut quoted = false;
    let mut fields = 0;
    for c in pattern.chars() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && c.is_ascii_alphabetic() {
            if !"yMdHhmsSXxZ".contains(c) {
                return Err(format!("the letter '{c}' is not supported"));
            }
            fields += 1;
        }
    }
    if quoted {
        return Err("a quote is not closed".into());
    }
    if fields == 0 {
        return Err("it has no date or time fields".into());
    }
    Ok(())
}
