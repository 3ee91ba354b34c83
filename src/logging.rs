//! The log: env_logger's text lines (the default) or one JSON object per line
//! (`RIPOSTE_LOG_FORMAT=json`), for log collectors that index fields. Filtered by
//! `RIPOSTE_LOG` either way.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use indicatif::{ProgressBar, WeakProgressBar};

use serde::Serialize;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("`{s}`: the log format is `text` or `json`")),
        }
    }
}

/// The access log's target: actix's own, set explicitly so that filters such as
/// `RIPOSTE_LOG=actix_web=warn` keep working and the JSON writer can recognise its lines.
pub const ACCESS_TARGET: &str = "actix_web::middleware::logger";

/// One line per answered request, with the prefix of the key it presented (`-` for none,
/// `malformed-key` for an Authorization header holding no well-formed key),
/// so that what a key read or attempted can be found. The request id comes last: it is one
/// token (the `request_id` middleware admits only visible ASCII, so no spaces), which is how
/// the JSON writer finds it (`request_id_of`).
pub const ACCESS_FORMAT: &str = "%a \"%{request_line}xi\" %s %b %Dms %{key}xi %{request_id}xi";

/// The label of the key's prefix in `ACCESS_FORMAT`.
pub const KEY_LABEL: &str = "key";

/// The label of the request id in `ACCESS_FORMAT`.
pub const REQUEST_ID_LABEL: &str = "request_id";

/// The label of the request line in `ACCESS_FORMAT` (actix's `%r`, with API keys hidden).
pub const REQUEST_LINE_LABEL: &str = "request_line";

/// `text` with every API key in it (`rsk_` and what follows, in any case and with the `_`
/// percent-encoded or not) cut to its prefix: a key sent in a URL (`?api_key=rsk_...`) is
/// refused, but the request line would still have written the secret into the log.
pub fn hide_keys(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(found) = lower[from..].find("rsk") {
        let at = from + found;
        let after = at + 3;
        // A key starts a word (`krasnoyarsk_prod123456` is no key), or follows a
        // percent-escape (`%3Drsk_...`).
        let escaped = lower.as_bytes()[..at].rchunks(3).next().is_some_and(|b| {
            b.len() == 3 && b[0] == b'%' && b[1..].iter().all(u8::is_ascii_hexdigit)
        });
        let starts_word = escaped
            || !lower[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        let separator = if !starts_word {
            out.push_str(&text[from..after]);
            from = after;
            continue;
        } else if lower[after..].starts_with('_') {
            1
        } else if lower[after..].starts_with("%5f") {
            3
        } else {
            out.push_str(&text[from..after]);
            from = after;
            continue;
        };
        let body = after + separator;
        let end = lower[body..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(text.len(), |n| body + n);
        // The printed prefix (`riposte keys list`) names the key without giving it away.
        let shown = crate::auth::DISPLAY_PREFIX_LEN - crate::auth::KEY_PREFIX.len();
        out.push_str(&text[from..body]);
        out.push_str(&text[body..end.min(body + shown)]);
        if end > body + shown {
            out.push('…');
        }
        from = end;
    }
    out.push_str(&text[from..]);
    out
}

/// How long a log line may wait before it is written to stderr.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Lines waiting beyond this many bytes are written at once.
const FLUSH_AT: usize = 64 * 1024;

/// Lines not yet written. One write(2) per line (env_logger's way with stderr) cost a tenth
/// of the server's reads a second under load; here they leave together, at most
/// `FLUSH_EVERY` late, like nginx's `access_log ... flush=`. A SIGKILL loses that much.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Held while a batch is written, so that batches leave in order; taken before `PENDING`,
/// which loggers then wait on only while a batch is swapped out, never during the write.
static WRITING: Mutex<()> = Mutex::new(());

struct Sink;

impl Write for Sink {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending.extend_from_slice(line);
            pending.len() >= FLUSH_AT
        };
        if full {
            flush();
        }
        Ok(line.len())
    }

    /// env_logger flushes after every line: that is what the buffer is here to avoid.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes the lines still waiting; call before the process exits.
pub fn flush() {
    let _writing = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let batch = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    if !batch.is_empty() {
        write_out(&batch);
    }
}

/// The progress bar on the terminal, if one is drawn: lines are written above it rather than
/// through it.
static BAR: Mutex<Option<WeakProgressBar>> = Mutex::new(None);

/// The format chosen at `init`, for `say`.
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Log lines and reports go above `bar` while it lives (they used to cross it).
pub fn above(bar: &ProgressBar) {
    *BAR.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.downgrade());
}

fn write_out(bytes: &[u8]) {
    let bar = BAR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(WeakProgressBar::upgrade);
    // Nowhere to report a failure to write the log.
    let write = || {
        let _ = std::io::stderr().lock().write_all(bytes);
    };
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// What a command reports to the person or program that ran it (a summary, a rejected
/// line): on stderr whatever `RIPOSTE_LOG` lets through, after the log lines before it, and
/// as a JSON line like theirs under `--log-format json`.
pub fn say(message: &str) {
    flush();
    let mut line = Vec::with_capacity(message.len() + 96);
    if FORMAT.get() == Some(&LogFormat::Json) {
        let entry = Line {
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            level: "INFO",
            target: "riposte::report",
            request_id: None,
            message,
        };
        serde_json::to_writer(&mut line, &entry).expect("a line serializes");
    } else {
        line.extend_from_slice(message.as_bytes());
    }
    line.push(b'\n');
    let _writing = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    write_out(&line);
}

/// Installs the process's logger, and the thread that writes its lines out.
pub fn init(format: LogFormat) {
    let _ = FORMAT.set(format);
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::new().filter_or("RIPOSTE_LOG", "info"));
    builder.target(env_logger::Target::Pipe(Box::new(Sink)));
    std::thread::spawn(|| loop {
        std::thread::sleep(FLUSH_EVERY);
        flush();
    });
    // What was logged before a panic comes before its message.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        flush();
        report(info);
    }));
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let message = record.args().to_string();
            let line = Line {
                timestamp: buf.timestamp_millis().to_string(),
                level: record.level().as_str(),
                target: record.target(),
                request_id: (record.target() == ACCESS_TARGET)
                    .then(|| request_id_of(&message))
                    .flatten(),
                message: &message,
            };
            serde_json::to_writer(&mut *buf, &line)?;
            writeln!(buf)
        });
    }
    builder.init();
}

#[derive(Serialize)]
struct Line<'a> {
    timestamp: String,
    level: &'static str,
    target: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    message: &'a str,
}

/// The request id of an access-log line (`ACCESS_FORMAT`), when it has one.
fn request_id_of(message: &str) -> Option<&str> {
    message
        .rsplit(' ')
        .next()
        .filter(|id| !id.is_empty() && *id != "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_id_is_the_access_lines_last_token() {
        let line = "127.0.0.1 \"GET /v1/actors?kind=state HTTP/1.1\" 200 512 1.2ms req-42";
        assert_eq!(request_id_of(line), Some("req-42"));
        assert_eq!(
            request_id_of("127.0.0.1 \"GET / HTTP/1.1\" 404 0 0.1ms -"),
            None
        );
    }

    #[test]
    fn keys_in_request_lines_are_cut_to_their_prefix() {
        let key = "rsk_4fQ2xk9PzLm3hT8vQn2WcR5yB7dK1sJ6uE0aG4iX9oV1o79OB";
        assert_eq!(
            hide_keys(&format!("GET /v1/actions?api_key={key}&x=1 HTTP/1.1")),
            "GET /v1/actions?api_key=rsk_4fQ2xk9P…&x=1 HTTP/1.1"
        );
        assert_eq!(
            hide_keys(&format!("{key}/{key}")),
            "rsk_4fQ2xk9P…/rsk_4fQ2xk9P…"
        );
        assert_eq!(hide_keys("GET /rsk_ab HTTP/1.1"), "GET /rsk_ab HTTP/1.1");
        // Only where a key can start: a word's end is no key, an escape's is.
        assert_eq!(
            hide_keys("krasnoyarsk_prod123456789"),
            "krasnoyarsk_prod123456789"
        );
        assert_eq!(hide_keys(&format!("?q=a%3D{key}")), "?q=a%3Drsk_4fQ2xk9P…");
        // Percent-encoded or in another case, it is the same key.
        assert_eq!(
            hide_keys(&format!("?k={}", key.replacen("rsk_", "rsk%5F", 1))),
            "?k=rsk%5F4fQ2xk9P…"
        );
        assert_eq!(
            hide_keys(&format!("?k={}", key.replacen("rsk_", "RSK%5f", 1))),
            "?k=RSK%5f4fQ2xk9P…"
        );
        assert_eq!(hide_keys("frisky tasks"), "frisky tasks");
        assert_eq!(
            hide_keys("GET /v1/actors HTTP/1.1"),
            "GET /v1/actors HTTP/1.1"
        );
    }

    #[test]
    fn formats_parse_in_any_case() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
