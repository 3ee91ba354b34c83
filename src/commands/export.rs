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
    let pool = db::pool(url, 2)?;
    let state = AppState::new(pool, url).await.map_err(|e| e.to_string())?;
    let mut conn = state.conn().await.map_err(|e| e.to_string())?;
    let request = riposte::controllers::actions::export_query(&mut conn, &state.types, query)
        .await
        .map_err(|e| format!("--query, --format, --include-actors or --include-history: {e}"))?;
    let mut export = riposte::export::Export::begin(
        conn,
        request,
        // PostgreSQL ends the snapshot after twice this idle.
        stall_timeout / 2,
    )
    .await
    .map_err(|e| e.to_string())?;
    let (target, file) = target(output.as_deref())?;
    let (chunks, taken) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let writer = std::thread::spawn(move || write_out(target, taken));
    let progress = riposte::generate::progress::counter("exporting");
    // Since when the snapshot is idle: writing what the last batch read.
    let mut idle_since = Instant::now();
    // Ctrl-C or SIGTERM ends the export here: the file being written beside `--output` is
    // removed (it was left behind, as large as the export had grown).
    let mut stop = std::pin::pin!(super::interrupted());
    loop {
        let next = tokio::select! {
            next = export.next() => next,
            signal = &mut stop => return Err(interrupted(export.written, signal, output.as_deref())),
        };
        let chunk = match next {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // Said as what happened: it read "the database is restarting or unreachable".
            Err(_) if idle_since.elapsed() >= stall_timeout => {
                return Err(stalled(export.written, idle_since, stall_timeout))
            }
            Err(e) => return Err(e.to_string()),
        };
        idle_since = Instant::now();
        // The writer holds one chunk while it writes another: a reader that takes nothing
        // stops the export here, after the stall it is allowed.
        let sent = tokio::select! {
            sent = tokio::time::timeout(stall_timeout, chunks.send(chunk)) => sent,
            signal = &mut stop => return Err(interrupted(export.written, signal, output.as_deref())),
        };
        match sent {
            Ok(Ok(())) => {}
            // The writer gave up: its error says why.
            Ok(Err(_)) => break,
            Err(_) => return Err(stalled(export.written, idle_since, stall_timeout)),
        }
        progress.set_position(export.written);
    }
    drop(chunks);
    let written = writer
        .join()
        .map_err(|_| "the export's writer failed".to_string())?;
    written.map_err(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe => format!(
            "the export stopped after {} action(s): what reads its output closed it",
            export.written
        ),
        _ => format!("cannot write the export: {e}"),
    })?;
    if let Some((file, path)) = file {
        file.persist(&path)
            .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    }
    progress.finish_and_clear();
    Ok(Exported {
        actions: export.written,
        actors: export.actors_written,
        feed_cursor: export.feed_cursor,
    })
}

fn interrupted(written: u64, signal: &str, output: Option<&std::path::Path>) -> String {
    let kept = match output {
        Some(path) => format!("; {} was left as it was", path.display()),
        None => String::new(),
    };
    format!("the export stopped after {written} action(s): interrupted ({signal}){kept}")
}

fn stalled(written: u64, idle_since: Instant, allowed: Duration) -> String {
    format!(
        "the export stopped after {written} action(s): what reads its output took no data for \
         {} s, more than --stall-timeout ({} s), and the export's snapshot was ended; write \
         to a file with --output, or allow a longer stall",
        idle_since.elapsed().as_secs(),
        allowed.as_secs()
    )
}

/// Where the export's bytes go.
enum Target {
    Stdout,
    /// A regular file (new or not): written beside its path and put in place when whole, so
    /// an export that fails (a full disk, Ctrl-C) leaves no cut file, and an existing one as
    /// it was.
    Beside(std::fs::File),
    /// A device, a FIFO: written in place. Renamed over, /dev/null became a regular file.
    Special(PathBuf),
}

/// Where to write, and for a regular file the file being written beside it with the path it
/// is put in place at.
fn target(
    output: Option<&std::path::Path>,
) -> Result<(Target, Option<(tempfile::NamedTempFile, PathBuf)>), String> {
    let Some(path) = output else {
        return Ok((Target::Stdout, None));
    };
    let cannot = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    // Followed through symbolic links: a link to a file stays a link, to the new file.
    let path = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Err(format!("{} is a directory", path.display())),
        Ok(m) if !m.is_file() => return Ok((Target::Special(path.to_path_buf()), None)),
        Ok(_) => std::fs::canonicalize(path).map_err(cannot)?,
        Err(_) => path.to_path_buf(),
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let file = tempfile::Builder::new()
        .prefix(".riposte-export-")
        // As a file created in place would be (umask applies).
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(cannot)?;
    let handle = file.as_file().try_clone().map_err(cannot)?;
    Ok((Target::Beside(handle), Some((file, path))))
}

/// Writes the chunks as they come, on a thread of its own: a write to a pipe nobody reads
/// blocks, and the export must still notice the stall.
fn write_out(
    target: Target,
    mut chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    use std::io::Write;
    let out: Box<dyn Write> = match target {
        Target::Stdout => Box::new(std::io::stdout().lock()),
        Target::Beside(file) => Box::new(file),
        // Opening a FIFO waits for its reader, as `cat > fifo` does.
        Target::Special(path) => Box::new(
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?,
        ),
    };
    let mut out = std::io::BufWriter::new(out);
    while let Some(chunk) = chunks.blocking_recv() {
        out.write_all(&chunk)?;
    }
    out.flush()
}
