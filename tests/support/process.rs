//! Running the real `riposte` binary in tests, with its own embedded PostgreSQL.
// Each test binary that includes this file uses part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `riposte ARGS --data-dir DIR`, with no DATABASE_URL inherited.
pub fn riposte(args: &[&str], data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_riposte"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env("RIPOSTE_LOG", "warn");
    cmd
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Waits for the process to exit (at most a minute, else the test fails with `why`).
    pub async fn exit_status(&mut self, why: &str) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "{why}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Waits for `/readyz`, failing early if the server exits.
pub async fn wait_ready(client: &reqwest::Client, base: &str, server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(resp) = client.get(format!("{base}/readyz")).send().await {
            if resp.status() == 200 {
                return;
            }
        }
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("riposte serve exited early with {status}");
        }
        assert!(
            Instant::now() < deadline,
            "riposte serve never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `riposte serve` on `port` with rate limits off, its output discarded.
pub fn serve(data: &Path, port: u16) -> Server {
    serve_with(data, port, &[])
}

/// `riposte serve` on `port` with rate limits off and `extra` flags, its output discarded.
pub fn serve_with(data: &Path, port: u16, extra: &[&str]) -> Server {
    serve_on(data, &format!("127.0.0.1:{port}"), extra)
}

/// `riposte serve` on `bind` (an address and port), without rate limits.
pub fn serve_on(data: &Path, bind: &str, extra: &[&str]) -> Server {
    let mut args = vec!["serve", "--bind", bind, "--rate-limit", "0"];
    args.extend_from_slice(extra);
    Server(riposte(&args, data).stdout(Stdio::null()).spawn().unwrap())
}

/// A new `write` key made with `riposte keys create`; its secret.
pub fn write_key(data: &Path) -> String {
    key(data, "write")
}

/// A command that succeeded, or its output in the failure.
pub fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new key of `scope` made with `riposte keys create`; its secret.
pub fn key(data: &Path, scope: &str) -> String {
    let out = riposte(&["keys", "create", "--name", "t", "--scope", scope], data)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_ok(&out);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `riposte serve` on a fresh data directory, ready, with a write key.
pub struct Fresh {
    /// Killed when dropped, before `dir` (fields drop in order) is removed.
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub data: std::path::PathBuf,
    pub key: String,
    pub port: u16,
    pub base: String,
    pub client: reqwest::Client,
}

impl Fresh {
    pub async fn start(prefix: &str) -> Fresh {
        Self::start_with(prefix, &[]).await
    }

    /// The same, `riposte serve` given `extra` flags.
    pub async fn start_with(prefix: &str, extra: &[&str]) -> Fresh {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .unwrap();
        let data = dir.path().join("data");
        let key = write_key(&data);
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let mut server = serve_with(&data, port, extra);
        wait_ready(&client, &base, &mut server).await;
        Fresh {
            server,
            dir,
            data,
            key,
            port,
            base,
            client,
        }
    }
}

/// A session on the embedded cluster of `data` holding the lock imports take from their
/// checks to their commit: while it lives, imports that run wait, and the others stay queued.
pub async fn hold_import_lock(data: &Path) -> tokio_postgres::Client {
    let (pg, connection) = tokio_postgres::connect(
        &format!(
            "host={} port=5432 user=postgres dbname=postgres",
            data.display()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    pg.execute("SELECT pg_advisory_lock(7236112)", &[])
        .await
        .unwrap();
    pg
}
