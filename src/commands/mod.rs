//! The commands of `riposte` that are more than a call into the library: what they print
//! and how they fail. `main.rs` parses the command line and runs them.

pub mod export;
pub mod generate;
pub mod import;
pub mod keys;

/// Writes `text` to standard output whole, or says why it could not (a closed pipe, a full
/// disk): `print!` panicked there.
pub fn out(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

/// Resolves when the process is asked to stop (SIGINT, Ctrl-C, or SIGTERM, as a service
/// manager or `timeout` sends it), with the signal's name: a command then stops its work
/// and cleans up (a temporary file, a job left running) rather than dying with it. Never
/// resolves if the signals cannot be listened for.
pub async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => "Ctrl-C",
            _ = term.recv() => "SIGTERM",
        },
        _ => std::future::pending().await,
    }
}
