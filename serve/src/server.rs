//! Binding one listener per broker and accepting connections.

use std::net::SocketAddr;
use std::sync::Arc;

use kql_runtime::Cluster;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::limits::CONNECTIONS_MAX;
use crate::state::{Ctx, Shared};

/// Where the brokers listen: broker 1 on `listen`, broker `i` on the port `i - 1` above
/// it (with port 0, each broker gets a free port of its own).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
}

/// A running server; dropping it (or `stop`) closes the listeners and every connection.
pub struct Server {
    addrs: Vec<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds every broker's listener and starts accepting. Call inside a tokio runtime.
    pub async fn start(cluster: Cluster, config: ServeConfig) -> std::io::Result<Server> {
        let mut listeners = Vec::new();
        for i in 0..cluster.broker_count() {
            let mut addr = config.listen;
            if addr.port() != 0 {
                let port = u16::try_from(u32::from(addr.port()) + i).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("broker {} would listen past port 65535", i + 1),
                    )
                })?;
                addr.set_port(port);
            }
            let l = TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
            })?;
            listeners.push(l);
        }
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<Result<_, _>>()?;
        let shared = Arc::new(Shared::new(cluster, addrs.clone()));
        let connections = Arc::new(Semaphore::new(CONNECTIONS_MAX));
        let mut tasks = vec![tokio::spawn(crate::groups::expire_sessions(shared.clone()))];
        for (i, l) in listeners.into_iter().enumerate() {
            tasks.push(tokio::spawn(accept(
                l,
                shared.clone(),
                i as i32 + 1,
                connections.clone(),
            )));
        }
        Ok(Server { addrs, tasks })
    }

    /// The brokers' addresses, broker 1 (the bootstrap) first.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn stop(self) {}
}

impl Drop for Server {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept(l: TcpListener, shared: Arc<Shared>, broker_id: i32, slots: Arc<Semaphore>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = match l.accept().await {
            Ok(s) => s,
            // Out of file descriptors and the like: wait a little rather than spin.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let ctx = Ctx {
            local,
            shared: shared.clone(),
            broker_id,
            peer,
        };
        connections.spawn(async move {
            crate::connection::serve(stream, ctx).await;
            drop(slot);
        });
    }
}
