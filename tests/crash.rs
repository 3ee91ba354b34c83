//! Crash safety: writers retry with idempotency keys while the server (and with it the
//! embedded PostgreSQL) is killed with SIGKILL and restarted. Every acknowledged write must
//! survive exactly once and unchanged; every retried one must exist exactly once.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/process.rs"]
mod process;
use process::{free_port, serve, wait_ready, Fresh, Server};

/// POSTs until the server acknowledges, retrying with the same key through crashes.
async fn post_until_acknowledged(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    idem: &str,
    body: &Value,
) -> (Value, usize) {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let sent = client
            .post(format!("{base}/v1/actions"))
            .bearer_auth(key)
            .header("idempotency-key", idem)
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(resp) = sent {
            let status = resp.status().as_u16();
            if let Ok(value) = resp.json::<Value>().await {
                if status == 201 {
                    return (value, attempts);
                }
                assert!(
                    status == 409 || status >= 500,
                    "unexpected {status} for {idem}: {value}"
                );
            }
        }
        assert!(Instant::now() < deadline, "{idem} never acknowledged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_exactly_once() {
    let Fresh {
        mut server,
        dir: _dir,
        data,
        key,
        port,
        base,
        client,
    } = Fresh::start("riposte-crash").await;
    for (code, name) in [("USA", "United States"), ("CHN", "China")] {
        let r = client
            .post(format!("{base}/v1/actors"))
            .bearer_auth(&key)
            .json(&json!({"code": code, "name": name, "kind": "state"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }

    const WRITERS: usize = 4;
    const EACH: usize = 40;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let client = client.clone();
            let base = base.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0..EACH {
                    let title = format!("writer {w} action {i}");
                    let body = json!({
                        "title": title, "initiator": "USA", "target": "CHN",
                        "type": "asset_freeze", "status": "in_force",
                        "announced_on": format!("2020-01-{:02}", 1 + i % 28),
                        "sources": [{"url": format!("https://example.org/{w}/{i}")}]
                    });
                    let (value, attempts) = post_until_acknowledged(
                        &client,
                        &base,
                        &key,
                        &format!("crash-{w}-{i}"),
                        &body,
                    )
                    .await;
                    acknowledged.push((title, value, attempts));
                }
                acknowledged
            })
        })
        .collect();

    // Kill the server twice while the writers run, restarting it each time.
    for round in 0..2 {
        tokio::time::sleep(Duration::from_millis(700 + 300 * round)).await;
        unsafe {
            libc::kill(server.0.id() as i32, libc::SIGKILL);
        }
        let _ = server.0.wait();
        // The embedded PostgreSQL dies with it (parent-death signal); wait for its pid file
        // to stop naming a live process before restarting.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let pid = std::fs::read_to_string(data.join("postmaster.pid"))
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<i32>().ok()));
            let alive = pid.is_some_and(|p| unsafe { libc::kill(p, 0) } == 0);
            if !alive {
                break;
            }
            assert!(Instant::now() < deadline, "PostgreSQL outlived its server");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server = serve(&data, port);
        wait_ready(&client, &base, &mut server).await;
    }

    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    let retried = acknowledged.iter().filter(|(_, _, a)| *a > 1).count();
    assert_eq!(acknowledged.len(), WRITERS * EACH);

    // Read everything back.
    let mut stored: HashMap<String, Vec<Value>> = HashMap::new();
    let mut url = format!("{base}/v1/actions?limit=200");
    loop {
        let page: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
        for a in page["items"].as_array().unwrap() {
            stored
                .entry(a["title"].as_str().unwrap().to_string())
                .or_default()
                .push(a.clone());
        }
        match page["next_page_token"].as_str() {
            Some(t) => url = format!("{base}/v1/actions?limit=200&page_token={t}"),
            None => break,
        }
    }
    assert_eq!(stored.len(), WRITERS * EACH, "lost or extra actions");
    for (title, value, _) in &acknowledged {
        let copies = &stored[title];
        assert_eq!(copies.len(), 1, "{title} stored {} times", copies.len());
        assert_eq!(copies[0]["id"], value["id"], "{title} changed id");
        assert_eq!(copies[0]["sources"], value["sources"], "{title} changed");
    }
    eprintln!(
        "{} writes acknowledged, {retried} of them after retries across two SIGKILLs",
        acknowledged.len()
    );
}

/// With the database gone, requests fail fast with 503 and the service says it is not ready;
/// when the database comes back the service recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_recovers_when_the_database_returns() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-outage")
        .tempdir_in("/tmp")
        .unwrap();
    let pg_dir = dir.path().join("pg");
    let pg = std::thread::spawn({
        let pg_dir = pg_dir.clone();
        move || riposte::embedded_pg::EmbeddedPostgres::start(&pg_dir, true).unwrap()
    })
    .join()
    .unwrap();
    let url = pg.url("postgres");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_riposte"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", &url)
            .env("RIPOSTE_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    wait_ready(&client, &base, &mut server).await;

    // Stop the database under the running service.
    let mut pg = pg;
    std::thread::scope(|s| s.spawn(|| pg.stop()).join().unwrap());
    let started = Instant::now();
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let list = client
        .get(format!("{base}/v1/actions"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 503);
    assert!(list.headers().contains_key("retry-after"));
    assert_eq!(list.headers()["content-type"], "application/problem+json");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "503s must come fast"
    );
    let live = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(live.status(), 200);

    // Bring it back: no restart of riposte needed.
    let _pg = std::thread::spawn(move || {
        riposte::embedded_pg::EmbeddedPostgres::start(&pg_dir, true).unwrap()
    })
    .join()
    .unwrap();
    wait_ready(&client, &base, &mut server).await;
    let list = client
        .get(format!("{base}/v1/actions"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
}

/// `riposte import` against a PostgreSQL server of the user's (`DATABASE_URL`): once it has
/// reported the import done, a crash of that server must not take the import back. The WAL
/// writer is slowed to 10 s, so that only the import's own commit can have written its
/// commit record when the server is stopped as a crash would (SIGQUIT, immediate).
#[tokio::test]
async fn an_import_reported_done_survives_a_crash_of_the_database() {
    let mut lone = cluster::Lone::start().await;
    lone.pg
        .execute("ALTER SYSTEM SET wal_writer_delay = '10s'")
        .await;
    lone.pg.execute("SELECT pg_reload_conf()").await;
    let url = lone.pg.url();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_riposte"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("RIPOSTE_LOG", "warn")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "riposte {args:?} failed: {log}");
        log
    };
    cli(&["migrate"]);
    let mut lines = vec![
        json!({"actor": {"code": "USA", "name": "United States", "kind": "state"}}),
        json!({"actor": {"code": "CHN", "name": "China", "kind": "state"}}),
    ];
    for i in 0..40 {
        lines.push(json!({"title": format!("Measure {i}"), "initiator": "USA",
                          "target": "CHN", "type": "asset_freeze", "status": "in_force",
                          "announced_on": "2024-03-01", "external_id": format!("m-{i}"),
                          "source_dataset": "crash"}));
    }
    let file = lone.dir.path().join("measures.ndjson");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let log = cli(&["import", file.to_str().unwrap()]);
    assert!(log.contains("40 created"), "{log}");

    lone.pg.stop_immediately();
    lone.pg.start().await;
    let stored = lone
        .pg
        .one("SELECT count(*)::text FROM actions WHERE source_dataset = 'crash'")
        .await;
    assert_eq!(
        stored, "40",
        "the import was reported done, then lost in the crash"
    );
    let job = lone
        .pg
        .one("SELECT state FROM imports ORDER BY created_at DESC LIMIT 1")
        .await;
    assert_eq!(job, "succeeded");
}

/// Jobs queued when their server is killed never run: they show `interrupted` once their
/// heartbeat is 30 s old, as running ones do (not `queued` for ever), and the next server to
/// start removes the files they left on disk.
#[tokio::test]
async fn imports_queued_when_the_server_is_killed_show_interrupted_and_leave_no_files() {
    let Fresh {
        mut server,
        dir: _dir,
        data,
        key,
        port,
        base,
        client,
    } = Fresh::start("riposte-queued").await;
    let pg = process::hold_import_lock(&data).await;
    let file =
        "{\"actor\": {\"code\": \"USA\", \"name\": \"United States\", \"kind\": \"state\"}}\n";
    let mut jobs = Vec::new();
    for _ in 0..4 {
        let r = client
            .post(format!("{base}/v1/imports"))
            .bearer_auth(&key)
            .body(file)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let job: Value = r.json().await.unwrap();
        jobs.push(job["id"].as_str().unwrap().to_string());
    }
    let states = |client: reqwest::Client, base: String, jobs: Vec<String>| async move {
        let mut states = Vec::new();
        for id in &jobs {
            let job: Value = client
                .get(format!("{base}/v1/imports/{id}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            states.push(format!("{}: {}", job["state"], job["error"]));
        }
        states.sort();
        states
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = states(client.clone(), base.clone(), jobs.clone()).await;
        if now
            == [
                "\"queued\": null",
                "\"queued\": null",
                "\"running\": null",
                "\"running\": null",
            ]
        {
            break;
        }
        assert!(Instant::now() < deadline, "jobs never settled: {now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let spooled = |pid: u32| {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("riposte-import-{pid}-"))
            })
            .count()
    };
    let pid = server.0.id();
    assert_eq!(spooled(pid), 4);

    server.0.kill().unwrap();
    server.0.wait().unwrap();
    drop(pg);
    let mut server = serve(&data, port);
    wait_ready(&client, &base, &mut server).await;
    assert_eq!(spooled(pid), 0, "the killed server's import files are left");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = states(client.clone(), base.clone(), jobs.clone()).await;
        // The error says what happened and what to do (it was null).
        if now.iter().all(|s| {
            s.starts_with("\"interrupted\": \"its server stopped")
                && s.ends_with("nothing was stored; submit the file again\"")
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a minute after the kill the jobs are {now:?}, not interrupted saying why"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `serve` killed while it sets up a new data directory, its `initdb` killed with it (as a
/// container's processes are): the next start sets the directory up again and serves. The
/// unfinished cluster failed every later start ("database \"postgres\" does not exist"), and
/// an initdb whose riposte was killed went on alone.
#[tokio::test]
async fn a_data_directory_cut_short_in_initdb_is_set_up_again() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-initdb")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut first = serve(&data, port);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !data.join("PG_VERSION").exists() {
        assert!(Instant::now() < deadline, "initdb never began");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let initdb = format!("initdb -D {}", data.display());
    std::thread::sleep(Duration::from_millis(300));
    let left = Command::new("pgrep")
        .args(["-f", &initdb])
        .output()
        .unwrap();
    // What a container's end does to the rest of its processes.
    let _ = Command::new("pkill")
        .args(["-KILL", "-f", &initdb])
        .status();
    assert!(left.stdout.is_empty(), "an initdb outlived its riposte");
    assert!(
        !data.join("base").join("5").exists(),
        "the kill came after initdb made the postgres database"
    );
    // As a kill just after initdb created PG_VERSION leaves it (the next start read it as
    // "made by PostgreSQL ''" and refused the directory; once in eight runs under load).
    std::fs::write(data.join("PG_VERSION"), "").unwrap();

    let mut again = serve(&data, port);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&client, &base, &mut again).await;
    let actors = client
        .get(format!("{base}/v1/actors"))
        .send()
        .await
        .unwrap();
    assert_eq!(actors.status(), 200);
}
