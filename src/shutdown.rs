//! Turns SIGINT (Ctrl-C), SIGTERM (systemd's stop) and SIGHUP (a closed terminal, or
//! `systemctl reload`) into messages on a channel, so the room can stop gently on the first,
//! quit at once on a second, and reload or stop on a hang-up as its mode says. Owns no other
//! state.

use tokio::sync::mpsc;

/// A signal that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT or SIGTERM: stop.
    Stop,
    /// SIGHUP.
    HangUp,
}

/// Starts listening for SIGINT, SIGTERM and SIGHUP; each one arrives on the channel.
///
/// # Errors
/// Fails when the signal handlers cannot be installed.
pub fn signals() -> std::io::Result<mpsc::Receiver<Signal>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            let got = tokio::select! {
                got = int.recv() => got.map(|()| Signal::Stop),
                got = term.recv() => got.map(|()| Signal::Stop),
                got = hup.recv() => got.map(|()| Signal::HangUp),
            };
            let Some(signal) = got else { break };
            if tx.send(signal).await.is_err() {
                break;
            }
        }
    });
    Ok(rx)
}
