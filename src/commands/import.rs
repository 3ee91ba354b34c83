//! `riposte import`: the import with a progress bar, its report, and a file readable twice.

use riposte::db;
use riposte::logging::say;
use riposte::state::AppState;

/// `riposte import`: the import of `POST /v1/imports`, with a progress bar on stderr and the
/// rejected lines printed.
pub async fn import(
    url: &str,
    file: &std::path::Path,
    format: riposte::import::Format,
    partial: bool,
) -> Result<riposte::import::Report, String> {
    use riposte::import::{self as imp, Job, Progress};
    use std::sync::atomic::Ordering;
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let copy = readable_twice(file)?;
    let file = copy.as_deref().unwrap_or(file);
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .len();
    let pool = db::pool(url, 1)?;
    let state = AppState::new(pool, url).await.map_err(|e| e.to_string())?;
    let job = Job {
        id: uuid::Uuid::now_v7(),
        format,
        partial,
        origin: riposte::models::import::ImportOrigin::Cli,
        file_name,
        api_key_id: None,
        request_id: None,
    };
    let mut conn = state.conn().await.map_err(|e| e.to_string())?;
    riposte::service::imports::record(&mut conn, &job, size)
        .await
        .map_err(|e| format!("cannot record the import job: {e}"))?;
    drop(conn);
    let progress = std::sync::Arc::new(Progress::default());
    let bar = riposte::generate::progress::bytes_bar(size);
    let watched = progress.clone();
    let ticker = {
        let bar = bar.clone();
        // Without a terminal (a log, a pipe) the bar is hidden: a line at each phase and
        // each tenth of the file read instead, as `generate` writes them.
        let mut lines_out = (!std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .then(|| PlainProgress::new(size));
        tokio::spawn(async move {
            loop {
                let bytes = watched.bytes.load(Ordering::Relaxed);
                let lines = watched.lines.load(Ordering::Relaxed);
                bar.set_position(bytes);
                bar.set_message(format!("{lines} lines, {}", watched.phase()));
                if let Some(out) = &mut lines_out {
                    out.update(watched.phase(), bytes, lines);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };
    // Ctrl-C or SIGTERM drops the import, and with it its connection: PostgreSQL rolls the
    // transaction back. The job then says so at once rather than when its heartbeat goes
    // stale, and the copy of standard input is removed.
    let result = tokio::select! {
        result = imp::run(url, state.types.clone(), &job, file, progress) => Ok(result),
        signal = super::interrupted() => Err(signal),
    };
    ticker.abort();
    bar.finish_and_clear();
    let result = match result {
        Ok(result) => result,
        Err(signal) => return Err(stopped(&state, &job, signal).await),
    };
    let report = result.map_err(|e| e.to_string())?;
    let unit = format.unit();
    for r in &report.rejections {
        for e in r
            .errors
            .iter()
            .cloned()
            .map(riposte::error::FieldError::without_keys)
        {
            // A fault of the whole line or record is said without its field (`line 2:
            // line: ...` said the line twice).
            match e.field == unit {
                true => say(&format!("{unit} {}: {}", r.line, e.message)),
                false => say(&format!("{unit} {}: {}: {}", r.line, e.field, e.message)),
            }
        }
    }
    if report.rejected as usize > report.rejections.len() {
        say(&format!(
            "... and {} more rejected {unit}(s)",
            report.rejected as usize - report.rejections.len()
        ));
    }
    let skipped: u64 = report.skipped.values().sum();
    say(&format!(
        "import {}: {} read, {} created, {} updated, {} unchanged, {} rejected, {} skipped, {} \
         actors created{}",
        job.id,
        report.read,
        report.created,
        report.updated,
        report.unchanged,
        report.rejected,
        skipped,
        report.actors_created,
        if report.stored {
            ""
        } else {
            "; nothing stored"
        }
    ));
    for (reason, n) in &report.skipped {
        match report.skipped_first.get(reason) {
            Some(first) => say(&format!("  skipped {n}: {reason} (first: {first})")),
            None => say(&format!("  skipped {n}: {reason}")),
        }
    }
    Ok(report)
}

/// The import reads its file twice (its actor pass, then its action pass). A regular file
/// can be: None. Standard input (`-`), a pipe or a FIFO cannot (a FIFO blocked the second
/// open for ever, a pipe read as empty): a temporary copy of what they give, removed when
/// it is dropped.
fn readable_twice(file: &std::path::Path) -> Result<Option<tempfile::TempPath>, String> {
    let stdin = file.as_os_str() == "-";
    if !stdin {
        let meta =
            std::fs::metadata(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        if meta.is_dir() {
            return Err(format!("{} is a directory, not a file", file.display()));
        }
        if meta.is_file() {
            return Ok(None);
        }
    }
    let copy = tempfile::Builder::new()
        .prefix(&riposte::service::imports::spool_prefix())
        .tempfile()
        .map_err(|e| format!("cannot make a temporary copy of {}: {e}", file.display()))?;
    let bar = riposte::generate::progress::bytes_spinner("copying the input first");
    let copied = {
        let mut writer = bar.wrap_write(std::io::BufWriter::new(copy.as_file()));
        if stdin {
            std::io::copy(&mut std::io::stdin().lock(), &mut writer)
        } else {
            std::fs::File::open(file).and_then(|mut f| std::io::copy(&mut f, &mut writer))
        }
        .and_then(|_| std::io::Write::flush(&mut writer))
    };
    bar.finish_and_clear();
    copied.map_err(|e| format!("cannot copy {} to a temporary file: {e}", file.display()))?;
    Ok(Some(copy.into_temp_path()))
}

/// The import's progress as plain lines, for a log: one per phase and per tenth of the
/// file read.
struct PlainProgress {
    size: u64,
    phase: &'static str,
    next_tenth: u64,
}

impl PlainProgress {
    fn new(size: u64) -> Self {
        PlainProgress {
            size: size.max(1),
            phase: "",
            next_tenth: 1,
        }
    }

    fn update(&mut self, phase: &'static str, bytes: u64, lines: u64) {
        let tenth = (bytes.min(self.size) * 10 / self.size).min(10);
        let reading = tenth >= self.next_tenth && phase != "done";
        if phase == self.phase && !reading {
            return;
        }
        if reading {
            self.next_tenth = tenth + 1;
        }
        self.phase = phase;
        riposte::logging::say(&format!(
            "import: {phase}; {} of {} read ({}%), {} lines",
            indicatif::HumanBytes(bytes),
            indicatif::HumanBytes(self.size),
            bytes.min(self.size) * 100 / self.size,
            riposte::generate::progress::thousands(lines)
        ));
    }
}

/// Marks the job of an import stopped by `signal` (`Ctrl-C`, `SIGTERM`) as failed; what to
/// say.
async fn stopped(state: &AppState, job: &riposte::import::Job, signal: &str) -> String {
    let why = format!("interrupted ({signal}) before it committed: nothing was stored");
    let mut conn = match state.conn().await {
        Ok(conn) => conn,
        Err(e) => {
            return format!(
                "import {}: {why}, but the job could not be marked: {e}",
                job.id
            )
        }
    };
    match riposte::service::imports::stopped(&mut conn, job.id, &why).await {
        Ok(true) => format!("import {}: {why}", job.id),
        Ok(false) => format!(
            "import {}: interrupted ({signal}) as it finished; it had committed (see GET \
             /v1/imports/{})",
            job.id, job.id
        ),
        Err(e) => format!(
            "import {}: interrupted ({signal}); nothing was stored, but the job could not be \
             marked failed: {e}",
            job.id
        ),
    }
}
