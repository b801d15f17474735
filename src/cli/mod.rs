//! The command line: `kql run`, `check`, `explain`, `produce`, `topics`, and the REPL when
//! no command is given. Each command builds a session, runs it, and maps errors to exit 1.

mod check;
mod consume;
mod explain;
mod log;
mod print;
mod produce_input;
mod progress;
mod repl;
mod run;
mod serve;
mod test;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diagnostic::{render, Code, Diagnostic};
use crate::exec::log::LogHandle;
use crate::kafka::{KafkaLog, KafkaSettings};
use crate::sources::Sources;
use produce_input::KeyFormat;

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
  kql --sandbox .                            # the shell, files only under this folder
  echo 'SHOW TOPICS;' | kql                  # statements from a pipe
  kql run queries/temp_alerts.ksql           # run a file to the end of its input
  kql run queries/temp_alerts.ksql --format json > alerts.jsonl
  kql check queries/*.ksql                   # compile only, print diagnostics
  kql explain queries/temp_alerts.ksql       # the logical and physical plans
  kql test -s pipeline.ksql -i input.json -o expected.json   # unit-test a pipeline
  kql topics --bootstrap-servers 127.0.0.1:9092              # topics of a Kafka cluster

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
    /// How results are printed: aligned tables, or one JSON object a line (rows of queries,
    /// records of PRINT, partitions of `kql topics`)
    #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
    pub format: OutputFormat,
    /// Number of brokers of the embedded cluster (ids 1..N); STOP BROKER n and replicas
    /// need more than one
    #[arg(long, default_value_t = 3, global = true)]
    pub brokers: u32,
    /// The shell's log directory: streams, tables and topics kept there are there again
    /// next time (default: in memory)
    #[arg(long = "data-dir", value_name = "DIR")]
    pub shell_data_dir: Option<PathBuf>,
    /// The shell's connector files and RUN SCRIPT only inside this folder (and its
    /// subfolders), e.g. `--sandbox .`
    #[arg(long = "sandbox", value_name = "DIR")]
    pub shell_sandbox: Option<PathBuf>,
    /// Run on an Apache Kafka cluster instead of the embedded log
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT...]", global = true)]
    pub bootstrap_servers: Option<String>,
    /// Kafka client properties (a Java-style .properties file), e.g. security settings
    #[arg(long = "config", value_name = "FILE", global = true)]
    pub client_config: Option<PathBuf>,
    /// On Kafka: the application's name, prefix of its consumer groups and internal topics
    #[arg(long, value_name = "ID", global = true)]
    pub application_id: Option<String>,
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
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Keep running and print new results as they arrive
        #[arg(long)]
        follow: bool,
        /// Connector files and RUN SCRIPT only inside the folder of the .ksql file
        #[arg(long)]
        sandbox: bool,
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
        /// Connector files and RUN SCRIPT only inside the folder of each .ksql file
        #[arg(long)]
        sandbox: bool,
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
    /// Append JSON lines to a topic: plain values, or {"key","value","timestamp",...} records
    #[command(
        long_about = "Append JSON lines to a topic, creating it (with --partitions) when it does not exist.\n\n\
            A line is either a record's value, such as {\"sensor\":\"s-1\",\"temp\":21.5}, or a record\n\
            {\"key\",\"value\",\"timestamp\",\"partition\",\"headers\"} (only \"value\" required). The first\n\
            line decides: an object with \"value\" and only those fields is a record, and then every\n\
            line must be one; anything else makes every line a value. --key-field, --timestamp-field\n\
            and --values make every line a value. Strings are written as their UTF-8 bytes, other\n\
            JSON as its text. A line that is not valid stops the command with its line number; the\n\
            lines before it are written. A topic created for input of which nothing could be written\n\
            is not left behind.",
        after_help = "Examples:\n  \
            kql produce readings data.jsonl --data-dir ./log\n  \
            echo '{\"sensor\":\"s-1\",\"temp\":21.5,\"ts\":1700000000000}' | kql produce readings --key-field sensor --timestamp-field ts --data-dir ./log\n  \
            echo '{\"key\":\"s-1\",\"value\":{\"temp\":21.5}}' | kql produce readings - --data-dir ./log"
    )]
    Produce {
        /// The topic to append to
        topic: String,
        /// A JSON-lines file, or - for stdin
        #[arg(default_value = "-")]
        file: String,
        /// The embedded log's directory (default: in memory, gone when the command ends);
        /// a running kql that holds it takes the records through its socket
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Partitions of the topic if it does not exist yet
        #[arg(long, default_value_t = 1)]
        partitions: u32,
        /// Print {"partition","offset"} on stdout for each record once it is acknowledged
        #[arg(long)]
        print_offsets: bool,
        /// Each line is a value: its field FIELD (any case) is the record's key (null or
        /// missing: no key, so the record goes round-robin)
        #[arg(long, value_name = "FIELD")]
        key_field: Option<String>,
        /// How --key-field's value is written, as ksqlDB's key formats write it
        #[arg(long, value_enum, default_value_t = KeyFormat::String, requires = "key_field")]
        key_format: KeyFormat,
        /// Each line is a value: its field FIELD is the record's timestamp (epoch
        /// milliseconds or ISO-8601 text); without it, records get the time they are written
        #[arg(long, value_name = "FIELD")]
        timestamp_field: Option<String>,
        /// Each line is a value, even one that looks like a {"key","value"} record
        #[arg(long)]
        values: bool,
    },
    /// Read a topic as one member of a consumer group; several share its partitions
    #[command(
        long_about = "Read a topic as one member of a consumer group, printing its records as JSON lines\n\
            {\"topic\",\"partition\",\"offset\",\"timestamp\",\"key\",\"value\"} until Ctrl-C.\n\n\
            Start several with the same --group on one --data-dir (each in its own terminal): they\n\
            share the topic's partitions, each printing its assignment on stderr whenever the group\n\
            rebalances (a member joins or leaves). Positions are committed after every batch, so\n\
            DESCRIBE CONSUMER GROUP g shows them, and a member that starts later begins where the\n\
            group left off. The first process to open the directory owns it; the others (and\n\
            `kql produce`) go through its socket. With more members than partitions, some get none.",
        after_help = "Examples:\n  \
            kql produce readings data.jsonl --partitions 2 --key-field sensor --data-dir ./log\n  \
            kql consume readings --group dashboard --data-dir ./log     # in one terminal\n  \
            kql consume readings --group dashboard --data-dir ./log     # in another: a rebalance"
    )]
    Consume {
        /// The topic to read
        topic: String,
        /// The consumer group this member joins (its committed offsets are the group's);
        /// on Kafka without it, every partition is read and nothing is committed
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// The data directory the topic is in (shared with the producers and queries)
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Where a partition without a committed offset starts: earliest or latest
        #[arg(long, value_name = "RESET", default_value = "earliest")]
        offset_reset: kql_runtime::OffsetReset,
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
    /// Serve the embedded log to Kafka clients (one port per broker) and run a file's queries
    #[command(
        long_about = "Serve the embedded log over the Kafka wire protocol: broker i of --brokers listens on\n\
            the port i-1 above --listen's (the first is the bootstrap). The file's statements run\n\
            first; its persistent queries then keep processing what clients produce, and their\n\
            sink topics are readable by any Kafka client, until Ctrl-C. Listens on loopback unless\n\
            --listen names another address (there is no authentication).",
        after_help = "Examples:\n  \
            kql serve pipeline.ksql --data-dir data/\n  \
            kcat -b 127.0.0.1:9092 -t readings -P -K: < readings.txt\n  \
            kcat -b 127.0.0.1:9092 -L"
    )]
    Serve {
        /// A .ksql file whose statements run first (its persistent queries keep running)
        file: Option<PathBuf>,
        /// The bootstrap broker's address; broker i listens on the port i-1 above it
        #[arg(long, default_value = "127.0.0.1:9092")]
        listen: std::net::SocketAddr,
        /// Keep the log in this directory across runs (default: in memory)
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Let the file's connectors and RUN SCRIPT reach paths outside the file's folder
        /// (a server confines them to it by default)
        #[arg(long)]
        no_sandbox: bool,
    },
    /// List topics with partitions, replicas and offsets
    #[command(
        long_about = "List topics with their partitions, replicas and offsets: for each partition the log\n\
            start and end offsets, the high watermark, its bytes and its leader. With --format json,\n\
            one JSON object per partition and nothing else on stdout.",
        after_help = "Examples:\n  kql topics --data-dir ./log\n  kql topics --data-dir ./log --format json | jq .high_watermark\n  kql topics --bootstrap-servers 127.0.0.1:9092"
    )]
    Topics {
        /// The embedded log's directory (a running kql that holds it answers through its
        /// socket); without it, the in-memory log of this command, which is empty
        #[arg(long, value_name = "DIR")]
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
            sandbox,
        }) => run::run(&cli, file, data_dir.as_deref(), *follow, *sandbox),
        Some(Command::Check { files, sandbox }) => check::run(files, *sandbox),
        Some(Command::Explain { file }) => explain::run(&cli, file),
        Some(Command::Produce {
            topic,
            file,
            data_dir,
            partitions,
            print_offsets,
            key_field,
            key_format,
            timestamp_field,
            values,
        }) => log::produce(
            &cli,
            data_dir.as_deref(),
            log::ProduceArgs {
                topic,
                file,
                partitions: *partitions,
                print_offsets: *print_offsets,
                shape: produce_input::Shape::new(
                    key_field.as_deref(),
                    timestamp_field.as_deref(),
                    *key_format,
                    *values,
                ),
            },
        ),
        Some(Command::Consume {
            topic,
            group,
            data_dir,
            offset_reset,
        }) => consume::consume(
            &cli,
            topic,
            group.as_deref(),
            data_dir.as_deref(),
            *offset_reset,
        ),
        Some(Command::Test {
            statements,
            input,
            output,
        }) => test::run(statements, input, output.as_deref()),
        Some(Command::Topics { data_dir }) => log::topics(&cli, data_dir.as_deref()),
        Some(Command::Serve {
            file,
            listen,
            data_dir,
            no_sandbox,
        }) => serve::run(
            &cli,
            file.as_deref(),
            data_dir.as_deref(),
            *listen,
            !*no_sandbox,
        ),
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

/// The Kafka cluster's settings when the command line names one (`--bootstrap-servers`,
/// or a `--config` file with `bootstrap.servers`); None for the embedded log.
pub fn kafka_settings(cli: &Cli) -> Result<Option<KafkaSettings>, Failure> {
    if cli.bootstrap_servers.is_none() && cli.client_config.is_none() {
        if cli.application_id.is_some() {
            return Err(kafka_failure_with(
                "--application-id names an application on Kafka, and no Kafka cluster is given",
                "add --bootstrap-servers HOST:PORT",
            ));
        }
        return Ok(None);
    }
    let mut settings = KafkaSettings::new(cli.bootstrap_servers.as_deref().unwrap_or(""));
    if let Some(file) = &cli.client_config {
        settings
            .load_properties_file(file)
            .map_err(|e| kafka_failure(&e.to_string()))?;
    }
    if let Some(id) = &cli.application_id {
        settings.application_id = id.clone();
    }
    Ok(Some(settings))
}

/// Connects to the Kafka cluster of `settings`.
pub fn connect_kafka(settings: KafkaSettings) -> Result<KafkaLog, Failure> {
    KafkaLog::connect(settings).map_err(|e| kafka_failure(&e.to_string()))
}

fn kafka_failure(message: &str) -> Failure {
    kafka_failure_with(message, "check --bootstrap-servers (HOST:PORT of a broker's listener) and the client properties of --config")
}

fn kafka_failure_with(message: &str, help: &str) -> Failure {
    Failure::plain(
        Diagnostic::new(crate::diagnostic::Code::KafkaCluster, message.to_string()).help(help),
    )
}

/// `--data-dir` is for the embedded log: with a Kafka cluster it would be ignored.
pub fn refuse_data_dir_on_kafka(data_dir: Option<&std::path::Path>) -> Result<(), Failure> {
    match data_dir {
        Some(dir) => Err(kafka_failure_with(
            &format!(
                "--data-dir {} is for the embedded log; on Kafka (--bootstrap-servers) the cluster keeps the data",
                dir.display()
            ),
            "leave out --data-dir, or --bootstrap-servers to use the embedded log",
        )),
        None => Ok(()),
    }
}

/// The shell's `--sandbox DIR`: that folder.
pub fn sandbox_in(folder: &std::path::Path) -> Result<crate::exec::sandbox::Sandbox, Failure> {
    crate::exec::sandbox::Sandbox::new(folder).map_err(|e| {
        Failure::plain(
            Diagnostic::new(
                Code::FileError,
                format!("cannot use {} as the sandbox: {e}", folder.display()),
            )
            .help("--sandbox takes a folder that exists"),
        )
    })
}

/// `--sandbox`: the folder of the `.ksql` file `file`.
pub fn sandbox_of(file: &std::path::Path) -> Result<crate::exec::sandbox::Sandbox, Failure> {
    crate::exec::sandbox::Sandbox::of_file(file).map_err(|e| {
        Failure::plain(Diagnostic::new(
            Code::FileError,
            format!(
                "cannot use the folder of {} as the sandbox: {e}",
                file.display()
            ),
        ))
    })
}

/// The embedded cluster: durable in `data_dir` (and serving other processes on it, see
/// `kql_runtime::local`), else in memory, each partition keeping its newest batches in
/// memory and spilling older ones to an unlinked temporary file (docs/runtime.md).
pub fn open_cluster(
    cli: &Cli,
    data_dir: Option<&std::path::Path>,
) -> Result<kql_runtime::Cluster, Failure> {
    let Some(dir) = data_dir else {
        return Ok(crate::exec::log::default_cluster(cli.brokers));
    };
    // A short-lived holder (a `kql produce`) is waited for.
    let deadline = std::time::Instant::now() + OPEN_WAIT;
    loop {
        match kql_runtime::Cluster::open(dir, cli.brokers, kql_runtime::Settings::default()) {
            Err(kql_runtime::LogError::DirectoryInUse(_))
                if std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            opened => return owned(dir, opened),
        }
    }
}

/// The log a shell or a run works on: the Kafka cluster the command line names, or the
/// embedded log, owned by this process (in memory, or a data directory it holds and serves
/// to others) or a data directory another kql process holds, reached through that process.
pub enum OpenedLog {
    Kafka(LogHandle),
    Owner(kql_runtime::Cluster),
    Guest(LogHandle),
}

impl OpenedLog {
    /// A session on this log; a guest's session leaves the holder's queries to the holder.
    pub fn session(&self) -> crate::exec::Session {
        match self {
            OpenedLog::Kafka(log) => crate::exec::Session::new(log.clone()),
            OpenedLog::Owner(c) => crate::exec::Session::new(c.clone()),
            OpenedLog::Guest(log) => {
                let mut s = crate::exec::Session::new(log.clone());
                s.guest = true;
                s
            }
        }
    }

    /// Stops serving the directory to other processes (an owner's last step).
    pub fn close(&self) {
        if let OpenedLog::Owner(c) = self {
            c.stop_serving();
        }
    }
}

/// The log of a shell or a run: Kafka with --bootstrap-servers, else the embedded log.
pub fn open_log(cli: &Cli, data_dir: Option<&std::path::Path>) -> Result<OpenedLog, Failure> {
    match kafka_settings(cli)? {
        Some(settings) => {
            refuse_data_dir_on_kafka(data_dir)?;
            Ok(OpenedLog::Kafka(std::sync::Arc::new(connect_kafka(
                settings,
            )?)))
        }
        None => open_embedded(cli, data_dir),
    }
}

/// `open_cluster` for a shell or a run: when another kql process holds the data directory
/// (a `kql run --follow`, a shell, `kql serve`), work through it rather than fail.
fn open_embedded(cli: &Cli, data_dir: Option<&std::path::Path>) -> Result<OpenedLog, Failure> {
    use kql_runtime::local::{open_or_connect, Opened};
    let Some(dir) = data_dir else {
        return open_cluster(cli, None).map(OpenedLog::Owner);
    };
    // A holder that is starting (not serving yet) or exiting is waited for.
    let opened = open_or_connect(
        dir,
        cli.brokers,
        kql_runtime::Settings::default(),
        OPEN_WAIT,
    )
    .map_err(|e| cannot_open(dir, e))?;
    match opened {
        Opened::Owner(cluster) => {
            report_damage(&cluster);
            Ok(OpenedLog::Owner(cluster))
        }
        Opened::Client(client) => {
            let remote = crate::exec::log::RemoteLog::with_client(dir, client)
                .map_err(|e| cannot_open(dir, e))?;
            eprintln!(
                "kql: another kql process holds {}; working through it",
                dir.display()
            );
            Ok(OpenedLog::Guest(std::sync::Arc::new(remote)))
        }
    }
}

/// A data directory this process opened: served to other processes, its damage reported.
fn owned(
    dir: &std::path::Path,
    opened: Result<kql_runtime::Cluster, kql_runtime::LogError>,
) -> Result<kql_runtime::Cluster, Failure> {
    let cluster = opened
        .and_then(|c| c.serve_local().map(|()| c))
        .map_err(|e| cannot_open(dir, e))?;
    report_damage(&cluster);
    Ok(cluster)
}

/// Damage found and repaired on open is never silent (also in DESCRIBE TOPIC ... EXTENDED).
fn report_damage(cluster: &kql_runtime::Cluster) {
    for r in cluster.storage_reports() {
        eprintln!("warning: {r}");
    }
}

/// How long `kql run` and the shell wait for another process to let go of a data directory.
const OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a data directory could not be opened, with what to do about it.
pub fn cannot_open(dir: &std::path::Path, e: kql_runtime::LogError) -> Failure {
    let help = match e {
        kql_runtime::LogError::DirectoryInUse(_) => {
            "another kql process holds this directory: stop it first or use another --data-dir (a shell, `kql run`, `kql produce` and `kql topics` work through the process that holds it)"
        }
        _ => "it may not be a kql data directory",
    };
    Failure::plain(
        Diagnostic::new(
            crate::diagnostic::Code::TopicError,
            format!("cannot open the log in {}: {e}", dir.display()),
        )
        .help(help),
    )
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `kql <command> --help` explains every option and argument it lists.
    #[test]
    fn every_option_of_every_command_has_help_text() {
        let root = super::Cli::command();
        let mut missing = Vec::new();
        let commands = std::iter::once(&root).chain(root.get_subcommands());
        for command in commands {
            for arg in command.get_arguments() {
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("kql {} {}", command.get_name(), arg.get_id()));
                }
            }
            assert!(
                command.get_about().is_some(),
                "kql {} has no summary",
                command.get_name()
            );
        }
        assert!(missing.is_empty(), "options without help: {missing:?}");
    }
}
