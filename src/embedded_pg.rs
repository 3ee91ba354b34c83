//! A private PostgreSQL cluster run as a child process, used when `DATABASE_URL` is not set
//! (by `riposte serve`, `riposte seed` and the test suite).
//!
//! The cluster listens only on a Unix socket inside its data directory, with socket
//! permissions 0700, so `trust` authentication admits nobody but this user (and root).
//! PostgreSQL refuses to run as root; when we are root the server runs as the `postgres`
//! system user (override with `RIPOSTE_PG_USER`) and the data directory is handed to it.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

const PORT: u16 = 5432;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "PostgreSQL server binaries not found (looked for initdb in {0}); install PostgreSQL \
         (e.g. `apt-get install postgresql`), set RIPOSTE_PG_BIN to the directory holding \
         `initdb` and `postgres`, or set DATABASE_URL to use a running server"
    )]
    BinariesNotFound(String),
    #[error(
        "running as root, PostgreSQL must run as an unprivileged user, but user `{0}` does not \
         exist; create it or set RIPOSTE_PG_USER to an existing unprivileged user"
    )]
    NoUnprivilegedUser(String),
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: io::Error },
    #[error(
        "the unprivileged user `{user}` cannot reach the data directory {path}: one of its \
         parent directories is not searchable by that user; choose a data directory under /tmp \
         or /var/lib with --data-dir, or set DATABASE_URL"
    )]
    DataDirNotReachable { user: String, path: PathBuf },
    #[error("{path} exists but is not a PostgreSQL data directory (no PG_VERSION); point --data-dir at an empty or riposte-created directory")]
    NotAPgDataDir { path: PathBuf },
    #[error(
        "socket path {0} is longer than the 107 bytes Unix sockets allow; use a shorter --data-dir"
    )]
    SocketPathTooLong(PathBuf),
    #[error("`{command}` failed ({status}); its output:\n{output}")]
    CommandFailed {
        command: String,
        status: String,
        output: String,
    },
    #[error("could not start `{command}`: {source}")]
    Spawn { command: String, source: io::Error },
    #[error(
        "{path} was made by PostgreSQL {made_by}, but the binaries in {bin} are PostgreSQL \
         {have}: set RIPOSTE_PG_BIN to PostgreSQL {made_by}'s bin directory (Debian: \
         /usr/lib/postgresql/{made_by}/bin, package postgresql-{made_by}), or upgrade the \
         directory with pg_upgrade"
    )]
    WrongMajor {
        path: PathBuf,
        made_by: String,
        bin: PathBuf,
        have: String,
    },
    #[error("PostgreSQL {why}; see its log at {log}{tail}")]
    NotReady {
        why: String,
        log: PathBuf,
        tail: String,
    },
}

struct RunAs {
    uid: u32,
    gid: u32,
    name: String,
}

/// A running private cluster. Dropping it stops the server (fast shutdown) and waits for it.
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    /// Shared with the keeper thread, which restarts the server if it dies.
    watch: PgWatch,
    /// None when we attached to a server another riposte process runs in the same data
    /// directory: that one is not ours to stop.
    exited: Option<mpsc::Receiver<()>>,
    stopped: bool,
    /// This process's share of the data directory, given up once the server is stopped.
    users: Option<Users>,
}

/// A file beside the data directory (`.<name>.initdb-unfinished`) while `initdb` runs in it:
/// an initdb cut short (riposte killed while setting up) leaves a directory with a
/// `PG_VERSION` and no `postgres` database, which failed every start after ("database
/// \"postgres\" does not exist"). Found on a later start, the directory is set up again.
/// Beside, not inside: initdb takes only an empty directory. Where the parent cannot be
/// written, there is no marker and no such repair.
struct Unfinished(PathBuf);

impl Unfinished {
    fn of(data_dir: &Path) -> Option<Unfinished> {
        let name = data_dir.file_name()?.to_string_lossy();
        let parent = data_dir.parent()?;
        Some(Unfinished(
            parent.join(format!(".{name}.initdb-unfinished")),
        ))
    }

    fn left(&self) -> bool {
        self.0.exists()
    }

    fn mark(&self) {
        if let Err(e) = fs::write(&self.0, std::process::id().to_string()) {
            log::debug!("cannot write {}: {e}", self.0.display());
        }
    }

    fn clear(&self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Every riposte process using the cluster of a data directory holds a shared `flock` on
/// the directory while it does, taken before it looks for a running server; the process that
/// started the server stops it under the exclusive lock. So a process that has found the
/// server keeps it up until it is done (it could find it ready, then connect just after the
/// owner had counted sessions and sent the stop: "the database system is shutting down"), and
/// one that arrives while it stops waits, then starts its own. The kernel drops the lock of a
/// process that dies.
struct Users(fs::File);

impl Users {
    /// Joins the users of `data_dir`, creating the directory if it is missing. An empty one is
    /// taken exclusively, to be initialised and started before anyone else looks at it (two
    /// commands started together on a new directory both ran `initdb` into it); `share` then
    /// lets the others in.
    fn join(data_dir: &Path) -> Result<Users, EmbeddedPgError> {
        let dir_err = |source| EmbeddedPgError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        };
        // An unfinished cluster (`Unfinished`) is set up again from empty, so it is taken
        // exclusively as an empty one is.
        let empty = || -> Result<bool, EmbeddedPgError> {
            Ok(fs::read_dir(data_dir).map_err(dir_err)?.next().is_none()
                || Unfinished::of(data_dir).is_some_and(|u| u.left()))
        };
        if !data_dir.exists() {
            fs::create_dir_all(data_dir).map_err(dir_err)?;
            fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700)).map_err(dir_err)?;
        }
        let users = Users(fs::File::open(data_dir).map_err(dir_err)?);
        loop {
            let was_empty = empty()?;
            if was_empty {
                match users.0.try_lock() {
                    Ok(()) if empty()? => return Ok(users),
                    Ok(()) | Err(fs::TryLockError::WouldBlock) => {}
                    Err(fs::TryLockError::Error(e)) => return Err(dir_err(e)),
                }
            }
            users.share(data_dir)?;
            // Still empty: the process initialising it failed, and let go.
            if !was_empty || !empty()? {
                return Ok(users);
            }
        }
    }

    /// Holds a shared lock (from none or the exclusive one), waiting while another process
    /// initialises, starts or stops the server.
    fn share(&self, data_dir: &Path) -> Result<(), EmbeddedPgError> {
        let dir_err = |source| EmbeddedPgError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        };
        match self.0.try_lock_shared() {
            Ok(()) => Ok(()),
            Err(fs::TryLockError::WouldBlock) => {
                log::info!(
                    "another riposte process is setting up or stopping PostgreSQL in {}; \
                     waiting for it",
                    data_dir.display()
                );
                self.0.lock_shared().map_err(dir_err)
            }
            Err(fs::TryLockError::Error(e)) => Err(dir_err(e)),
        }
    }

    /// Whether every other process gave the directory up within `wait` (this one's share
    /// then becomes the exclusive lock).
    fn alone_within(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            match self.0.try_lock() {
                Ok(()) => return true,
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(50))
                }
                Err(fs::TryLockError::WouldBlock) => return false,
                // A file system without locks: nobody can be waited for.
                Err(fs::TryLockError::Error(_)) => return true,
            }
        }
    }
}

/// How long a process using another riposte's server waits for it to come back (its keeper
/// restarts it within about a minute) before giving up: `RIPOSTE_PG_FOLLOW_GRACE`, 90 s by
/// default.
fn follow_grace() -> Duration {
    const DEFAULT: Duration = Duration::from_secs(90);
    match std::env::var("RIPOSTE_PG_FOLLOW_GRACE") {
        Err(_) => DEFAULT,
        Ok(v) => crate::state::parse_duration(&v).unwrap_or_else(|e| {
            log::warn!("RIPOSTE_PG_FOLLOW_GRACE=`{v}`: {e}; using 90s");
            DEFAULT
        }),
    }
}

/// Follows a server another riposte process runs: down while its `postmaster.pid` shows
/// none ready (`/healthz` then says so), `Failed` when none came back within `follow_grace`,
/// so that `serve` exits for its process manager to start it again, its own cluster then.
/// (It stayed `Up` for ever: a second `serve` answered 503 to everything and 200 to
/// `/healthz` once the first had stopped.)
fn follow(data_dir: PathBuf, watch: PgWatch) {
    let grace = follow_grace();
    let spawned = thread::Builder::new()
        .name("postgres-follower".into())
        .spawn(move || {
            let mut gone_since: Option<Instant> = None;
            loop {
                thread::sleep(Duration::from_secs(1));
                if matches!(watch.state(), PgState::Stopped | PgState::Failed) {
                    return;
                }
                match running_server(&data_dir) {
                    Some(pid) => {
                        watch.0.pid.store(pid, Ordering::SeqCst);
                        if gone_since.take().is_some() {
                            log::info!("PostgreSQL in {} is back (pid {pid})", data_dir.display());
                        }
                        watch.set(PgState::Up);
                    }
                    None => {
                        let since = *gone_since.get_or_insert_with(|| {
                            log::error!(
                                "PostgreSQL in {}, started by another riposte process, is not \
                                 running; waiting up to {} s for it to come back",
                                data_dir.display(),
                                grace.as_secs_f64()
                            );
                            Instant::now()
                        });
                        if since.elapsed() < grace {
                            watch.set(PgState::Away);
                        } else {
                            log::error!(
                                "PostgreSQL in {} did not come back; this process cannot \
                                 restart a server it did not start: giving up (start riposte \
                                 again, and it starts its own)",
                                data_dir.display()
                            );
                            watch.set(PgState::Failed);
                            return;
                        }
                    }
                }
            }
        });
    if let Err(e) = spawned {
        log::warn!("cannot follow the PostgreSQL another process runs: {e}");
    }
}

/// Consecutive failed restarts after which the keeper gives up (backoff 1, 2, 4, 8, 16, 30 s:
/// about a minute), so that a process manager can take over.
const MAX_RESTARTS: u32 = 6;
/// A server that ran this long before dying starts its restarts from the first backoff.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// What the keeper thread knows of the server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgState {
    /// Started by us and running (or attached to another riposte's server).
    Up,
    /// It died unexpectedly; being restarted with backoff.
    Restarting,
    /// Restarting failed `MAX_RESTARTS` times in a row; riposte should exit.
    Failed,
    /// Stopped on purpose.
    Stopped,
    /// Another riposte process's server, followed, is not running: waiting for it to come
    /// back (`follow`). It may have stopped on purpose; it is not ours to restart.
    Away,
}

#[derive(Debug)]
struct Supervision {
    pid: AtomicI32,
    state: AtomicU8,
    stopping: AtomicBool,
}

/// A cheap handle on the supervised server's state, for health checks.
#[derive(Debug, Clone)]
pub struct PgWatch(Arc<Supervision>);

impl PgWatch {
    fn new(pid: i32) -> Self {
        PgWatch(Arc::new(Supervision {
            pid: AtomicI32::new(pid),
            state: AtomicU8::new(PgState::Up as u8),
            stopping: AtomicBool::new(false),
        }))
    }

    pub fn state(&self) -> PgState {
        match self.0.state.load(Ordering::SeqCst) {
            0 => PgState::Up,
            1 => PgState::Restarting,
            2 => PgState::Failed,
            4 => PgState::Away,
            _ => PgState::Stopped,
        }
    }

    fn set(&self, state: PgState) {
        self.0.state.store(state as u8, Ordering::SeqCst);
    }

    pub fn pid(&self) -> i32 {
        self.0.pid.load(Ordering::SeqCst)
    }
}

impl EmbeddedPostgres {
    /// Starts a cluster in `data_dir`, creating it with `initdb` first if the directory is
    /// absent or empty. `ephemeral` trades durability for speed (fsync off): for tests only.
    pub fn start(data_dir: &Path, ephemeral: bool) -> Result<Self, EmbeddedPgError> {
        // Commands started together on a stopped cluster race to start it: a loser finds the
        // winner's lock file, and once the winner is gone (a short command) starts it again.
        let data_dir = absolute(data_dir)?;
        let users = Users::join(&data_dir)?;
        let mut tries = 0;
        loop {
            match Self::start_once(&data_dir, ephemeral) {
                Ok(mut pg) => {
                    users.share(&data_dir)?;
                    pg.users = Some(users);
                    return Ok(pg);
                }
                Err(EmbeddedPgError::NotReady { tail, .. })
                    if tries < 5
                        // "already exists", or "is empty" while the winner writes it.
                        && tail.contains("lock file \"postmaster.pid\"") =>
                {
                    tries += 1;
                    thread::sleep(Duration::from_millis(200));
                }
                other => return other,
            }
        }
    }

    fn start_once(data_dir: &Path, ephemeral: bool) -> Result<Self, EmbeddedPgError> {
        let data_dir = data_dir.to_path_buf();
        let dir_err = |source| EmbeddedPgError::DataDir {
            path: data_dir.clone(),
            source,
        };
        let unfinished = Unfinished::of(&data_dir);
        let fresh = match fs::read_dir(&data_dir) {
            Ok(mut entries) => entries.next().is_none(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => return Err(dir_err(e)),
        };
        let redo = !fresh && unfinished.as_ref().is_some_and(Unfinished::left);
        // A directory to be made again says nothing of its version: an initdb cut short may
        // have left PG_VERSION empty (it was read as "made by PostgreSQL ''" and refused).
        let made_by = fs::read_to_string(data_dir.join("PG_VERSION"))
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !redo && !v.is_empty());
        let bin = find_bin_dir(made_by.as_deref())?;
        if let Some(made_by) = &made_by {
            same_major(&bin, made_by, &data_dir)?;
        }
        let run_as = run_as_user()?;
        let socket = data_dir.join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > 107 {
            return Err(EmbeddedPgError::SocketPathTooLong(socket));
        }
        if redo {
            log::warn!(
                "the PostgreSQL cluster in {} was left unfinished (its initdb was cut short); \
                 initialising it again",
                data_dir.display()
            );
            for entry in fs::read_dir(&data_dir).map_err(dir_err)? {
                let path = entry.map_err(dir_err)?.path();
                let removed = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                removed.map_err(dir_err)?;
            }
        }
        if fresh || redo {
            fs::create_dir_all(&data_dir).map_err(dir_err)?;
            fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o700)).map_err(dir_err)?;
            if let Some(user) = &run_as {
                chown(&data_dir, user).map_err(dir_err)?;
                check_reachable(&data_dir, user)?;
            }
            log::info!(
                "initialising a PostgreSQL cluster in {}",
                data_dir.display()
            );
            let mut initdb = Command::new(bin.join("initdb"));
            initdb
                .arg("-D")
                .arg(&data_dir)
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ])
                .arg("--no-instructions");
            if ephemeral {
                initdb.arg("--no-sync");
            }
            if let Some(unfinished) = &unfinished {
                unfinished.mark();
            }
            // initdb dies with riposte: finishing on its own, killed with its container
            // later, it left a directory that never started.
            // SAFETY: the closure runs in the forked child before exec, and only makes one
            // async-signal-safe system call (prctl); it allocates nothing and takes no lock.
            unsafe {
                initdb.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)
                });
            }
            run_checked(initdb, run_as.as_ref())?;
            if let Some(unfinished) = &unfinished {
                unfinished.clear();
            }
        } else if !data_dir.join("PG_VERSION").exists() {
            return Err(EmbeddedPgError::NotAPgDataDir { path: data_dir });
        } else if let Some(user) = &run_as {
            check_reachable(&data_dir, user)?;
        }
        if let Some(pid) = running_server(&data_dir) {
            log::info!(
                "PostgreSQL is already running in {} (pid {pid}), started by another riposte \
                 process; using it",
                data_dir.display()
            );
            return Ok(Self::attached(data_dir, pid));
        }

        // A server left behind by a killed riposte keeps its pid file; a stale one (no such
        // process) is removed by PostgreSQL itself, a live one makes `postgres` refuse to start
        // with a clear message in the log.
        let log_path = data_dir.join("postgres.log");
        let command = ServerCommand {
            bin: bin.join("postgres"),
            data_dir: data_dir.clone(),
            log_path: log_path.clone(),
            ephemeral,
            run_as,
        };
        let (pid_tx, pid_rx) = mpsc::channel();
        let (started_tx, started_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel();
        let (watch_tx, watch_rx) = mpsc::channel::<PgWatch>();
        // The server is spawned, and respawned, by a thread that lives exactly as long as it
        // is wanted: the kernel's parent-death signal is tied to the spawning thread.
        thread::Builder::new()
            .name("postgres-keeper".into())
            .spawn(move || match command.spawn() {
                Ok(mut child) => {
                    let pid = child.id() as i32;
                    let _ = pid_tx.send(Ok(pid));
                    // A server that never came up (a bad setting, a port in use) is not
                    // restarted: the caller reports its log at once.
                    if let Ok(watch) = watch_rx.recv() {
                        let startup = wait_startup(&command.data_dir, pid, &mut child);
                        let _ = started_tx.send(startup);
                        if startup == Startup::Ready {
                            keep(&command, child, &watch);
                        } else {
                            let _ = child.kill();
                            let _ = child.wait();
                        }
                    }
                    let _ = exit_tx.send(());
                }
                Err(e) => {
                    let _ = pid_tx.send(Err(e));
                }
            })
            .map_err(|source| EmbeddedPgError::Spawn {
                command: "postgres".into(),
                source,
            })?;
        let pid = pid_rx
            .recv()
            .expect("keeper thread reports")
            .map_err(|source| EmbeddedPgError::Spawn {
                command: bin.join("postgres").display().to_string(),
                source,
            })?;
        let watch = PgWatch::new(pid);
        let _ = watch_tx.send(watch.clone());
        let why = match started_rx.recv().unwrap_or(Startup::Exited) {
            Startup::Ready => {
                return Ok(EmbeddedPostgres {
                    data_dir,
                    watch,
                    exited: Some(exit_rx),
                    stopped: false,
                    users: None,
                })
            }
            Startup::Exited => "stopped before it was ready".to_string(),
            Startup::TimedOut => format!("did not become ready within {STARTUP_TIMEOUT:?}"),
        };
        // The keeper has stopped the server and ends.
        let _ = exit_rx.recv();
        // Another riposte process started the cluster at the same moment (ours then found
        // its lock file): use that one once it is ready, as if it had been running.
        if let Some(pid) = another_starting(&data_dir) {
            log::info!(
                "PostgreSQL in {} was started by another riposte process at the same time \
                 (pid {pid}); using it",
                data_dir.display()
            );
            return Ok(Self::attached(data_dir, pid));
        }
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(EmbeddedPgError::NotReady {
            why,
            log: log_path,
            tail: if tail.is_empty() {
                String::new()
            } else {
                format!("; last lines:\n{}", tail.join("\n"))
            },
        })
    }

    /// A connection URL for `database` on this cluster (the socket path percent-encoded as
    /// the host, which tokio-postgres and libpq both understand).
    pub fn url(&self, database: &str) -> String {
        url_for(&self.data_dir, database)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn pid(&self) -> i32 {
        self.watch.pid()
    }

    /// The server of another riposte process, followed (`follow`), never stopped by us.
    fn attached(data_dir: PathBuf, pid: i32) -> Self {
        let watch = PgWatch::new(pid);
        follow(data_dir.clone(), watch.clone());
        EmbeddedPostgres {
            data_dir,
            watch,
            exited: None,
            stopped: true,
            users: None,
        }
    }

    /// Whether this process started the server (else it uses another riposte's).
    pub fn owned(&self) -> bool {
        self.exited.is_some()
    }

    /// The supervised server's state; for a server another process runs, as far as its
    /// `postmaster.pid` tells (`follow`).
    pub fn watch(&self) -> PgWatch {
        self.watch.clone()
    }

    /// Fast shutdown: open sessions are ended, committed data is kept. Other riposte processes
    /// using the cluster (a command run beside this one) get up to `OTHERS_WAIT` to finish
    /// first (`Users`).
    pub fn stop(&mut self) {
        let Some(exited) = self.exited.as_ref().filter(|_| !self.stopped) else {
            return;
        };
        if let Some(users) = &self.users {
            if !users.alone_within(OTHERS_WAIT) {
                log::info!(
                    "another riposte process still uses PostgreSQL in {} after {} s; stopping \
                     it all the same",
                    self.data_dir.display(),
                    OTHERS_WAIT.as_secs()
                );
            }
        }
        self.stopped = true;
        self.watch.0.stopping.store(true, Ordering::SeqCst);
        let pid = self.watch.pid();
        signal(pid, Signal::SIGINT);
        if exited.recv_timeout(Duration::from_secs(30)).is_err() {
            log::warn!("PostgreSQL (pid {pid}) did not stop in 30 s; killing it");
            signal(self.watch.pid(), Signal::SIGQUIT);
            let _ = exited.recv_timeout(Duration::from_secs(10));
        }
        self.watch.set(PgState::Stopped);
        self.users = None;
    }
}

fn signal(pid: i32, signal: Signal) {
    let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
}

/// How to start the server; kept by the keeper thread to start it again.
struct ServerCommand {
    bin: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    ephemeral: bool,
    run_as: Option<RunAs>,
}

/// A connection URL for `database` on the embedded cluster of `data_dir` (the socket path
/// percent-encoded as the host, which tokio-postgres and libpq both understand). Sessions
/// are named for this process (`application_name`), so the one that started the cluster can
/// tell the others' sessions from its own (`wait_for_others`).
pub fn url_for(data_dir: &Path, database: &str) -> String {
    let host: String = data_dir
        .display()
        .to_string()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(
        "postgres://postgres@{host}:{PORT}/{database}?application_name=riposte-{}",
        std::process::id()
    )
}

impl ServerCommand {
    fn spawn(&self) -> io::Result<Child> {
        // A server left behind by a killed riposte keeps its pid file; a stale one (no such
        // process) is removed by PostgreSQL itself, a live one makes `postgres` refuse to
        // start with a clear message in the log.
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)?;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-c", "listen_addresses="])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.data_dir.display()
            ))
            .args(["-c", "unix_socket_permissions=0700"])
            .arg("-p")
            .arg(PORT.to_string())
            .args(["-c", "max_connections=200"])
            .arg("-c")
            .arg(format!("shared_buffers={}", shared_buffers()))
            .arg("-c")
            .arg(format!("max_wal_size={}", max_wal_size()));
        if self.ephemeral {
            cmd.args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off", "-c", "shared_buffers=64MB"]);
        }
        cmd.stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            // Own process group: a Ctrl-C aimed at riposte must not shut the database down
            // under requests that are still draining.
            .process_group(0);
        apply_user(&mut cmd, self.run_as.as_ref());
        // If riposte dies without stopping the server, the kernel sends it SIGQUIT
        // (immediate shutdown).
        // SAFETY: the closure runs in the forked child before exec, and only makes one
        // async-signal-safe system call (prctl); it allocates nothing and takes no lock.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGQUIT).map_err(io::Error::from)
            });
        }
        cmd.spawn()
    }
}

/// Waits on the server and restarts it whenever it dies without being asked to, with
/// exponential backoff; gives up after `MAX_RESTARTS` failures in a row.
fn keep(command: &ServerCommand, mut child: Child, watch: &PgWatch) {
    let mut failures = 0u32;
    loop {
        let started = Instant::now();
        let status = child.wait();
        if watch.0.stopping.load(Ordering::SeqCst) {
            return;
        }
        if started.elapsed() > STABLE_AFTER {
            failures = 0;
        }
        watch.set(PgState::Restarting);
        log::error!(
            "PostgreSQL (pid {}) exited unexpectedly ({}); restarting it (its log: {})",
            child.id(),
            status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            command.log_path.display()
        );
        loop {
            failures += 1;
            if failures > MAX_RESTARTS {
                log::error!(
                    "PostgreSQL could not be restarted {MAX_RESTARTS} times in a row; giving up \
                     (see {})",
                    command.log_path.display()
                );
                watch.set(PgState::Failed);
                return;
            }
            let delay = Duration::from_secs((1u64 << (failures - 1)).min(30));
            let until = Instant::now() + delay;
            while Instant::now() < until {
                if watch.0.stopping.load(Ordering::SeqCst) {
                    return;
                }
                thread::sleep(Duration::from_millis(50));
            }
            match command.spawn() {
                Ok(mut next) => {
                    let pid = next.id() as i32;
                    watch.0.pid.store(pid, Ordering::SeqCst);
                    if wait_startup(&command.data_dir, pid, &mut next) == Startup::Ready {
                        log::info!("PostgreSQL restarted (pid {pid}) after {failures} attempt(s)");
                        watch.set(PgState::Up);
                        child = next;
                        break;
                    }
                    log::warn!(
                        "restart attempt {failures} of PostgreSQL failed; see {}",
                        command.log_path.display()
                    );
                    let _ = next.kill();
                    let _ = next.wait();
                }
                Err(e) => log::warn!("restart attempt {failures} of PostgreSQL failed: {e}"),
            }
        }
    }
}

/// How a start of the server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Startup {
    Ready,
    Exited,
    TimedOut,
}

/// Waits until the server with `pid` reports ready, exits, or takes too long.
fn wait_startup(data_dir: &Path, pid: i32, child: &mut Child) -> Startup {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while Instant::now() < deadline {
        if is_ready(data_dir, pid) {
            return Startup::Ready;
        }
        if !matches!(child.try_wait(), Ok(None)) {
            return Startup::Exited;
        }
        thread::sleep(Duration::from_millis(25));
    }
    Startup::TimedOut
}

/// The pid file's first line is the postmaster's pid, its 8th says "ready" once it accepts
/// connections.
fn is_ready(data_dir: &Path, pid: i32) -> bool {
    let Ok(text) = fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return false;
    };
    let lines: Vec<&str> = text.lines().collect();
    lines.first().map(|l| l.trim()) == Some(&pid.to_string())
        && lines.get(7).map(|l| l.trim()) == Some("ready")
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How long the process that started the cluster lets other riposte processes finish
/// before stopping it.
const OTHERS_WAIT: Duration = Duration::from_secs(5);

/// A server of another process starting in `data_dir` (its `postmaster.pid` names a live
/// process), once it is ready, within `STARTUP_TIMEOUT`; None at once when there is none.
fn another_starting(data_dir: &Path) -> Option<i32> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Some(pid) = running_server(data_dir) {
            return Some(pid);
        }
        let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        if !alive(pid) || Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The pid of a live, ready server in `data_dir`, if there is one.
fn running_server(data_dir: &Path) -> Option<i32> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let pid: i32 = lines.first()?.trim().parse().ok()?;
    (alive(pid) && lines.get(7).map(|l| l.trim()) == Some("ready")).then_some(pid)
}

/// Whether process `pid` exists (it may belong to another user: the postgres one).
fn alive(pid: i32) -> bool {
    match nix::sys::signal::kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

fn absolute(path: &Path) -> Result<PathBuf, EmbeddedPgError> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|source| EmbeddedPgError::DataDir {
            path: path.to_path_buf(),
            source,
        })
}

/// `RIPOSTE_PG_BIN`, else the binaries of the major version that made an existing data
/// directory (`/usr/lib/postgresql/<major>/bin`, so installing a newer PostgreSQL beside it
/// changes nothing), else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
fn find_bin_dir(made_by: Option<&str>) -> Result<PathBuf, EmbeddedPgError> {
    let mut tried = Vec::new();
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("RIPOSTE_PG_BIN") {
        candidates.push(PathBuf::from(dir));
    } else {
        if let Some(major) = made_by {
            candidates.push(Path::new("/usr/lib/postgresql").join(major).join("bin"));
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            if out.status.success() {
                candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
            }
        }
        if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
            let mut versions: Vec<(u32, PathBuf)> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .collect();
            versions.sort_by_key(|v| std::cmp::Reverse(v.0));
            candidates.extend(versions.into_iter().map(|(_, p)| p));
        }
    }
    for dir in candidates {
        if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
            return Ok(dir);
        }
        tried.push(dir.display().to_string());
    }
    Err(EmbeddedPgError::BinariesNotFound(if tried.is_empty() {
        "RIPOSTE_PG_BIN, pg_config and /usr/lib/postgresql/*/bin".into()
    } else {
        tried.join(", ")
    }))
}

/// Refuses a data directory another major version of PostgreSQL made, with what to do: the
/// server's own refusal ("database files are incompatible with server") says nothing of
/// RIPOSTE_PG_BIN. Binaries whose version cannot be read are left to the server to judge.
fn same_major(bin: &Path, made_by: &str, data_dir: &Path) -> Result<(), EmbeddedPgError> {
    let Ok(out) = Command::new(bin.join("postgres")).arg("--version").output() else {
        return Ok(());
    };
    let Some(have) = major_version(&String::from_utf8_lossy(&out.stdout)) else {
        return Ok(());
    };
    if have == made_by {
        return Ok(());
    }
    Err(EmbeddedPgError::WrongMajor {
        path: data_dir.to_path_buf(),
        made_by: made_by.to_string(),
        bin: bin.to_path_buf(),
        have,
    })
}

/// The major version in `postgres --version`'s answer ("postgres (PostgreSQL) 15.18 (Debian
/// 15.18-0+deb12u1)" -> "15"; before version 10 the major had two parts: "9.6.24" -> "9.6").
fn major_version(answer: &str) -> Option<String> {
    let version = answer.split(") ").nth(1)?.split_whitespace().next()?;
    let mut parts = version.split('.');
    let first: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(match first.parse::<u32>().ok()? {
        10.. => first,
        _ => format!("{first}.{}", parts.next()?),
    })
}

fn run_as_user() -> Result<Option<RunAs>, EmbeddedPgError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let name = std::env::var("RIPOSTE_PG_USER").unwrap_or_else(|_| "postgres".into());
    let user = nix::unistd::User::from_name(&name)
        .ok()
        .flatten()
        .filter(|u| !u.uid.is_root())
        .ok_or_else(|| EmbeddedPgError::NoUnprivilegedUser(name.clone()))?;
    Ok(Some(RunAs {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        name,
    }))
}

fn apply_user(cmd: &mut Command, user: Option<&RunAs>) {
    if let Some(user) = user {
        cmd.uid(user.uid).gid(user.gid);
        // initdb and postgres read HOME-relative files only optionally; keep them from
        // touching root's.
        cmd.env("HOME", "/tmp");
    }
}

fn chown(path: &Path, user: &RunAs) -> io::Result<()> {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
}

/// The server user must be able to traverse every ancestor of the data directory.
fn check_reachable(data_dir: &Path, user: &RunAs) -> Result<(), EmbeddedPgError> {
    use std::os::unix::fs::MetadataExt;
    for dir in data_dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(dir) else {
            continue;
        };
        let mode = meta.mode();
        let ok = if meta.uid() == user.uid {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            return Err(EmbeddedPgError::DataDirNotReachable {
                user: user.name.clone(),
                path: data_dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

fn run_checked(mut cmd: Command, user: Option<&RunAs>) -> Result<(), EmbeddedPgError> {
    apply_user(&mut cmd, user);
    let command = format!("{:?}", cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| EmbeddedPgError::Spawn {
            command: command.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(EmbeddedPgError::CommandFailed {
            command,
            status: out.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(())
}

/// PostgreSQL's buffer cache for the embedded cluster: `RIPOSTE_PG_SHARED_BUFFERS` (a
/// PostgreSQL size such as `2GB`), 256MB by default. A data set that does not fit is read
/// through the operating system's cache instead, which is slower.
fn shared_buffers() -> String {
    pg_size_from_env("RIPOSTE_PG_SHARED_BUFFERS", "256MB")
}

/// How much WAL the embedded cluster writes before a checkpoint is forced:
/// `RIPOSTE_PG_MAX_WAL_SIZE`, 4GB by default. PostgreSQL's 1GB set off a checkpoint every
/// few hundred megabytes of an import's WAL (1,070 of them over the benchmark database's
/// life, against 25 by time), and after each one every page a write first touches goes into
/// the WAL whole. The WAL reaches this size only under such bursts; a crash replays at most
/// about this much (1.5 GB of import WAL replayed in 5.4 s on the 2-core bench machine).
fn max_wal_size() -> String {
    pg_size_from_env("RIPOSTE_PG_MAX_WAL_SIZE", "4GB")
}

/// A PostgreSQL size such as `2GB` from `var`, or `default` (with a warning when the
/// variable is set to something else).
fn pg_size_from_env(var: &str, default: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric()) => v,
        Ok(v) => {
            log::warn!("{var}=`{v}` is not a PostgreSQL size such as 2GB; using {default}");
            default.to_string()
        }
        Err(_) => default.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::major_version;

    #[test]
    fn major_versions_as_postgres_prints_them() {
        let major = |s: &str| major_version(s).unwrap();
        assert_eq!(
            major("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            "15"
        );
        assert_eq!(major("postgres (PostgreSQL) 17.2\n"), "17");
        assert_eq!(major("postgres (PostgreSQL) 18beta1\n"), "18");
        assert_eq!(major("postgres (PostgreSQL) 9.6.24\n"), "9.6");
        assert_eq!(major_version("something else"), None);
    }
}
