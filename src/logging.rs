//! The log: env_logger's text lines (the default) or one JSON object per line
//! (`RIPOSTE_LOG_FORMAT=json`), for log collectors that index fields. Filtered by
//! `RIPOSTE_LOG` either way.

use std::io::Write;

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

/// One line per answered request. The request id comes last: it is one token (the
/// `request_id` middleware admits only visible ASCII, so no spaces), which is how the JSON
/// writer finds it (`request_id_of`).
pub const ACCESS_FORMAT: &str = "%a \"%r\" %s %b %Dms %{request_id}xi";

/// The label of the request id in `ACCESS_FORMAT`.
pub const REQUEST_ID_LABEL: &str = "request_id";

/// Installs the process's logger.
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::new().filter_or("RIPOSTE_LOG", "info"));
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
    fn formats_parse_in_any_case() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
