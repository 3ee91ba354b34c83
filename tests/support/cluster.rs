//! A real PostgreSQL primary with a real streaming standby, for the read-replica tests.
//!
//! Both listen only on Unix sockets in directories of their own, inside one temporary
//! directory removed on drop. The primary is a copy of a cluster made with `initdb` once per
//! test binary (the copy is much quicker than `initdb`); the standby is made from the running
//! primary with `pg_basebackup -R`, as an operator would, and the harness waits until the
//! primary reports it streaming. As root, PostgreSQL runs as the `postgres` user, which
//! refuses to run as root.
// Each test binary that includes this file uses part of it.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The directory holding `initdb`, `postgres` and `pg_basebackup`.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RIPOSTE_PG_BIN") {
        return dir.into();
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (or set RIPOSTE_PG_BIN)")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("postgres").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().expect("a PostgreSQL installation")
}

/// Who PostgreSQL runs as: `postgres` when the tests run as root, else the current user.
#[derive(Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

fn run_as() -> Option<RunAs> {
    if !nix::unistd::Uid::effective().is_root() {
        return None;
    }
    let user = nix::unistd::User::from_name("postgres")
        .unwrap()
        .expect("a `postgres` system user to run PostgreSQL as (it refuses to run as root)");
    Some(RunAs {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
    })
}

fn pg_command(program: &str) -> Command {
    let mut cmd = Command::new(bin_dir().join(program));
    if let Some(user) = run_as() {
        cmd.uid(user.uid).gid(user.gid).env("HOME", "/tmp");
    }
    cmd.env_remove("PGDATA")
        .env_remove("PGHOST")
        .env_remove("PGPORT");
    cmd
}

fn give_to_postgres(path: &Path) {
    if let Some(user) = run_as() {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).unwrap();
    }
}

fn run(mut cmd: Command) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `initdb` cluster every test copies, made once per test binary and removed by the last
/// cluster to be dropped (a later one makes it again).
struct Template {
    dir: tempfile::TempDir,
    users: usize,
}

static TEMPLATE: Mutex<Option<Template>> = Mutex::new(None);

/// A cluster's hold on the template, released on drop (even when its start panicked).
pub struct TemplateUse(());

impl Drop for TemplateUse {
    fn drop(&mut self) {
        release_template();
    }
}

/// Copies the template cluster to `to` (made first if needed).
fn copy_template(to: &Path) -> TemplateUse {
    let mut template = TEMPLATE.lock().unwrap_or_else(|p| p.into_inner());
    let t = template.get_or_insert_with(|| {
        let dir = tempfile::Builder::new()
            .prefix("riposte-pg-template")
            .tempdir_in("/tmp")
            .unwrap();
        give_to_postgres(dir.path());
        let data = dir.path().join("data");
        let mut initdb = pg_command("initdb");
        // -N: no fsync (a throw-away cluster); trust: only Unix sockets in private
        // directories, so only this machine's users who can reach them connect.
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-N", "-E", "UTF8"])
            .args(["--locale", "C"]);
        run(initdb);
        Template { dir, users: 0 }
    });
    t.users += 1;
    let hold = TemplateUse(());
    let mut cp = Command::new("cp");
    cp.arg("-a").arg(t.dir.path().join("data")).arg(to);
    drop(template);
    run(cp);
    hold
}

fn release_template() {
    let mut template = TEMPLATE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(t) = template.as_mut() {
        t.users -= 1;
        if t.users == 0 {
            *template = None;
        }
    }
}

/// One PostgreSQL server of the pair.
pub struct Pg {
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Pg {
    /// `postgres://` URL for riposte: the Unix socket in `socket_dir`.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@/postgres?host={}&port={}",
            self.socket_dir.display(),
            self.port
        )
    }

    /// A server on a fresh copy of the template cluster in `data`, started.
    async fn from_template(data: PathBuf, socket_dir: PathBuf, port: u16) -> (Pg, TemplateUse) {
        let template = copy_template(&data);
        let mut pg = Pg {
            data,
            socket_dir,
            port,
            child: None,
        };
        pg.start().await;
        (pg, template)
    }

    /// Starts the server (again) on its data directory and waits until it takes connections.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.data.with_extension("log")).unwrap();
        let mut cmd = pg_command("postgres");
        cmd.arg("-D")
            .arg(&self.data)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&self.socket_dir)
            .args(["-c", "listen_addresses="])
            .args(["-c", "fsync=off"])
            .args(["-c", "wal_level=replica", "-c", "max_wal_senders=10"])
            .args(["-c", "hot_standby=on"])
            // Replicas answer at once about their position; no feedback delays in tests.
            .args(["-c", "wal_receiver_status_interval=1s"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group: a Ctrl-C of the test run does not reach it before the
            // harness stops it, and the harness can signal the whole group.
            .process_group(0);
        // If the test process dies without dropping the cluster, the kernel stops the
        // server (immediate shutdown) rather than leaving it behind.
        // SAFETY: runs in the forked child before exec; one async-signal-safe call.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
        self.child = Some(cmd.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.connect().await.is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "postgres exited with {status}; log:\n{}",
                    std::fs::read_to_string(self.data.with_extension("log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "postgres never took connections");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Freezes the whole server (SIGSTOP to its process group), as a hung host or a network
    /// partition leaves it: connections stay open and nothing answers. `thaw` before drop.
    #[allow(dead_code)]
    pub fn freeze(&self) {
        self.signal_group(libc::SIGSTOP);
    }

    #[allow(dead_code)]
    pub fn thaw(&self) {
        self.signal_group(libc::SIGCONT);
    }

    /// `signal` to the postmaster and every process under it: each backend is a process
    /// group of its own (PostgreSQL's children call setsid), so the group alone misses them.
    fn signal_group(&self, signal: i32) {
        let Some(child) = &self.child else { return };
        let mut pids = vec![child.id() as i32];
        let mut i = 0;
        while i < pids.len() {
            let parent = pids[i];
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
                // `pid (comm) state ppid ...`: the fields after the last `)`.
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<i32>().ok());
                if ppid == Some(parent) && !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
            i += 1;
        }
        for pid in pids {
            // SAFETY: plain kill(2) on processes of the server we started.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: SIGQUIT).
    pub fn stop_immediately(&mut self) {
        self.signal_and_wait(libc::SIGQUIT);
    }

    fn signal_and_wait(&mut self, signal: i32) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain kill(2) on the group we created.
            unsafe {
                libc::kill(-(child.id() as i32), signal);
            }
            let _ = child.wait();
        }
    }

    pub async fn connect(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::Config::new()
            .host_path(&self.socket_dir)
            .port(self.port)
            .user("postgres")
            .dbname("postgres")
            .connect(tokio_postgres::NoTls)
            .await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The first column of the first row of `sql`, as text.
    pub async fn one(&self, sql: &str) -> String {
        let client = self.connect().await.unwrap();
        let row = client.query_one(sql, &[]).await.unwrap();
        row.get::<_, Option<String>>(0).unwrap_or_default()
    }

    pub async fn execute(&self, sql: &str) {
        let client = self.connect().await.unwrap();
        client.batch_execute(sql).await.unwrap();
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.signal_and_wait(libc::SIGQUIT);
    }
}

/// One server on its own, removed on drop: for what a crash of the database does to a
/// client of it (`tests/crash.rs`).
pub struct Lone {
    pub pg: Pg,
    pub dir: tempfile::TempDir,
    _template: TemplateUse,
}

impl Lone {
    pub async fn start() -> Lone {
        let dir = postgres_tempdir("riposte-lone");
        let (pg, template) =
            Pg::from_template(dir.path().join("data"), postgres_dir(&dir, "socket"), 5432).await;
        Lone {
            pg,
            dir,
            _template: template,
        }
    }
}

/// A directory under /tmp that PostgreSQL's user may write in, removed on drop.
fn postgres_tempdir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .unwrap();
    give_to_postgres(dir.path());
    dir
}

/// `name`, made in `dir` and given to PostgreSQL's user.
fn postgres_dir(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::create_dir(&path).unwrap();
    give_to_postgres(&path);
    path
}

/// A primary and a standby streaming from it, removed on drop.
pub struct Cluster {
    // Fields drop in order: the servers stop before their directory goes.
    pub primary: Pg,
    pub standby: Pg,
    pub dir: tempfile::TempDir,
    _template: TemplateUse,
}

impl Cluster {
    pub async fn start() -> Cluster {
        let dir = postgres_tempdir("riposte-replicas");
        let (primary, template) = Pg::from_template(
            dir.path().join("primary"),
            postgres_dir(&dir, "primary-socket"),
            5432,
        )
        .await;
        let standby_data = dir.path().join("standby");
        let mut backup = pg_command("pg_basebackup");
        backup
            .arg("-D")
            .arg(&standby_data)
            .arg("-d")
            .arg(format!(
                "host={} port={} user=postgres",
                primary.socket_dir.display(),
                primary.port
            ))
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"]);
        run(backup);
        let mut standby = Pg {
            data: standby_data,
            socket_dir: postgres_dir(&dir, "standby-socket"),
            port: 5433,
            child: None,
        };
        standby.start().await;
        let cluster = Cluster {
            primary,
            standby,
            dir,
            _template: template,
        };
        cluster.wait_streaming().await;
        cluster
    }

    /// Waits until the primary sees the standby streaming.
    pub async fn wait_streaming(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self
            .primary
            .one("SELECT count(*)::text FROM pg_stat_replication WHERE state = 'streaming'")
            .await
            == "0"
        {
            assert!(Instant::now() < deadline, "the standby never streamed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the standby has replayed everything the primary has written so far.
    pub async fn wait_replayed(&self) {
        let target = self.primary.one("SELECT pg_current_wal_lsn()::text").await;
        self.wait_replayed_to(&target).await;
    }

    /// Waits until the standby has replayed WAL up to `lsn`.
    pub async fn wait_replayed_to(&self, lsn: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let query = format!("SELECT (pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn)::text");
        while self.standby.one(&query).await != "true" {
            assert!(
                Instant::now() < deadline,
                "the standby never replayed {lsn}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.standby.signal_and_wait(libc::SIGQUIT);
        self.primary.signal_and_wait(libc::SIGQUIT);
    }
}
