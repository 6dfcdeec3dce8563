//! Turns SIGINT (Ctrl-C) and SIGTERM (systemd's stop) into messages on a channel, so the run
//! loop can stop gently on the first and quit at once on the second. Owns no other state.

use tokio::sync::mpsc;

/// Starts listening for SIGINT and SIGTERM; each one arrives as a `()` on the returned channel.
///
/// # Errors
/// Fails when the signal handlers cannot be installed.
pub fn signals() -> std::io::Result<mpsc::Receiver<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                got = int.recv() => if got.is_none() { break },
                got = term.recv() => if got.is_none() { break },
            }
            if tx.send(()).await.is_err() {
                break;
            }
        }
    });
    Ok(rx)
}
