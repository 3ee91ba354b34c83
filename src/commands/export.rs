//! `riposte export`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use riposte::db;
use riposte::state::AppState;

/// What an export wrote, and where the feed goes on from.
pub struct Exported {
    pub actions: u64,
    pub actors: u64,
    pub feed_cursor: i64,
}

/// `riposte export`: the same export as `GET /v1/actions/export`, with progress on stderr.
pub async fn export(
    url: &str,
    query: &str,
    output: Option<PathBuf>,
    stall_timeout: Duration,
) -> Result<Exported, String> {
    use std::io::Write;
    let pool = db::pool(url, 2)?;
    let state = AppState::new(pool, url).await.map_err(|e| e.to_string())?;
    let mut conn = state.conn().await.map_err(|e| e.to_string())?;
    let request = riposte::controllers::actions::export_query(&mut conn, &state.types, query)
        .await
        .map_err(|e| format!("--query, --format or --include-actors: {e}"))?;
    let mut export = riposte::export::Export::begin(
        conn,
        request,
        // PostgreSQL ends the snapshot after twice this idle.
        stall_timeout / 2,
    )
    .await
    .map_err(|e| e.to_string())?;
    // A file is written beside its path and put in place when whole: an export that fails
    // (a full disk, Ctrl-C) leaves no cut file, and an existing one as it was.
    let mut file = match &output {
        Some(path) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => std::path::Path::new("."),
            };
            Some(
                tempfile::Builder::new()
                    .prefix(".riposte-export-")
                    // As a file created in place would be (umask applies).
                    .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                    .tempfile_in(dir)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
            )
        }
        None => None,
    };
    let mut out: Box<dyn Write> = match &mut file {
        Some(file) => Box::new(std::io::BufWriter::new(file.as_file_mut())),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let progress = riposte::generate::progress::counter("exporting");
    // Since when the snapshot is idle: writing what the last batch read.
    let mut idle_since = Instant::now();
    loop {
        let chunk = match export.next().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // Said as what happened: it read "the database is restarting or unreachable".
            Err(_) if idle_since.elapsed() >= stall_timeout => {
                return Err(format!(
                    "the export stopped after {} action(s): what reads its output took no \
                     data for {} s, and the export's snapshot was ended after {} s \
                     (--stall-timeout); write to a file with --output, or allow a longer \
                     stall",
                    export.written,
                    idle_since.elapsed().as_secs(),
                    stall_timeout.as_secs()
                ))
            }
            Err(e) => return Err(e.to_string()),
        };
        idle_since = Instant::now();
        out.write_all(&chunk)
            .map_err(|e| format!("cannot write the export: {e}"))?;
        progress.set_position(export.written);
    }
    out.flush()
        .map_err(|e| format!("cannot write the export: {e}"))?;
    drop(out);
    if let (Some(file), Some(path)) = (file, &output) {
        file.persist(path)
            .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    }
    progress.finish_and_clear();
    Ok(Exported {
        actions: export.written,
        actors: export.actors_written,
        feed_cursor: export.feed_cursor,
    })
}
