//! One client connection: frames in, responses out, in request order (as Kafka requires).
//! Any error the client causes ends this connection only.

use tokio::io::BufWriter;
use tokio::net::TcpStream;

use crate::dispatch::{handle, Outcome};
use crate::frame::{read_frame, write_frame};
use crate::state::Ctx;

pub async fn serve(stream: TcpStream, ctx: Ctx) {
    let (mut r, w) = stream.into_split();
    let mut w = BufWriter::new(w);
    loop {
        let frame = match read_frame(&mut r, &ctx.shared.request_budget).await {
            Ok(f) => f,
            Err(end) => {
                log_end(&ctx, &end.to_string());
                return;
            }
        };
        match handle(&ctx, frame.body.clone()).await {
            Outcome::Respond(bytes) => {
                drop(frame);
                if let Err(e) = write_frame(&mut w, &bytes).await {
                    log_end(&ctx, &e.to_string());
                    return;
                }
            }
            Outcome::NoResponse => {}
            Outcome::Close(why) => {
                log_end(&ctx, &why);
                return;
            }
        }
    }
}

fn log_end(ctx: &Ctx, why: &str) {
    if std::env::var_os("KQL_SERVE_DEBUG").is_some() {
        eprintln!("kql serve: connection from {} ended: {why}", ctx.peer);
    }
}
