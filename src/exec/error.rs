//! The executor's error: whose fault a failure is, kept from the task that met it to the
//! diagnostic the user reads. A diagnostic made earlier (a join that cannot be planned)
//! keeps its code, labels and help; the log, a file or the data stopping a query is a
//! runtime error with its code; a bug in kql is an internal fault that says where it
//! happened, never dressed as a user's error.

use std::fmt;
use std::panic::Location;

use crate::diagnostic::{Code, Diagnostic};
use crate::exec::log::LogError;

#[derive(Debug)]
pub enum ExecError {
    /// Already a diagnostic (code, labels, help): passed on as it is.
    Diagnosed(Diagnostic),
    /// The log, a file or the data stopped the query: a topic that is gone, a refused
    /// append, a state snapshot that does not fit the query.
    Runtime { code: Code, message: String },
    /// A bug in kql, and the place in kql's source where it showed.
    Internal {
        at: &'static Location<'static>,
        message: String,
    },
    /// A task stopped because another part of the same run failed and hung up first: that
    /// failure is the one to report, not this.
    Abandoned,
}

pub type ExecResult<T> = Result<T, ExecError>;

impl ExecError {
    /// A bug in kql, located where this is called.
    #[track_caller]
    pub fn internal(message: impl Into<String>) -> ExecError {
        ExecError::Internal {
            at: Location::caller(),
            message: message.into(),
        }
    }

    /// A task that panicked (its join handle says so): a bug, located where it was joined.
    #[track_caller]
    pub fn task_failed(e: impl fmt::Display) -> ExecError {
        ExecError::internal(format!("a task of the query failed: {e}"))
    }

    /// The same error, saying what was being done (`query CSAS_X_0 failed`).
    pub fn context(self, doing: impl fmt::Display) -> ExecError {
        match self {
            ExecError::Runtime { code, message } => ExecError::Runtime {
                code,
                message: format!("{doing}: {message}"),
            },
            ExecError::Internal { at, message } => ExecError::Internal {
                at,
                message: format!("{doing}: {message}"),
            },
            ExecError::Diagnosed(d) => ExecError::Diagnosed(d.note(doing.to_string())),
            ExecError::Abandoned => ExecError::Abandoned,
        }
    }

    /// Records `e` as a run's failure unless a more telling one is there: the first real
    /// failure wins over the tasks that were abandoned because of it.
    pub fn keep_first(slot: &mut Option<ExecError>, e: ExecError) {
        if matches!(slot, None | Some(ExecError::Abandoned)) {
            *slot = Some(e);
        }
    }
}

/// The executor's inner steps word their failures as text: a log, file or data error.
impl From<String> for ExecError {
    fn from(message: String) -> ExecError {
        ExecError::Runtime {
            code: Code::TopicError,
            message,
        }
    }
}

impl From<LogError> for ExecError {
    fn from(e: LogError) -> ExecError {
        ExecError::from(e.to_string())
    }
}

impl From<Diagnostic> for ExecError {
    fn from(d: Diagnostic) -> ExecError {
        ExecError::Diagnosed(d)
    }
}

impl From<ExecError> for Diagnostic {
    fn from(e: ExecError) -> Diagnostic {
        match e {
            ExecError::Diagnosed(d) => d,
            ExecError::Runtime { code, message } => Diagnostic::new(code, message),
            ExecError::Internal { at, message } => {
                Diagnostic::internal(message).note(format!("at {}:{}", at.file(), at.line()))
            }
            ExecError::Abandoned => Diagnostic::internal(
                "a task of the query stopped waiting for the others, although none failed",
            ),
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Diagnosed(d) => write!(f, "{}", d.message),
            ExecError::Runtime { message, .. } => write!(f, "{message}"),
            ExecError::Internal { at, message } => {
                write!(f, "{message} (at {}:{})", at.file(), at.line())
            }
            ExecError::Abandoned => write!(f, "another task of the query failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_real_failure_wins_over_abandoned_tasks() {
        let mut slot = None;
        ExecError::keep_first(&mut slot, ExecError::Abandoned);
        ExecError::keep_first(&mut slot, ExecError::from("disk full".to_string()));
        ExecError::keep_first(&mut slot, ExecError::Abandoned);
        ExecError::keep_first(&mut slot, ExecError::from("later".to_string()));
        assert_eq!(slot.unwrap().to_string(), "disk full");
    }

    #[test]
    fn an_internal_fault_says_it_is_a_bug_and_where() {
        let d = Diagnostic::from(ExecError::internal("a join without a sink").context("query Q"));
        assert_eq!(d.code, Code::Internal);
        assert_eq!(d.message, "query Q: a join without a sink");
        assert!(d.help.as_deref().unwrap().contains("bug in kql"));
        assert!(
            d.notes[0].starts_with("at src/exec/error.rs:"),
            "{:?}",
            d.notes
        );
    }

    #[test]
    fn a_diagnostic_keeps_its_code_labels_and_help() {
        let span = crate::syntax::span::Span::new(crate::syntax::span::SourceId(0), 3, 7);
        let d = Diagnostic::new(Code::NotCoPartitioned, "not co-partitioned")
            .label(span, "here")
            .help("repartition one side");
        let back = Diagnostic::from(ExecError::from(d.clone()).context("query Q"));
        assert_eq!(back.code, Code::NotCoPartitioned);
        assert_eq!(back.labels, d.labels);
        assert_eq!(back.help, d.help);
        assert_eq!(back.notes, vec!["query Q".to_string()]);
    }
}
