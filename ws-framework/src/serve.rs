//! Shortcuts for programs that run one service: [`serve`] and [`block_on`].

use crate::error::Result;
use crate::listener::Listener;
use crate::service::Service;
use std::future::Future;
use tokio::net::ToSocketAddrs;

/// Serves `S` (with a default shared state) on `addr` until Ctrl-C, then stops gracefully:
/// open connections get 1001 "going away" and their closing handshakes are awaited.
/// Prints the bound address.
pub async fn serve<S: Service>(addr: impl ToSocketAddrs) -> Result<()>
where
    S::State: Default,
{
    let listener = Listener::bind(addr).await?;
    listener.attach::<S>()?;
    println!("listening on ws://{}", listener.local_addr());
    run_until_ctrl_c(&listener).await
}

/// Runs `listener` until Ctrl-C, then stops it gracefully.
pub async fn run_until_ctrl_c(listener: &Listener) -> Result<()> {
    tokio::select! {
        done = listener.run() => done,
        _ = tokio::signal::ctrl_c() => {
            listener.graceful_stop().await;
            Ok(())
        }
    }
}

/// Runs `future` on a new tokio runtime: single-threaded for `Some(1)`, `n` worker threads for
/// `Some(n)`, one per core for `None`.
pub fn block_on<F: Future>(threads: Option<usize>, future: F) -> Result<F::Output> {
    let mut builder = match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n.max(1));
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    Ok(builder.enable_all().build()?.block_on(future))
}
