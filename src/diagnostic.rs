//! One error type for every stage: a stable code, a message, labelled spans (the first is
//! the primary one) and a `help:` line. This is the only module that knows ariadne.

use std::fmt::Write as _;

use crate::sources::Sources;
use crate::syntax::span::Span;

macro_rules! codes {
    ($($variant:ident = $num:literal, $title:literal;)*) => {
        /// Stable diagnostic codes, by range: 00xx syntax, 01xx names, 02xx types,
        /// 03xx windows and time, 04xx joins and co-partitioning, 05xx DDL and properties,
        /// 06xx runtime and data, 08xx not supported yet, 09xx internal errors.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn number(self) -> u16 {
                match self { $(Code::$variant => $num,)* }
            }

            /// A short title, as listed in docs/diagnostics.md.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    SyntaxError = 1, "syntax error";
    UnknownSource = 101, "unknown stream or table";
    UnknownColumn = 102, "unknown column";
    DuplicateSource = 103, "stream or table already exists";
    DuplicateColumn = 104, "duplicate column";
    AmbiguousColumn = 105, "ambiguous column";
    UnknownFunction = 106, "unknown function";
    UnknownQuery = 107, "unknown query id";
    TypeMismatch = 201, "type mismatch";
    WrongArgumentCount = 202, "wrong number of arguments";
    WrongArgumentType = 203, "wrong argument type";
    InvalidLiteral = 204, "invalid literal";
    InvalidWindow = 301, "invalid window";
    RetentionTooShort = 302, "window retention shorter than size plus grace";
    NotGrouped = 303, "column neither grouped nor aggregated";
    EmitFinalWithoutWindow = 304, "EMIT FINAL without a window";
    BadTimestampFormat = 305, "invalid timestamp_format";
    NotOnTable = 306, "aggregation not possible on a table";
    NotCoPartitioned = 401, "sources not co-partitioned";
    JoinNotOnKey = 402, "join not on the table's primary key";
    JoinKeyType = 403, "join keys of different types";
    InvalidJoin = 404, "join not possible between these sources";
    JoinCondition = 405, "join condition not an equality of the two sides";
    JoinKeyNotSelected = 406, "join key not in the projection";
    UnknownProperty = 501, "unknown property";
    MissingProperty = 502, "missing property";
    InvalidPropertyValue = 503, "invalid property value";
    InvalidKey = 504, "invalid key column";
    InsertMismatch = 505, "INSERT columns and values do not match";
    WrongSourceKind = 506, "a stream where a table is named, or the reverse";
    SinkKindMismatch = 507, "stream or table of the wrong kind for the query";
    SourceInUse = 508, "a running query uses the stream or table";
    ReadOnlySource = 509, "a read-only (SOURCE) stream or table written to";
    NoColumns = 510, "a CREATE without columns";
    TopicError = 601, "topic error";
    FileError = 602, "file error";
    KafkaCluster = 603, "Kafka cluster unreachable or refusing the client";
    StateLimit = 604, "a query's state reached its bound";
    Unsupported = 801, "not supported yet";
    Internal = 901, "internal error";
}

impl Code {
    /// `KQL0102`.
    pub fn id(self) -> String {
        format!("KQL{:04}", self.number())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    /// The first label is the primary one.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// Adds a label; the first one added is the primary label.
    pub fn label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// A bug in kql, not in the user's input.
    pub fn internal(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Code::Internal, message.into())
            .help("this is a bug in kql; please report it with the statement that caused it")
    }
}

/// The name closest to `wanted` among `candidates`, if one is close enough to be a typo.
/// `1 partition`, `3 partitions`: a count with its noun in the right number.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

pub fn did_you_mean<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted_l = wanted.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&wanted_l, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= (c.len().max(wanted.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Renders diagnostics as ariadne reports against the loaded sources.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&render_one(d, sources, color));
    }
    out
}

/// A label's range inside its text: clamped to the text and to char boundaries, so a span
/// that is off (a bug elsewhere) still renders instead of panicking.
fn clamp(span: &Span, sources: &Sources) -> std::ops::Range<usize> {
    let text = sources.text(span.source);
    let fit = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (start, end) = (fit(span.start), fit(span.end));
    start.min(end)..end
}

fn render_one(d: &Diagnostic, sources: &Sources, color: bool) -> String {
    use ariadne::{Color, Config, IndexType, Label as ALabel, Report, ReportKind};

    let Some(primary) = d.labels.first() else {
        // Nothing to point at (a file that cannot be read, a runtime error).
        let mut s = format!("Error: [{}] {}\n", d.code.id(), d.message);
        for n in &d.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        if let Some(h) = &d.help {
            let _ = writeln!(s, "  help: {h}");
        }
        return s;
    };
    let name = |span: &Span| sources.name(span.source).to_string();
    let mut report = Report::build(
        ReportKind::Error,
        (name(&primary.span), primary.span.start..primary.span.end),
    )
    .with_config(
        Config::default()
            .with_color(color)
            .with_index_type(IndexType::Byte),
    )
    .with_code(d.code.id())
    .with_message(&d.message);
    for (i, l) in d.labels.iter().enumerate() {
        let mut label = ALabel::new((name(&l.span), clamp(&l.span, sources)))
            .with_message(&l.message)
            .with_order(i as i32);
        if color {
            label = label.with_color(if i == 0 { Color::Red } else { Color::Blue });
        }
        report = report.with_label(label);
    }
    for n in &d.notes {
        report = report.with_note(n);
    }
    if let Some(h) = &d.help {
        report = report.with_help(h);
    }
    let cache = ariadne::sources(
        sources
            .iter()
            .map(|(_, n, t)| (n.to_string(), t.to_string())),
    );
    let mut buf = Vec::new();
    if report.finish().write(cache, &mut buf).is_err() {
        return format!("Error: [{}] {}\n", d.code.id(), d.message);
    }
    String::from_utf8_lossy(&buf).into_owned()
}
