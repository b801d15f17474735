//! The librdkafka client context kql gives every client: it keeps librdkafka's log quiet
//! and remembers the last error the client reported in the background (a refused
//! connection, failed authentication), so an operation that times out can say why.

use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// The last background error of a client, shared by its clones of the context.
#[derive(Debug, Clone, Default)]
pub struct LastError(Arc<Mutex<Option<(Option<RDKafkaErrorCode>, String)>>>);

impl LastError {
    pub fn get(&self) -> Option<(Option<RDKafkaErrorCode>, String)> {
        self.0.lock().unwrap().clone()
    }

    pub(super) fn set(&self, code: Option<RDKafkaErrorCode>, message: String) {
        *self.0.lock().unwrap() = Some((code, message));
    }

    /// librdkafka reports a refused connection or a failed handshake in its log (from its
    /// own threads, without waiting for a poll): warnings and errors are kept, unless an
    /// error with a code is already known.
    pub(super) fn log(&self, level: RDKafkaLogLevel, message: &str) {
        use RDKafkaLogLevel as L;
        if !matches!(
            level,
            L::Emerg | L::Alert | L::Critical | L::Error | L::Warning
        ) {
            return;
        }
        let mut last = self.0.lock().unwrap();
        if !matches!(*last, Some((Some(_), _))) {
            *last = Some((None, message.to_string()));
        }
    }
}

/// The context of kql's consumers and admin clients.
#[derive(Clone, Default)]
pub struct Context {
    pub last_error: LastError,
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, _fac: &str, message: &str) {
        self.last_error.log(level, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.last_error
            .set(error.rdkafka_error_code(), reason.to_string());
    }
}

impl ConsumerContext for Context {}
