//! `riposte export`.

use std::path::PathBuf;

use riposte::db;
use riposte::state::AppState;

/// `riposte export`: the same export as `GET /v1/actions/export`, with progress on stderr.
pub async fn export(url: &str, query: &str, output: Option<PathBuf>) -> Result<u64, String> {
    use std::io::Write;
    let pool = db::pool(url, 2)?;
    let state = AppState::new(pool, url).await.map_err(|e| e.to_string())?;
    let mut conn = state.conn().await.map_err(|e| e.to_string())?;
    let (format, filter, sort) =
        riposte::controllers::actions::export_query(&mut conn, &state.types, query)
            .await
            .map_err(|e| format!("--query or --format: {e}"))?;
    let mut export = riposte::export::Export::begin(
        conn,
        filter,
        sort,
        format,
        riposte::state::duration(riposte::export::DEFAULT_IDLE_TIMEOUT),
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
    while let Some(chunk) = export.next().await.map_err(|e| e.to_string())? {
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
    Ok(export.written)
}
