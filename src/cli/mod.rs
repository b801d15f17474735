//! The command line: `kql run`, `check`, `explain`, `produce`, `topics`, and the REPL when
//! no command is given. Each command builds a session, runs it, and maps errors to exit 1.

mod check;
mod explain;
mod log;
mod print;
mod progress;
mod repl;
mod run;
mod test;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diagnostic::{render, Diagnostic};
use crate::sources::Sources;

const LONG_ABOUT: &str = "\
Stream processing in ksqlDB's SQL dialect, on an embedded Kafka-like log, in one binary.

Without a command, kql opens an interactive shell: statements end with ';' and may span
lines; Tab completes keywords, streams, tables, columns and topics; Ctrl-C cancels a running
query; Ctrl-D leaves. History is kept in ~/.kql_history (or the file KQL_HISTORY names).
Type 'help' in the shell for every statement with an example. With piped input the shell
runs the statements line by line, with no prompts, and exits 1 if any failed.";

const EXAMPLES: &str = "\
Examples:
  kql                                        # the interactive shell
  kql --format json                          # the shell, printing rows as JSON lines
  kql --data-dir ./log                       # the shell over a durable log
  echo 'SHOW TOPICS;' | kql                  # statements from a pipe
  kql run queries/temp_alerts.ksql           # run a file to the end of its input
  kql run queries/temp_alerts.ksql --format json > alerts.jsonl
  kql check queries/*.ksql                   # compile only, print diagnostics
  kql explain queries/temp_alerts.ksql       # the logical and physical plans
  kql test -s pipeline.ksql -i input.json -o expected.json   # unit-test a pipeline

Environment:
  KQL_HISTORY   the shell's history file (empty: keep no history)
  NO_COLOR      no colours in the shell and in diagnostics
  NO_PROGRESS   no progress bar in `kql run`, even on a terminal

Exit status: 0 on success, 1 on a compile or runtime error (the diagnostic is on stderr).";

#[derive(Parser, Debug)]
#[command(
    name = "kql",
    version,
    about = "Stream processing in ksqlDB's SQL dialect, on an embedded Kafka-like log, in one binary",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES
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
    /// The shell's log directory: streams, tables and topics kept there are there again
    /// next time (default: in memory)
    #[arg(long = "data-dir", value_name = "DIR")]
    pub shell_data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every statement of a .ksql file in order, to the end of its input
    #[command(
        long_about = "Run every statement of a .ksql file in order, to the end of its input.\n\n\
            Nothing runs if any statement has an error: every diagnostic is printed instead.\n\
            Queries print their rows (tables, or JSON lines with --format json, where status\n\
            lines go to stderr). On a terminal, a query reading a long input shows a progress\n\
            bar on stderr (records read, records/s, rows, late and bad records); piped or\n\
            redirected stderr gets none.",
        after_help = "Examples:\n  \
            kql run queries/temp_alerts.ksql\n  \
            kql run queries/temp_alerts.ksql --format json | jq .TEMP\n  \
            kql run queries/temp_alerts.ksql --brokers 5"
    )]
    Run {
        /// The .ksql file
        file: PathBuf,
        /// Keep the log in this directory across runs (default: in memory, nothing left on disk)
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Keep running and print new results as they arrive
        #[arg(long)]
        follow: bool,
    },
    /// Compile files without running them and print every diagnostic
    #[command(
        long_about = "Compile files without running them and print every diagnostic, with its code\n\
            (KQL0001...), the lines it points at and a help line. Exits 1 if any file has an error.",
        after_help = "Examples:\n  \
            kql check queries/temp_alerts.ksql\n  \
            kql check queries/*.ksql"
    )]
    Check {
        /// The .ksql files
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the logical and physical plans of the queries of a file
    #[command(
        long_about = "Print the logical and physical plans of the queries of a file: the operators,\n\
            the tasks (one per input partition), repartition and broadcast steps.",
        after_help = "Examples:\n  \
            kql explain queries/temp_alerts.ksql\n  \
            kql explain queries/temp_alerts.ksql --brokers 1"
    )]
    Explain {
        /// The .ksql file
        file: PathBuf,
    },
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
        /// Print {"partition","offset"} on stdout for each record once it is acknowledged
        #[arg(long)]
        print_offsets: bool,
    },
    /// Unit-test a pipeline with ksqlDB's test-runner files: feed input records one at a time
    #[command(
        after_help = "Example:\n  kql test -s pipeline.ksql -i input.json -o expected.json\n\nFiles: input {\"inputs\":[{\"topic\",\"key\",\"value\",\"timestamp\"}]},\nexpected {\"outputs\":[{\"topic\",\"key\",\"value\",\"timestamp\",\"window\"}]}.\nWithout -o, prints every record written to a topic the input does not write to."
    )]
    Test {
        /// The statements (.ksql)
        #[arg(short = 's', long = "sql-file")]
        statements: PathBuf,
        /// The input records (JSON)
        #[arg(short = 'i', long = "input-file")]
        input: PathBuf,
        /// The expected output records (JSON)
        #[arg(short = 'o', long = "output-file")]
        output: Option<PathBuf>,
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
    // A mistake on the command line is a user's error like any other: exit code 1.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
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
            print_offsets,
        }) => log::produce(
            &cli,
            topic,
            file,
            data_dir.as_deref(),
            *partitions,
            *print_offsets,
        ),
        Some(Command::Test {
            statements,
            input,
            output,
        }) => test::run(statements, input, output.as_deref()),
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
            .help(if e.kind() == std::io::ErrorKind::InvalidData {
                "kql reads .ksql files as UTF-8 text"
            } else {
                "check the path; it is relative to the current directory"
            }),
        )
    })
}
