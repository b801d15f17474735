//! The interactive shell. On a terminal it is a line editor (reedline) with history, tab
//! completion, highlighting and multi-line statements; with piped input it reads lines,
//! prints no prompts and no escape codes, and runs each statement once its `;` has come.
//!
//! The shell handles a few things itself before the session sees them: `help`, `exit`/`quit`/`\q`,
//! `clear`, `SET 'output'='json'|'table'` (and `UNSET 'output'`), ksqlDB's `OUTPUT JSON;`,
//! `OUTPUT TABULAR;` and `OUTPUT;` (which says the format), and `RUN SCRIPT 'file'`
//! (the planner does not run scripts: the shell reads the file and runs its text).

mod background;
mod editor;
mod help;
mod lexer;
mod output;
mod terminal;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use reedline::Signal;

use super::progress::WithProgress;
use super::{color_stderr, Cli, Failure, OutputFormat};
use crate::diagnostic::{render, Code, Diagnostic};
use crate::exec::Session;
use crate::syntax::split::split_statements;
use lexer::{tokens, Kind};
use output::{ReplOutput, Running};

/// What Tab can offer, refreshed from the session after every entry.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Streams and tables with their column names.
    pub sources: Vec<(String, Vec<String>)>,
    /// What the completion menu says of a column: `DOUBLE in READINGS`.
    pub column_notes: std::collections::BTreeMap<String, String>,
    pub topics: Vec<String>,
    pub functions: Vec<String>,
}

const PSEUDO_COLUMNS: &[&str] = &[
    "ROWTIME",
    "ROWPARTITION",
    "ROWOFFSET",
    "WINDOWSTART",
    "WINDOWEND",
];

pub fn run(cli: &Cli) -> Result<(), Failure> {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let sandbox = cli
        .shell_sandbox
        .as_deref()
        .map(super::sandbox_in)
        .transpose()?;
    let opened = super::open_log(cli, cli.shell_data_dir.as_deref())?;
    let mut session = opened.session();
    session.sandbox = sandbox;
    let mut shell = Shell::new(cli, session, interactive);
    // A durable log brings back the streams and tables declared in it.
    shell
        .session()
        .restore(&mut ReplOutput::new(
            cli.format,
            shell.cancel.clone(),
            shell.query.clone(),
        ))
        .map_err(Failure::plain)?;
    shell.refresh_names();
    let running = shell.running.clone();
    let cancel = shell.cancel.clone();
    let query = shell.query.clone();
    // Ctrl-C while a statement runs cancels it (the query polls `Output::cancelled`); while
    // the line editor reads, reedline sees it as a key and clears the line. With piped
    // input and nothing running, it ends kql as it would any command.
    let _ = ctrlc::set_handler(move || {
        if running.load(Ordering::SeqCst) {
            cancel.store(true, Ordering::SeqCst);
            if let Some(p) = query.lock().ok().and_then(|q| q.clone()) {
                p.cancel.store(true, Ordering::SeqCst);
            }
        } else if !interactive {
            std::process::exit(130);
        }
    });
    if interactive {
        // At the terminal, push queries wait for new rows (until Ctrl-C or LIMIT) and
        // persistent queries keep running in the background while the user types.
        shell.session().go_live(Arc::new(AtomicBool::new(false)));
        let background = background::start(shell.session.clone());
        let _terminal = terminal::KeepOutputOnInterrupt::new();
        shell.interactive();
        background.stop();
        Ok(())
    } else {
        shell.piped();
        if shell.failed {
            // Each error was reported as it happened; the exit code says there was one.
            Err(Failure {
                diagnostics: Vec::new(),
                sources: Default::default(),
            })
        } else {
            Ok(())
        }
    }
}

enum Flow {
    Continue,
    Exit,
}

struct Shell {
    /// Shared with the thread that keeps persistent queries running between entries.
    session: Arc<Mutex<Session>>,
    default_format: OutputFormat,
    format: OutputFormat,
    interactive: bool,
    cancel: Arc<AtomicBool>,
    running: Arc<AtomicBool>,
    /// The query running now, if any.
    query: Running,
    names: Arc<Mutex<Names>>,
    entry: usize,
    failed: bool,
}

impl Shell {
    fn new(cli: &Cli, session: Session, interactive: bool) -> Shell {
        let mut functions: Vec<String> = crate::functions::all()
            .map(|f| f.name.to_string())
            .collect();
        functions.sort();
        functions.dedup();
        let shell = Shell {
            session: Arc::new(Mutex::new(session)),
            default_format: cli.format,
            format: cli.format,
            interactive,
            cancel: Arc::new(AtomicBool::new(false)),
            running: Arc::new(AtomicBool::new(false)),
            query: Running::default(),
            names: Arc::new(Mutex::new(Names {
                functions,
                ..Names::default()
            })),
            entry: 0,
            failed: false,
        };
        shell.refresh_names();
        shell
    }

    fn interactive(&mut self) {
        let color = std::env::var_os("NO_COLOR").is_none();
        let mut editor = editor::build(self.names.clone(), history_path(), color);
        let prompt = editor::KqlPrompt;
        println!(
            "kql {}: ksqlDB's SQL on an embedded log. Type 'help' for the statements, Ctrl-D to leave.",
            env!("CARGO_PKG_VERSION")
        );
        loop {
            match editor.read_line(&prompt) {
                Ok(Signal::Success(text)) => {
                    let flow = self.entry(&text);
                    let _ = editor.sync_history();
                    if let Flow::Exit = flow {
                        break;
                    }
                }
                Ok(Signal::CtrlD) => break,
                Ok(_) => {} // Ctrl-C on the line: reedline has cleared it
                Err(e) => {
                    eprintln!("error: the line editor failed: {e}");
                    break;
                }
            }
        }
        let _ = editor.sync_history();
    }

    fn piped(&mut self) {
        let stdin = std::io::stdin();
        let mut pending = String::new();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            pending.push_str(&line);
            pending.push('\n');
            if is_complete(&pending) {
                let text = std::mem::take(&mut pending);
                if let Flow::Exit = self.entry(&text) {
                    return;
                }
            }
        }
        // A last statement without its `;` still runs.
        if !pending.trim().is_empty() {
            self.entry(&pending);
        }
    }

    /// One entry: a shell command, or statements for the session.
    fn entry(&mut self, text: &str) -> Flow {
        let command = text
            .trim()
            .trim_end_matches(';')
            .trim()
            .to_ascii_lowercase();
        match command.as_str() {
            "" => return Flow::Continue,
            "exit" | "quit" | "\\q" => return Flow::Exit,
            "help" | "?" => {
                print!("{}", help::text());
                let _ = std::io::stdout().flush();
                return Flow::Continue;
            }
            "clear" => {
                if self.interactive {
                    print!("\x1b[2J\x1b[H");
                    let _ = std::io::stdout().flush();
                }
                return Flow::Continue;
            }
            _ => {}
        }
        self.entry += 1;
        let name = format!("<input {}>", self.entry);
        self.statements(&name, text, 0);
        self.refresh_names();
        Flow::Continue
    }

    /// Runs a text's statements: all at once (checked first, as `kql run` does) unless some
    /// are the shell's own, then one at a time in order.
    fn statements(&mut self, name: &str, text: &str, depth: usize) {
        let pieces = split_statements(text);
        let intercepted: Vec<Option<ShellStatement>> = pieces
            .iter()
            .map(|&(s, e)| shell_statement(&text[s..e]))
            .collect();
        if intercepted.iter().all(Option::is_none) {
            self.run(name, text);
            return;
        }
        for (&(s, e), shell) in pieces.iter().zip(intercepted) {
            match shell {
                Some(st) => self.shell_statement(st, depth),
                // Blanked up to the statement, so diagnostics show the text's own lines.
                None => self.run(name, &blank_before(text, s, e)),
            }
        }
    }

    fn run(&mut self, name: &str, text: &str) {
        // A query that reads long without a row to show gets a progress bar on stderr.
        let mut out = WithProgress::new(ReplOutput::new(
            self.format,
            self.cancel.clone(),
            self.query.clone(),
        ))
        .until_first_row();
        self.cancel.store(false, Ordering::SeqCst);
        self.running.store(true, Ordering::SeqCst);
        let result = self.session().run_text(name, text, &mut out);
        self.running.store(false, Ordering::SeqCst);
        let interrupted = self.cancel.swap(false, Ordering::SeqCst);
        let had_query = self.query.lock().ok().and_then(|mut q| q.take()).is_some();
        let out = out.inner();
        let stopped = out.take_stopped();
        if had_query && (stopped || interrupted) {
            eprintln!("Query cancelled after {} row(s).", out.rows);
        } else if stopped || interrupted {
            eprintln!("Cancelled.");
        }
        if let Err(d) = result {
            self.report(&d);
        }
    }

    fn report(&mut self, diagnostics: &[Diagnostic]) {
        self.failed = true;
        let _ = std::io::stdout().flush();
        eprint!(
            "{}",
            render(diagnostics, &self.session().sources, color_stderr())
        );
    }

    fn shell_statement(&mut self, st: ShellStatement, depth: usize) {
        match st {
            ShellStatement::Output(Some(value)) => match value.to_ascii_lowercase().as_str() {
                "json" => self.set_format(OutputFormat::Json),
                "table" => self.set_format(OutputFormat::Table),
                _ => self.report(&[Diagnostic::new(
                    Code::InvalidPropertyValue,
                    format!("the output format is TABULAR (or 'table') or JSON, not '{value}'"),
                )
                .help("OUTPUT JSON; (or SET 'output'='json';) prints rows as JSON lines, OUTPUT TABULAR; as tables")]),
            },
            ShellStatement::ShowOutput => {
                println!(
                    "Output format: {}",
                    match self.format {
                        OutputFormat::Table => "TABULAR",
                        OutputFormat::Json => "JSON",
                    }
                );
            }
            ShellStatement::Output(None) => self.set_format(self.default_format),
            ShellStatement::RunScript(path) => {
                if depth >= MAX_SCRIPT_DEPTH {
                    self.report(&[Diagnostic::new(
                        Code::Unsupported,
                        format!("RUN SCRIPT '{path}' is nested more than {MAX_SCRIPT_DEPTH} deep"),
                    )
                    .help("does a script run itself?")]);
                    return;
                }
                let allowed = self.session().may_run_script(std::path::Path::new(&path));
                if let Err(d) = allowed {
                    self.report(&[d]);
                    return;
                }
                match std::fs::read_to_string(&path) {
                    Ok(text) => self.statements(&path, &text, depth + 1),
                    Err(e) => self.report(&[Diagnostic::new(
                        Code::FileError,
                        format!("cannot read {path}: {e}"),
                    )
                    .help("the path is relative to the directory kql was started in")]),
                }
            }
        }
    }

    fn set_format(&mut self, format: OutputFormat) {
        self.format = format;
        eprintln!(
            "Output format is now {}.",
            match format {
                OutputFormat::Table => "table",
                OutputFormat::Json => "json",
            }
        );
    }

    /// The session, while no background catch-up holds it.
    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn refresh_names(&self) {
        let Ok(mut names) = self.names.lock() else {
            return;
        };
        let session = self.session();
        names.sources = session
            .catalog
            .sources()
            .map(|d| {
                let cols = d
                    .columns
                    .iter()
                    .map(|c| c.name.clone())
                    .chain(PSEUDO_COLUMNS.iter().map(|s| s.to_string()))
                    .collect();
                (d.name.clone(), cols)
            })
            .collect();
        let mut notes: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for d in session.catalog.sources() {
            for c in &d.columns {
                notes
                    .entry(c.name.clone())
                    .or_default()
                    .push(format!("{} in {}", c.ty, d.name));
            }
        }
        names.column_notes = notes.into_iter().map(|(k, v)| (k, v.join(", "))).collect();
        names.topics = session.log().topic_names();
        names.topics.sort();
    }
}

/// How deep RUN SCRIPT may nest (a script that runs itself stops there).
const MAX_SCRIPT_DEPTH: usize = 16;

/// `text[start..end]` with everything before it blanked (newlines kept), so that spans
/// and line numbers stay those of the whole text.
fn blank_before(text: &str, start: usize, end: usize) -> String {
    // Byte for byte: spans are byte offsets.
    let mut s = String::with_capacity(end);
    for c in text[..start].chars() {
        if c == '\n' {
            s.push('\n');
        } else {
            s.push_str(&" ".repeat(c.len_utf8()));
        }
    }
    s.push_str(&text[start..end]);
    s
}

/// `KQL_HISTORY` if set (empty: no history file), else `~/.kql_history`.
fn history_path() -> Option<PathBuf> {
    match std::env::var_os("KQL_HISTORY") {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kql_history")),
    }
}

/// Statements the shell carries out itself.
#[derive(Debug, PartialEq)]
enum ShellStatement {
    /// `SET 'output'='json'`, `OUTPUT JSON` (Some) or `UNSET 'output'` (None).
    Output(Option<String>),
    /// `OUTPUT;`: which format rows are printed in.
    ShowOutput,
    RunScript(String),
}

fn shell_statement(text: &str) -> Option<ShellStatement> {
    let toks: Vec<(Kind, &str)> = tokens(text)
        .into_iter()
        .filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
        .map(|t| (t.kind, &text[t.start..t.end]))
        .filter(|&(k, s)| !(k == Kind::Punct && s == ";"))
        .collect();
    let word = |i: usize, w: &str| {
        toks.get(i)
            .is_some_and(|&(k, s)| k == Kind::Word && s.eq_ignore_ascii_case(w))
    };
    let string = |i: usize| match toks.get(i) {
        Some(&(Kind::Str, s)) if s.len() >= 2 && s.ends_with('\'') => {
            Some(s[1..s.len() - 1].replace("''", "'"))
        }
        _ => None,
    };
    let is_output = |i: usize| string(i).is_some_and(|s| s.eq_ignore_ascii_case("output"));
    if toks.len() == 4 && word(0, "SET") && is_output(1) && toks[2].1 == "=" {
        return string(3).map(|v| ShellStatement::Output(Some(v)));
    }
    if toks.len() == 2 && word(0, "UNSET") && is_output(1) {
        return Some(ShellStatement::Output(None));
    }
    // ksqlDB's CLI: OUTPUT JSON, OUTPUT TABULAR, and OUTPUT alone to ask.
    if word(0, "OUTPUT") {
        return match toks.get(1) {
            None => Some(ShellStatement::ShowOutput),
            Some(&(Kind::Word, w)) if toks.len() == 2 => {
                let format = if w.eq_ignore_ascii_case("TABULAR") {
                    "table"
                } else {
                    w
                };
                Some(ShellStatement::Output(Some(format.to_string())))
            }
            _ => None,
        };
    }
    if toks.len() == 3 && word(0, "RUN") && word(1, "SCRIPT") {
        return string(2).map(ShellStatement::RunScript);
    }
    None
}

/// Whether an entry is ready to run: it ends with a top-level `;` (not inside a string or
/// a comment), is a shell command, or holds nothing but comments.
pub fn is_complete(text: &str) -> bool {
    let t = text.trim();
    let command = t.trim_end_matches(';').trim().to_ascii_lowercase();
    if t.is_empty()
        || matches!(
            command.as_str(),
            "exit" | "quit" | "\\q" | "help" | "?" | "clear"
        )
    {
        return true;
    }
    if let Some(last) = tokens(text).last() {
        let s = &text[last.start..last.end];
        let open = match last.kind {
            Kind::Comment => s.starts_with("/*") && !(s.len() >= 4 && s.ends_with("*/")),
            Kind::Str => !lexer::closed_string(s),
            Kind::Quoted => s.len() < 2 || !s.ends_with('`'),
            _ => false,
        };
        if open {
            return false;
        }
    }
    match split_statements(text).last() {
        None => true,
        Some(&(_, end)) => text[..end].trim_end().ends_with(';'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_entries() {
        assert!(is_complete("SHOW STREAMS;"));
        assert!(is_complete("SELECT *\nFROM s\nEMIT CHANGES;  -- done\n"));
        assert!(!is_complete("SELECT *\nFROM s"));
        assert!(!is_complete("INSERT INTO s VALUES ('a;"));
        assert!(!is_complete("/* a comment; "));
        assert!(is_complete("help"));
        assert!(is_complete("exit"));
        assert!(is_complete(""));
    }

    #[test]
    fn blanking_keeps_byte_offsets_and_lines() {
        let text = "-- 25 °C\nSET 'output'='json';\nSELECT x;";
        let start = text.find("SELECT").unwrap();
        let b = blank_before(text, start, text.len());
        assert_eq!(b.len(), text.len());
        assert_eq!(&b[start..], "SELECT x;");
        assert_eq!(b.lines().count(), 3);
    }

    #[test]
    fn shell_statements() {
        assert_eq!(
            shell_statement("SET 'output' = 'json';"),
            Some(ShellStatement::Output(Some("json".into())))
        );
        assert_eq!(
            shell_statement("unset 'OUTPUT'"),
            Some(ShellStatement::Output(None))
        );
        assert_eq!(
            shell_statement("RUN SCRIPT 'a''b.ksql';"),
            Some(ShellStatement::RunScript("a'b.ksql".into()))
        );
        assert_eq!(shell_statement("SET 'auto.offset.reset'='latest';"), None);
        assert_eq!(
            shell_statement("output json;"),
            Some(ShellStatement::Output(Some("json".into())))
        );
        assert_eq!(
            shell_statement("OUTPUT TABULAR"),
            Some(ShellStatement::Output(Some("table".into())))
        );
        assert_eq!(shell_statement("OUTPUT;"), Some(ShellStatement::ShowOutput));
        assert_eq!(
            shell_statement("OUTPUT yaml;"),
            Some(ShellStatement::Output(Some("yaml".into())))
        );
    }
}
