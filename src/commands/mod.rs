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
