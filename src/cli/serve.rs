//! `kql serve [FILE]`: the embedded cluster behind the Kafka wire protocol, one port per
//! broker, while the file's persistent queries keep running over what clients produce.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use kql_serve::{ServeConfig, Server};

use super::print::Printer;
use super::{read_file, Cli, Failure};
use crate::diagnostic::{Code, Diagnostic};
use crate::exec::Session;

pub fn run(
    cli: &Cli,
    file: Option<&Path>,
    data_dir: Option<&Path>,
    listen: SocketAddr,
    sandbox: bool,
) -> Result<(), Failure> {
    let text = file.map(read_file).transpose()?;
    let cluster = super::open_cluster(cli, data_dir)?;
    if !listen.ip().is_loopback() {
        eprintln!(
            "warning: kql serve listens on {listen}: the Kafka protocol it speaks has no authentication and no \
             encryption, so anyone who can reach this address can read, write and delete every topic"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("kql-serve")
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::plain(Diagnostic::new(
                Code::Internal,
                format!("cannot start the server's threads: {e}"),
            ))
        })?;
    let server = runtime
        .block_on(Server::start(cluster.clone(), ServeConfig { listen }))
        .map_err(|e| {
            Failure::plain(
                Diagnostic::new(Code::FileError, e.to_string())
                    .help("another program may listen there: choose other ports with --listen HOST:PORT (broker i takes PORT+i-1)"),
            )
        })?;
    for (i, addr) in server.addrs().iter().enumerate() {
        eprintln!(
            "kql serve: broker {} listening on {addr}{}",
            i + 1,
            if i == 0 { " (bootstrap)" } else { "" }
        );
    }
    let mut session = Session::new(cluster.clone());
    // Live from the start: the file's persistent queries wake at each append batch, as
    // under `kql run --follow`, and commit on the same interval.
    session.go_live(super::run::stop_on_ctrl_c(session.log())?);
    // A server is reachable by others, so its file's connectors and RUN SCRIPT stay inside the
    // file's folder unless the user lifts that with --no-sandbox.
    if let (Some(file), true) = (file, sandbox) {
        session.sandbox = Some(super::sandbox_of(file)?);
    }
    let stdout = std::io::stdout().lock();
    let mut printer = Printer::new(cli.format, std::io::BufWriter::new(stdout));
    session.restore(&mut printer).map_err(|d| Failure {
        diagnostics: vec![d],
        sources: session.sources.clone(),
    })?;
    if let (Some(file), Some(text)) = (file, text) {
        session
            .run_text(&file.display().to_string(), &text, &mut printer)
            .map_err(|diagnostics| Failure {
                diagnostics,
                sources: session.sources.clone(),
            })?;
    }
    eprintln!("kql serve: ready (Ctrl-C stops)");
    // The file's persistent queries follow what clients produce, until Ctrl-C.
    let result = session.follow();
    drop(server);
    runtime.shutdown_timeout(Duration::from_secs(1));
    let flushed = cluster
        .flush()
        .map_err(|e| Diagnostic::new(Code::TopicError, format!("cannot flush the log: {e}")));
    session.registry.leak_state_at_exit();
    result.and(flushed).map_err(|d| Failure {
        diagnostics: vec![d],
        sources: session.sources.clone(),
    })
}
