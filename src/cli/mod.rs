//! The command line: `kql run`, `check`, `explain`, `produce`, `topics`, and the REPL when
//! no command is given. Each command builds a session, runs it, and maps errors to exit 1.

mod check;
mod explain;
mod log;
mod print;
mod progress;
mod repl;
mod run;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diagnostic::{render, Diagnostic};
use crate::sources::Sources;

#[derive(Parser, Debug)]
#[command(
    name = "kql",
    version,
    about = "Stream processing in ksqlDB's SQL dialect, on an embedded Kafka-like log, in one binary",
    long_about = "Stream processing in ksqlDB's SQL dialect, on an embedded Kafka-like log, in one binary.\n\nWithout a command, kql opens an interactive shell.",
    after_help = "Examples:\n  kql run queries/temp_alerts.ksql\n  kql run queries/temp_alerts.ksql --format json\n  kql check queries/*.ksql\n  kql explain queries/temp_alerts.ksql"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How results are printed
    #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
    pub format: OutputFormat,
    /// Number of brokers of the embedded cluster (ids 1..N)
    #[arg(long, default_value_t = 3, global = true)]
    pub brokers: u32,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every statement of a .ksql file in order, to the end of its input
    #[command(after_help = "Example:\n  kql run queries/temp_alerts.ksql --format json")]
    Run {
        file: PathBuf,
        /// Keep the log in this directory across runs (default: in memory, nothing left on disk)
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Keep running and print new results as they arrive
        #[arg(long)]
        follow: bool,
    },
    /// Compile files without running them and print every diagnostic
    #[command(after_help = "Example:\n  kql check queries/*.ksql")]
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the logical and physical plans of the queries of a file
    #[command(after_help = "Example:\n  kql explain queries/temp_alerts.ksql")]
    Explain { file: PathBuf },
    /// Append JSON-lines records {"key","value","timestamp","partition","headers"} to a topic
    #[command(
        after_help = "Examples:\n  kql produce readings data.jsonl --data-dir ./log\n  echo '{\"key\":\"s-1\",\"value\":{\"temp\":21.5}}' | kql produce readings - --data-dir ./log"
    )]
    Produce {
        topic: String,
        /// A JSON-lines file, or - for stdin
        #[arg(default_value = "-")]
        file: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Partitions of the topic if it does not exist yet
        #[arg(long, default_value_t = 1)]
        partitions: u32,
    },
    /// List topics with partitions, replicas and offsets
    #[command(after_help = "Example:\n  kql topics --data-dir ./log")]
    Topics {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned tables
    Table,
    /// One JSON object per row on stdout; status lines on stderr
    Json,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        None => repl::run(&cli),
        Some(Command::Run {
            file,
            data_dir,
            follow,
        }) => run::run(&cli, file, data_dir.as_deref(), *follow),
        Some(Command::Check { files }) => check::run(files),
        Some(Command::Explain { file }) => explain::run(&cli, file),
        Some(Command::Produce {
            topic,
            file,
            data_dir,
            partitions,
        }) => log::produce(&cli, topic, file, data_dir.as_deref(), *partitions),
        Some(Command::Topics { data_dir }) => log::topics(&cli, data_dir.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprint!(
                "{}",
                render(&failure.diagnostics, &failure.sources, color_stderr())
            );
            ExitCode::from(1)
        }
    }
}

/// What a failed command reports: its diagnostics, with the texts they point into.
pub struct Failure {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
}

impl Failure {
    pub fn plain(d: Diagnostic) -> Failure {
        Failure {
            diagnostics: vec![d],
            sources: Sources::default(),
        }
    }
}

pub fn color_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The embedded cluster: durable in `data_dir`, else in memory.
pub fn open_cluster(
    cli: &Cli,
    data_dir: Option<&std::path::Path>,
) -> Result<kql_runtime::Cluster, Failure> {
    match data_dir {
        None => Ok(kql_runtime::Cluster::in_memory(cli.brokers)),
        Some(dir) => kql_runtime::Cluster::open(dir, cli.brokers, kql_runtime::Settings::default()).map_err(|e| {
            Failure::plain(
                Diagnostic::new(crate::diagnostic::Code::TopicError, format!("cannot open the log in {}: {e}", dir.display()))
                    .help("another kql may be using this directory, or it is not a kql data directory"),
            )
        }),
    }
}

/// Reads a file, or a diagnostic that says why not.
pub fn read_file(path: &std::path::Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| {
        Failure::plain(
            Diagnostic::new(
                crate::diagnostic::Code::FileError,
                format!("cannot read {}: {e}", path.display()),
            )
            .help("check the path; it is relative to the current directory"),
        )
    })
}
