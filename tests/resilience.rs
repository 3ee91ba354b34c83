//! The real process against faults of its database and signals (issue #11): a killed
//! embedded PostgreSQL is restarted, a frozen one costs a bounded wait, and Ctrl-C lets the
//! requests in flight finish, SIGTERM the running imports.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "support/process.rs"]
mod process;
use process::{hold_import_lock, serve_with, wait_ready, Fresh};

fn postmaster_pid(data: &Path) -> i32 {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

/// The postmaster and its children, from /proc.
fn cluster_pids(postmaster: i32) -> Vec<Pid> {
    let mut pids = vec![Pid::from_raw(postmaster)];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        if ppid == Some(postmaster) {
            pids.push(Pid::from_raw(pid));
        }
    }
    pids
}

/// `kill -9` of the embedded postmaster: riposte says so on /healthz and /readyz, restarts
/// it by itself and serves again, reads and writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_embedded_postgres_is_restarted() {
    let Fresh {
        mut server,
        dir: _dir,
        data,
        key,
        base,
        client,
        ..
    } = Fresh::start("riposte-sup").await;

    let first = postmaster_pid(&data);
    kill(Pid::from_raw(first), Signal::SIGKILL).unwrap();
    // The restart waits at least a second: meanwhile health says the truth.
    let mut saw_down = false;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let live = client.get(format!("{base}/healthz")).send().await.unwrap();
        if live.status() == 503 {
            saw_down = true;
            assert_eq!(live.headers()["content-type"], "application/problem+json");
            let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
            if ready.status() != 503 {
                // The restart can finish between the two requests; then /healthz says so too.
                let again = client.get(format!("{base}/healthz")).send().await.unwrap();
                assert_eq!(
                    again.status(),
                    200,
                    "/readyz answered {} while the database was down",
                    ready.status()
                );
            }
        } else if saw_down {
            break;
        }
        assert!(Instant::now() < deadline, "PostgreSQL was never restarted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saw_down, "/healthz never reported the dead database");
    wait_ready(&client, &base, &mut server).await;
    assert_ne!(postmaster_pid(&data), first);
    // Writes work again (pooled connections to the dead server are replaced).
    let mut created = None;
    for _ in 0..50 {
        let resp = client
            .post(format!("{base}/v1/actors"))
            .bearer_auth(&key)
            .json(&json!({"code": "FRA", "name": "France", "kind": "state"}))
            .send()
            .await
            .unwrap();
        if resp.status() == 201 {
            created = Some(resp);
            break;
        }
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(
            status, 503,
            "only 503s while connections are renewed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created.is_some(), "no write succeeded after the restart");
    let got = client
        .get(format!("{base}/v1/actors/FRA"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(server.0.try_wait().unwrap().is_none(), "riposte stays up");
}

/// With PostgreSQL frozen (SIGSTOP), a request is answered 503 with Retry-After within the
/// documented deadline instead of hanging; thawed, the service recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_database_costs_a_bounded_wait() {
    let Fresh {
        server: _server,
        dir: _dir,
        data,
        base,
        client,
        ..
    } = Fresh::start("riposte-frz").await;
    // Warm the pool: these requests' connections are idle in it when the database freezes.
    for _ in 0..4 {
        let r = client
            .get(format!("{base}/v1/actions"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Every process of the cluster: backends leave the postmaster's process group.
    let cluster = cluster_pids(postmaster_pid(&data));
    assert!(cluster.len() > 1, "{cluster:?}");
    for pid in &cluster {
        kill(*pid, Signal::SIGSTOP).unwrap();
    }
    let slow = || {
        let client = client.clone();
        let url = format!("{base}/v1/actions");
        async move {
            // Far past the documented 20 s: a hang fails here.
            client
                .get(url)
                .timeout(Duration::from_secs(45))
                .send()
                .await
        }
    };
    let answers = futures_util::future::join_all((0..3).map(|_| slow())).await;
    for pid in &cluster {
        kill(*pid, Signal::SIGCONT).unwrap();
    }
    for answer in answers {
        let resp = answer.expect("answered before the client gave up");
        assert_eq!(resp.status(), 503);
        assert!(resp.headers().contains_key("retry-after"));
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }
    // Thawed: served again.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = client
            .get(format!("{base}/v1/actions"))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered: {}", r.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Ctrl-C (SIGINT) drains like SIGTERM: a request whose body is still arriving when the
/// signal comes is answered, then riposte exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_lets_requests_in_flight_finish() {
    let Fresh {
        mut server,
        dir: _dir,
        key,
        port,
        ..
    } = Fresh::start("riposte-int").await;

    let body = json!({"code": "FRA", "name": "France", "kind": "state"}).to_string();
    let (first, rest) = body.split_at(10);
    let mut socket = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/actors HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGINT).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    socket.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer))
        .await
        .expect("answered")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let status = server
        .exit_status("riposte did not exit after SIGINT")
        .await;
    assert!(status.success(), "{status}");
}

/// A second `serve` on the same data directory uses the first's PostgreSQL without owning
/// it. When the first stops (and its PostgreSQL with it), the second's health says the
/// database is down, and it is up again once a server runs there again. (It answered 200 to
/// /healthz for ever, and 503 to everything else.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_on_one_data_dir_follows_the_first_postgres() {
    let Fresh {
        mut server,
        dir: _dir,
        data,
        client,
        ..
    } = Fresh::start("riposte-follow").await;
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut second = process::serve(&data, port);
    wait_ready(&client, &base, &mut second).await;

    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGTERM).unwrap();
    server.exit_status("the first serve, stopped").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let live = client.get(format!("{base}/healthz")).send().await.unwrap();
        if live.status() == 503 {
            let body = live.text().await.unwrap();
            // The first stopped it on purpose: no crash, no restart by this process.
            assert!(
                body.contains("PostgreSQL, run by another riposte process")
                    && !body.contains("unexpectedly"),
                "{body}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz never said the database was gone"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A third process starts the cluster again; the second follows it back.
    let port3 = process::free_port();
    let mut third = process::serve(&data, port3);
    wait_ready(&client, &format!("http://127.0.0.1:{port3}"), &mut third).await;
    wait_ready(&client, &base, &mut second).await;
    assert!(
        second.0.try_wait().unwrap().is_none(),
        "the second stays up"
    );
}

/// A second `serve` whose owner's PostgreSQL does not come back within
/// `RIPOSTE_PG_FOLLOW_GRACE` (90 s by default) exits non-zero, for its process manager to
/// start it again (it then runs its own), saying whose PostgreSQL it waited for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_gives_up_when_the_first_postgres_stays_away() {
    let Fresh {
        mut server,
        dir,
        data,
        client,
        ..
    } = Fresh::start("riposte-giveup").await;
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log_path = dir.path().join("second.log");
    let bind = format!("127.0.0.1:{port}");
    let mut second = process::Server(
        process::riposte(&["serve", "--bind", &bind, "--rate-limit", "0"], &data)
            .env("RIPOSTE_PG_FOLLOW_GRACE", "3s")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_ready(&client, &base, &mut second).await;

    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGTERM).unwrap();
    server.exit_status("the first serve, stopped").await;
    let status = second
        .exit_status("the second serve never gave up on the first's PostgreSQL")
        .await;
    assert!(!status.success(), "it exits non-zero: {status}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("waiting up to 3 s"), "{log}");
    assert!(
        log.contains(
            "run by another riposte process on this data directory, stopped and did not come back"
        ),
        "{log}"
    );
    assert!(!log.contains("could not be restarted"), "{log}");
}

/// SIGTERM lets a running import commit within `--shutdown-grace`; one that outlasts it is
/// rolled back and its job failed at once, saying so, and a queued one fails without running.
/// (The imports died with the HTTP workers and showed `running`, then `interrupted`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_running_imports_commit_within_the_grace() {
    let grace = ["--shutdown-grace", "3s"];
    let Fresh {
        mut server,
        dir: _dir,
        data,
        key,
        port,
        base,
        client,
    } = Fresh::start_with("riposte-term", &grace).await;
    let file = "{\"actor\": {\"code\": \"USA\", \"name\": \"United States\", \"kind\": \"state\"}}
{\"actor\": {\"code\": \"CHN\", \"name\": \"China\", \"kind\": \"state\"}}
{\"title\": \"Freeze\", \"initiator\": \"USA\", \"target\": \"CHN\", \"type\": \"asset_freeze\", \"status\": \"in_force\", \"announced_on\": \"2020-07-09\", \"external_id\": \"f-1\"}
";
    let submit = || async {
        let r = client
            .post(format!("{base}/v1/imports"))
            .bearer_auth(&key)
            .body(file)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        r.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let job = |client: reqwest::Client, base: String, id: String| async move {
        client
            .get(format!("{base}/v1/imports/{id}"))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    let settled = |jobs: Vec<String>, want: &'static [&'static str]| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let mut now = Vec::new();
                for id in &jobs {
                    now.push(
                        job(client.clone(), base.clone(), id.clone()).await["state"].to_string(),
                    );
                }
                now.sort();
                let want: Vec<String> = want.iter().map(|s| format!("\"{s}\"")).collect();
                if now == want {
                    return;
                }
                assert!(Instant::now() < deadline, "jobs never settled: {now:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // Running when the signal comes, committed within the grace: stored, and a clean exit.
    let pg = hold_import_lock(&data).await;
    let first = submit().await;
    settled(vec![first.clone()], &["running"]).await;
    // An upload begun before the signal and ended after it is refused, not queued to be
    // failed at once (it was a 202, then `failed` "before this import ran").
    let (go_on, rest) = tokio::sync::oneshot::channel::<()>();
    let (head, tail) = file.as_bytes().split_at(20);
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(head.to_vec())]).chain(
        futures_util::stream::once(async move {
            let _ = rest.await;
            Ok(tail.to_vec())
        }),
    );
    let late = tokio::spawn(
        client
            .post(format!("{base}/v1/imports"))
            .bearer_auth(&key)
            .body(reqwest::Body::wrap_stream(chunks))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGTERM).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    go_on.send(()).unwrap();
    let late = late.await.unwrap().unwrap();
    assert_eq!(late.status(), 503);
    let said = late.text().await.unwrap();
    assert!(said.contains("this server is stopping"), "{said}");
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "exited with an import running"
    );
    pg.execute("SELECT pg_advisory_unlock(7236112)", &[])
        .await
        .unwrap();
    let status = server
        .exit_status("riposte did not exit after SIGTERM")
        .await;
    assert!(status.success(), "{status}");
    drop(pg);
    let mut server = serve_with(&data, port, &grace);
    wait_ready(&client, &base, &mut server).await;
    let done = job(client.clone(), base.clone(), first).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["counts"]["created"], 1, "{done}");

    // Two running past the grace and one queued: all failed, saying why; nothing stored.
    let pg = hold_import_lock(&data).await;
    let jobs = vec![submit().await, submit().await, submit().await];
    settled(jobs.clone(), &["queued", "running", "running"]).await;
    let mut running = Vec::new();
    for id in &jobs {
        let state = job(client.clone(), base.clone(), id.clone()).await["state"].clone();
        running.push(state == "running");
    }
    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGTERM).unwrap();
    let status = server
        .exit_status("riposte did not exit after its grace")
        .await;
    assert!(status.success(), "{status}");
    drop(pg);
    let mut server = serve_with(&data, port, &grace);
    wait_ready(&client, &base, &mut server).await;
    for (id, was_running) in jobs.iter().zip(running) {
        let ended = job(client.clone(), base.clone(), id.clone()).await;
        assert_eq!(ended["state"], "failed", "{ended}");
        let error = ended["error"].as_str().unwrap();
        let what = if was_running { "committed" } else { "ran" };
        assert_eq!(
            error,
            format!(
                "the server stopped before this import {what}: nothing was stored; submit the \
                 file again"
            ),
            "{ended}"
        );
    }
    let listed: serde_json::Value = client
        .get(format!("{base}/v1/actions?include_total=true"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1, "{listed}");

    // A second Ctrl-C does not wait out a long grace.
    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGTERM).unwrap();
    server.exit_status("riposte did not exit").await;
    let mut server = serve_with(&data, port, &["--shutdown-grace", "600s"]);
    wait_ready(&client, &base, &mut server).await;
    let pg = hold_import_lock(&data).await;
    let last = submit().await;
    settled(vec![last.clone()], &["running"]).await;
    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGINT).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGINT).unwrap();
    let status = server
        .exit_status("a second Ctrl-C waited for the import's grace")
        .await;
    assert!(status.success(), "{status}");
    drop(pg);
    let mut server = serve_with(&data, port, &grace);
    wait_ready(&client, &base, &mut server).await;
    let ended = job(client.clone(), base.clone(), last).await;
    assert_eq!(ended["state"], "failed", "{ended}");
    drop(server);
}
