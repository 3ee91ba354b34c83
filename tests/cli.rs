//! The two commands of the README, run as a user would: `riposte serve` with no database
//! configured starts its own PostgreSQL, and `riposte seed` loads the founding example.

use std::process::Stdio;
use std::time::Duration;

#[path = "support/process.rs"]
mod process;
use process::{assert_ok, free_port, riposte, wait_ready, Fresh, Server};

async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn serve_with_embedded_postgres_seed_and_stop_cleanly() {
    let (_dir, data) = fresh_data_dir();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(
        riposte(&["serve", "--bind", &format!("127.0.0.1:{port}")], &data)
            .env("RIPOSTE_PG_MAX_WAL_SIZE", "2GB")
            .env("RIPOSTE_PG_SHARED_BUFFERS", "160MB")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    wait_ready(&client, &base, &mut server).await;
    assert_eq!(
        pg_settings(&data).await,
        ["2GB", "160MB"],
        "the embedded cluster takes its sizes from the environment"
    );

    // A second command attaches to the server's PostgreSQL instead of starting another.
    let out = riposte(&["seed", "xinjiang-2020"], &data)
        .env("RIPOSTE_LOG", "info")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("9 actions created (0 already present)"),
        "{log}"
    );

    let docs = client.get(format!("{base}/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let chn = get_json(&client, &format!("{base}/v1/actions?initiator=CHN")).await;
    let vow = chn["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "threaten")
        .expect("the vow of reciprocal action");
    let answered = vow["responds_to"][0]["action"].as_str().unwrap();
    let responses = get_json(&client, &format!("{base}/v1/actions/{answered}/responses")).await;
    assert!(responses["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == vow["id"]));

    // SIGTERM: the server drains, stops PostgreSQL and exits 0.
    unsafe {
        libc::kill(server.0.id() as i32, libc::SIGTERM);
    }
    let status = server
        .exit_status("riposte did not stop after SIGTERM")
        .await;
    assert!(status.success(), "exit status {status}");
    assert!(
        !data.join("postmaster.pid").exists(),
        "PostgreSQL was left running"
    );

    // The cluster is reused, and seeding again adds nothing.
    let out = riposte(&["seed", "xinjiang-2020"], &data)
        .env("RIPOSTE_LOG", "info")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("0 actions created (9 already present)"),
        "{log}"
    );
    assert!(!data.join("postmaster.pid").exists());

    // `serve --seed` on the same data: nothing is duplicated.
    let mut server = Server(
        riposte(
            &[
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--seed",
                "xinjiang-2020",
            ],
            &data,
        )
        // Not a PostgreSQL size: riposte warns and keeps its default.
        .env("RIPOSTE_PG_MAX_WAL_SIZE", "4 GB")
        .env_remove("RIPOSTE_PG_SHARED_BUFFERS")
        .spawn()
        .unwrap(),
    );
    wait_ready(&client, &base, &mut server).await;
    let all = get_json(&client, &format!("{base}/v1/actions?limit=200")).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 9);
    assert_eq!(pg_settings(&data).await, ["4GB", "256MB"], "the defaults");
}

/// A setting PostgreSQL refuses stops `riposte serve` at once with PostgreSQL's own words,
/// instead of a minute of restarts of a server that can never start.
#[test]
fn a_setting_postgresql_refuses_stops_riposte_with_its_reason() {
    let (_dir, data) = fresh_data_dir();
    let out = riposte(
        &["serve", "--bind", &format!("127.0.0.1:{}", free_port())],
        &data,
    )
    .env("RIPOSTE_PG_MAX_WAL_SIZE", "4XB")
    .output()
    .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("PostgreSQL stopped before it was ready"),
        "{log}"
    );
    assert!(
        log.contains(r#"invalid value for parameter "max_wal_size": "4XB""#),
        "{log}"
    );
    assert!(!log.contains("restart attempt"), "{log}");
    assert!(!data.join("postmaster.pid").exists());
}

/// A data directory that does not exist yet, in a temporary directory (short enough a path
/// for PostgreSQL's socket) removed when the guard drops.
fn fresh_data_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("riposte-cli")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    (dir, data)
}

/// `max_wal_size` and `shared_buffers` of the embedded cluster in `data`.
async fn pg_settings(data: &std::path::Path) -> Vec<String> {
    let (pg, connection) = tokio_postgres::Config::new()
        .host_path(data)
        .port(5432)
        .user("postgres")
        .dbname("postgres")
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect to the embedded cluster's socket");
    tokio::spawn(connection);
    let mut values = Vec::new();
    for name in ["max_wal_size", "shared_buffers"] {
        let row = pg.query_one(&format!("SHOW {name}"), &[]).await.unwrap();
        values.push(row.get::<_, String>(0));
    }
    values
}

#[test]
fn unknown_seed_and_bad_bind_fail_with_a_clear_message() {
    let dir = tempfile::tempdir_in("/tmp").unwrap();
    let out = riposte(
        &["serve", "--bind", "not-an-address"],
        &dir.path().join("data"),
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen on not-an-address"));
    // A replica URL that cannot be one is refused before anything starts, without repeating
    // it (it may hold a password); it was retried every second for as long as the server ran.
    let out = riposte(
        &["serve", "--replica-url", "not a url:hunter2"],
        &dir.path().join("replica-data"),
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--replica-url number 1"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!dir.path().join("replica-data").exists());
    // So is a page-token secret too short to sign with, by the option's name and without
    // repeating it; it was refused only once the database had opened, naming the variable.
    let out = riposte(
        &["serve", "--token-secret", "hunter2-short"],
        &dir.path().join("secret-data"),
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--token-secret"), "{stderr}");
    assert!(stderr.contains("at least 32 bytes"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!dir.path().join("secret-data").exists());
    // A pool of no connections is refused before anything starts, and so are a negative
    // size (clap took `-1` for an unknown flag and named no option), no workers (started
    // with one, silently) and a webhook timeout of nothing (every delivery would fail).
    for (args, option) in [
        (&["serve", "--pool-size", "0"][..], "--pool-size"),
        (&["serve", "--pool-size", "-1"][..], "--pool-size"),
        (&["serve", "--rate-limit", "-5"][..], "--rate-limit"),
        (&["serve", "--workers", "0"][..], "--workers"),
        (
            &["serve", "--webhook-timeout", "0s"][..],
            "--webhook-timeout",
        ),
        (
            &["serve", "--webhook-timeout", "-1s"][..],
            "--webhook-timeout",
        ),
    ] {
        let out = riposte(args, &dir.path().join("data")).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(option), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("data").exists());
    // An unknown data set is refused with the known ones before a cluster is made for it
    // (it used to initdb and start PostgreSQL first).
    for args in [&["seed", "nope"][..], &["serve", "--seed", "nope"][..]] {
        let out = riposte(args, &dir.path().join("seed-data"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("nope") && stderr.contains("xinjiang-2020"),
            "{stderr}"
        );
        assert!(
            !dir.path().join("seed-data").exists(),
            "{args:?} made a cluster"
        );
    }
}

/// A data directory another major version of PostgreSQL made is refused before a server is
/// started, saying which versions and what to set (the server's own refusal named neither
/// RIPOSTE_PG_BIN nor pg_upgrade).
#[test]
fn a_data_directory_of_another_postgresql_major_says_what_to_do() {
    let dir = tempfile::tempdir_in("/tmp").unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("PG_VERSION"), "11\n").unwrap();
    let out = riposte(&["migrate"], &data).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("was made by PostgreSQL 11")
            && stderr.contains("RIPOSTE_PG_BIN")
            && stderr.contains("pg_upgrade"),
        "{stderr}"
    );
    assert!(!data.join("postmaster.pid").exists() && !data.join("postgres.log").exists());
}

#[test]
fn keys_from_the_command_line() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-keys")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let out = riposte(
        &[
            "keys",
            "create",
            "--name",
            "ci",
            "--scope",
            "write",
            "--expires",
            "2099-01-01",
        ],
        &data,
    )
    .output()
    .unwrap();
    assert_ok(&out);
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(riposte::auth::well_formed(&secret), "{secret}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown only this once"));

    let list = riposte(&["keys", "list"], &data).output().unwrap();
    let text = String::from_utf8(list.stdout).unwrap();
    assert!(text.contains(&secret[..12]) && text.contains("active") && text.contains("ci"));
    assert!(
        text.contains("2099-01-01T00:00:00Z"),
        "the expiry is listed: {text}"
    );
    assert!(!text.contains(&secret), "the secret must never be listed");

    // Migrations are already applied: `migrate` has nothing to do and says so.
    let migrate = riposte(&["migrate"], &data)
        .env("RIPOSTE_LOG", "info")
        .output()
        .unwrap();
    assert!(migrate.status.success());
    assert!(String::from_utf8_lossy(&migrate.stderr).contains("up to date"));

    // The whole secret is refused without being repeated (it would land in terminals and
    // logs), with the prefix to give instead.
    let whole = riposte(&["keys", "revoke", &secret], &data)
        .output()
        .unwrap();
    assert!(!whole.status.success());
    let said = String::from_utf8_lossy(&whole.stderr).to_string()
        + &String::from_utf8_lossy(&whole.stdout);
    assert!(
        !said.contains(&secret[..20]),
        "the secret was echoed: {said}"
    );
    assert!(
        said.contains(&format!("prefix `{}`", &secret[..12])),
        "{said}"
    );

    let revoke = riposte(&["keys", "revoke", &secret[..12]], &data)
        .output()
        .unwrap();
    assert_ok(&revoke);
    let text =
        String::from_utf8(riposte(&["keys", "list"], &data).output().unwrap().stdout).unwrap();
    assert!(text.contains("revoked"));
    // Revoking it again changes nothing and says so.
    let again = riposte(&["keys", "revoke", &secret[..12]], &data)
        .output()
        .unwrap();
    assert_ok(&again);
    let said = String::from_utf8_lossy(&again.stderr).to_string()
        + &String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("was already revoked"), "{said}");

    let bad = riposte(&["keys", "create", "--name", "x", "--scope", "root"], &data)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("read, write, admin"));
}

/// SIGTERM lets a request that is still sending its body finish before the process exits.
#[tokio::test]
async fn sigterm_drains_in_flight_requests() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-drain")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let out = riposte(
        &["keys", "create", "--name", "drain", "--scope", "write"],
        &data,
    )
    .output()
    .unwrap();
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(
        riposte(&["serve", "--bind", &format!("127.0.0.1:{port}")], &data)
            .env("RIPOSTE_PG_MAX_WAL_SIZE", "2GB")
            .env("RIPOSTE_PG_SHARED_BUFFERS", "160MB")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    wait_ready(&client, &base, &mut server).await;
    assert_eq!(
        pg_settings(&data).await,
        ["2GB", "160MB"],
        "the embedded cluster takes its sizes from the environment"
    );

    // A body that takes about two seconds to arrive.
    let parts: Vec<&'static [u8]> = vec![
        b"{\"code\": \"FRA\", ",
        b"\"name\": \"France\", ",
        b"\"kind\": \"state\"}",
    ];
    let slow = futures_util::stream::unfold(0usize, move |i| {
        let parts = parts.clone();
        async move {
            if i >= parts.len() {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
            Some((Ok::<_, std::io::Error>(parts[i].to_vec()), i + 1))
        }
    });
    let request = client
        .post(format!("{base}/v1/actors"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(slow))
        .send();
    let pending = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(400)).await;
    unsafe {
        libc::kill(server.0.id() as i32, libc::SIGTERM);
    }
    let resp = pending
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(resp.status(), 201);
    let status = server.exit_status("did not exit after draining").await;
    assert!(status.success());
    // New connections are refused once it is gone.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}

#[test]
fn generate_refuses_an_out_of_range_size_before_touching_a_database() {
    let dir = tempfile::tempdir_in("/tmp").unwrap();
    let data = dir.path().join("data");
    for actions in ["0", "20000001", "many"] {
        let out = riposte(&["generate", "--actions", actions], &data)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--actions {actions}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--actions"), "{stderr}");
    }
    assert!(!data.exists(), "no cluster was made for a refused command");
}

/// `--data-dir` (and `--database-url`) work before the subcommand as well as after it.
#[test]
fn global_flags_go_before_or_after_the_subcommand() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-flags")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let before = std::process::Command::new(env!("CARGO_BIN_EXE_riposte"))
        .arg("--data-dir")
        .arg(&data)
        .args(["keys", "create", "--name", "first", "--scope", "read"])
        .env_remove("DATABASE_URL")
        .env("RIPOSTE_LOG", "warn")
        .output()
        .unwrap();
    assert_ok(&before);
    // `riposte` puts the flag after the subcommand: the same data directory, the same key.
    let after = riposte(&["keys", "list"], &data).output().unwrap();
    assert!(after.status.success());
    assert!(String::from_utf8_lossy(&after.stdout).contains("first"));
    // A bad date for --expires is refused with the accepted forms named.
    let bad = riposte(
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--scope",
            "read",
            "--expires",
            "+10000-01-01",
        ],
        &data,
    )
    .output()
    .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
}

/// `riposte export`: the API's export from the command line, to a file or stdout.
#[test]
fn export_from_the_command_line() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-export")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let seeded = riposte(&["seed", "xinjiang-2020"], &data).output().unwrap();
    assert_ok(&seeded);
    let file = dir.path().join("actions.csv");
    std::fs::write(&file, "an older export").unwrap();
    let out = riposte(
        &[
            "export",
            "--format",
            "csv",
            "--output",
            file.to_str().unwrap(),
        ],
        &data,
    )
    .output()
    .unwrap();
    assert_ok(&out);
    let csv = std::fs::read_to_string(&file).unwrap();
    assert!(csv.starts_with("id,title,initiator,target,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 9);
    // Written beside and put in place whole: nothing of the work is left around it, and the
    // file is readable as one created in place would be.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".riposte-export-")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o044, 0o044, "{mode:o}");
    let chinese = riposte(&["export", "--query", "initiator=CHN"], &data)
        .output()
        .unwrap();
    assert!(chinese.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(chinese.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|a| a["initiator"]["code"] == "CHN"));
    assert!(String::from_utf8_lossy(&chinese.stderr).contains("exported 2 actions"));
    let bad = riposte(&["export", "--query", "initiator=XXX"], &data)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown actor code `XXX`"));
    // The format in the query, as in the API's query string.
    let csv = riposte(&["export", "--query", "format=csv&initiator=CHN"], &data)
        .output()
        .unwrap();
    assert_ok(&csv);
    let text = String::from_utf8(csv.stdout).unwrap();
    assert!(text.starts_with("id,title,"), "{text}");
    assert_eq!(text.lines().count(), 1 + 2);

    // With its actors and histories, the export moves the data to a deployment that has none
    // of them, status histories included (the seed's Entity List listing was announced, then
    // put in force: without them, the copy would hold its last entry alone).
    let moved = dir.path().join("moved.ndjson");
    let out = riposte(
        &[
            "export",
            "--include-actors",
            "--include-history",
            "--output",
            moved.to_str().unwrap(),
        ],
        &data,
    )
    .output()
    .unwrap();
    assert_ok(&out);
    let text = std::fs::read_to_string(&moved).unwrap();
    let actors = text
        .lines()
        .filter(|l| l.starts_with("{\"actor\":"))
        .count();
    assert!(actors >= 10, "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("exported 9 actions and {actors} actor(s)")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let elsewhere = dir.path().join("elsewhere");
    let imported = riposte(&["import", moved.to_str().unwrap()], &elsewhere)
        .output()
        .unwrap();
    assert_ok(&imported);
    let histories = |data: &std::path::Path| -> Vec<String> {
        let out = riposte(
            &[
                "export",
                "--include-history",
                "--query",
                "sort=announced_on",
            ],
            data,
        )
        .output()
        .unwrap();
        assert_ok(&out);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let line: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{} {}", line["id"], line["status_history"])
            })
            .collect()
    };
    let here = histories(&data);
    assert_eq!(here.len(), 9);
    assert!(
        here.iter()
            .any(|h| h.contains("\"announced\"") && h.contains("\"in_force\"")),
        "{here:?}"
    );
    assert_eq!(histories(&elsewhere), here);
}

/// `riposte import` of the real PLOVER gold-standard records and of GDELT rows written from
/// the codebook: the states they name are created, what cannot be mapped is counted by
/// reason, a second run changes nothing, and the exit status says whether all was stored.
#[test]
fn import_from_the_command_line() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-import")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let plover = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/plover-gsr-cameo.json"
    );
    let run = |args: &[&str]| {
        let out = riposte(args, &data).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, log) = run(&["import", "--format", "plover", plover]);
    assert!(ok, "{log}");
    assert!(
        log.contains("323 read, 24 created, 0 updated, 0 unchanged, 0 rejected, 299 skipped"),
        "{log}"
    );
    assert!(log.contains("skipped 236: unmapped_event"), "{log}");
    assert!(log.contains("skipped 33: no_target"), "{log}");
    let (ok, log) = run(&["import", "--format", "plover", plover]);
    assert!(ok, "{log}");
    assert!(log.contains("0 created, 0 updated, 24 unchanged"), "{log}");
    // A PLOVER file's faults are numbered by record, and say so.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "[{\"id\": \"x1\"},\n {\"id\": }]\n").unwrap();
    let (ok, log) = run(&["import", "--format", "plover", broken.to_str().unwrap()]);
    assert!(!ok, "{log}");
    // Once: "record 2: record: JSON syntax error in record 2" said it three times.
    assert!(
        log.lines()
            .any(|l| l == "record 2: JSON syntax error: expected value at line 2 column 9"),
        "{log}"
    );
    assert!(log.contains("1 record(s) rejected"), "{log}");

    let gdelt = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gdelt-sample.export.CSV"
    );
    let (ok, log) = run(&["import", "--format", "gdelt", gdelt]);
    assert!(ok, "{log}");
    assert!(log.contains("19 read, 7 created"), "{log}");
    assert!(log.contains("skipped 4: not_state_to_state"), "{log}");
    // Every row twice: the second of each mapped one is rejected, the skipped ones are
    // skipped twice, and the closing line counts the stored apart from the skipped.
    let twice = dir.path().join("twice.CSV");
    let text = std::fs::read_to_string(gdelt).unwrap();
    std::fs::write(&twice, format!("{text}{text}")).unwrap();
    let (ok, log) = run(&[
        "import",
        "--format",
        "gdelt",
        "--partial",
        twice.to_str().unwrap(),
    ]);
    assert!(!ok, "{log}");
    // In the file's own words: it said "the same external_id in this source_dataset".
    assert!(
        log.contains("line 20: external_id: line 1 gives the same GLOBALEVENTID\n"),
        "{log}"
    );
    assert!(
        log.contains(
            "7 line(s) rejected (see above); 7 action line(s) were stored or found unchanged \
             (24 record(s) skipped, as counted above)"
        ),
        "{log}"
    );

    // Read back as any client would: a GDELT event with its source and Goldstein severity.
    let exported = riposte(&["export", "--query", "tag=gdelt"], &data)
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(exported.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    assert!(lines.iter().all(|a| a["source_dataset"] == "gdelt"
        && a["sources"][0]["url"].as_str().unwrap().starts_with("http")));

    // A file with a bad line: nothing stored and a failing exit, unless --partial.
    let file = dir.path().join("bad.ndjson");
    std::fs::write(
        &file,
        "{\"title\": \"Fine\", \"initiator\": \"USA\", \"target\": \"IRN\", \"type\": \"asset_freeze\", \"status\": \"in_force\", \"announced_on\": \"2024-01-02\", \"external_id\": \"x-1\"}\n\
         {\"title\": \"Bad\", \"initiator\": \"USA\", \"target\": \"ZZZ\", \"type\": \"asset_freeze\", \"status\": \"in_force\", \"announced_on\": \"2024-01-03\"}\n",
    )
    .unwrap();
    let (ok, log) = run(&["import", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        log.contains("line 2: target: unknown actor code `ZZZ`"),
        "{log}"
    );
    assert!(log.contains("nothing was stored"), "{log}");
    let (ok, log) = run(&["import", "--partial", file.to_str().unwrap()]);
    assert!(
        !ok,
        "a rejected line fails the run even when the others are stored"
    );
    assert!(log.contains("1 created"), "{log}");
    assert!(
        log.contains(
            "1 line(s) rejected (see above); 1 action line(s) were stored or found unchanged"
        ),
        "{log}"
    );
    // Every line bad: nothing was stored, and the message does not say otherwise.
    let bad = dir.path().join("all-bad.ndjson");
    std::fs::write(&bad, "{\"title\": 1}\n").unwrap();
    let (ok, log) = run(&["import", "--partial", bad.to_str().unwrap()]);
    assert!(!ok, "{log}");
    assert!(
        log.contains("nothing was stored: 1 line(s) rejected, none good"),
        "{log}"
    );
    let (ok, log) = run(&["import", "/nonexistent.ndjson"]);
    assert!(!ok);
    assert!(log.contains("cannot read /nonexistent.ndjson"), "{log}");
    let (ok, log) = run(&["import", dir.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(log.contains("is a directory"), "{log}");

    // Standard input (`-`) and a FIFO are read like files, though the import reads twice:
    // a FIFO used to block its second open for ever, and a pipe read as empty.
    let line = |n: u32| {
        format!(
            "{{\"title\": \"Piped {n}\", \"initiator\": \"USA\", \"target\": \"IRN\", \
             \"type\": \"asset_freeze\", \"status\": \"in_force\", \"announced_on\": \
             \"2024-02-0{n}\", \"external_id\": \"pipe-{n}\"}}\n"
        )
    };
    let mut child = riposte(&["import", "-"], &data)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The copy is named for the process, as a server's uploads are: a server starting
    // meanwhile sweeps the files of processes that are gone, and must leave this one. (It
    // was `riposte-import-` and six random characters, read as a process id when digits.)
    let mine = format!("riposte-import-{}-", child.id());
    let copy = || {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&mine))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while copy().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no {mine}* in the temporary directory"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    riposte::service::imports::sweep_spool();
    assert!(copy().is_some(), "the sweep left the running import's copy");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), line(1).as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("1 read, 1 created"), "{log}");
    let out = riposte(&["import", "-"], &data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("the file holds no lines"), "{log}");
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let writer = {
        let (fifo, text) = (fifo.clone(), line(2));
        std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
    };
    let (ok, log) = run(&["import", fifo.to_str().unwrap()]);
    writer.join().unwrap();
    assert!(ok, "{log}");
    assert!(log.contains("1 read, 1 created"), "{log}");

    // The wrong format: every record skipped, so nothing stored, and the run fails saying so.
    let (ok, log) = run(&["import", "--format", "gdelt", file.to_str().unwrap()]);
    assert!(!ok, "{log}");
    assert!(log.contains("skipped 2: malformed_line"), "{log}");
    assert!(
        log.contains("nothing was stored: all 2 record(s) were skipped"),
        "{log}"
    );
    assert!(log.contains("Is this file in the `gdelt` format?"), "{log}");
    let empty = dir.path().join("empty.ndjson");
    std::fs::write(&empty, "\n  \n").unwrap();
    let (ok, log) = run(&["import", empty.to_str().unwrap()]);
    assert!(!ok, "{log}");
    assert!(log.contains("the file holds no lines"), "{log}");
}

/// `RIPOSTE_LOG_FORMAT=json`: every line the server logs is one JSON object with timestamp,
/// level, target and message, and the access-log line of a request carries its
/// `X-Request-Id` and the prefix of the key it presented; `/metrics` of the real process
/// counts the request under its route.
#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-jsonlog")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let write_key = process::write_key(&data);
    let log_path = dir.path().join("stderr.log");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(
        riposte(
            &[
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--cors-origins",
                "https://dash.example",
                "--rate-limit-anonymous",
                "2",
            ],
            &data,
        )
        .env("RIPOSTE_LOG", "info")
        .env("RIPOSTE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap(),
    );
    let client = reqwest::Client::new();
    wait_ready(&client, &base, &mut server).await;
    let resp = client
        .get(format!("{base}/v1/actors/NOWHERE"))
        .header("x-request-id", "json-log-test-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-request-id"], "json-log-test-42");
    // A key sent in the URL is refused, and kept out of the log but for its prefix.
    let key = "rsk_4fQ2xk9PzLm3hT8vQn2WcR5yB7dK1sJ6uE0aG4iX9oV1o79OB";
    let resp = client
        .get(format!("{base}/v1/actors?api_key={key}"))
        .header("x-request-id", "json-log-key-43")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = client
        .get(format!("{base}/v1/actors"))
        .bearer_auth(&write_key)
        .header("x-request-id", "json-log-bearer-46")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Its last character changed: the checksum no longer holds.
    let last = if write_key.ends_with('x') { 'y' } else { 'x' };
    let mistyped = format!("{}{last}", &write_key[..write_key.len() - 1]);
    let resp = client
        .get(format!("{base}/v1/actors"))
        .bearer_auth(&mistyped)
        .header("x-request-id", "json-log-mistyped-47")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let metrics = get_text(&client, &format!("{base}/metrics")).await;
    assert!(
        metrics.contains(
            "riposte_http_requests_total{route=\"/v1/actors/{actor}\",method=\"GET\",status=\"404\"} 1\n"
        ),
        "{metrics}"
    );
    // A CORS preflight and a rate-limited request have their lines too: both are answered
    // by layers that stood outside the access log.
    let resp = client
        .request(reqwest::Method::OPTIONS, format!("{base}/v1/actions"))
        .header("origin", "https://dash.example")
        .header("access-control-request-method", "POST")
        .header("x-request-id", "json-log-preflight-44")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let mut limited = false;
    for _ in 0..20 {
        let resp = client
            .get(format!("{base}/v1/actors"))
            .header("x-request-id", "json-log-limited-45")
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "no request was limited");

    // Stopped, so that every line is written.
    unsafe {
        libc::kill(server.0.id() as i32, libc::SIGTERM);
    }
    let status = server
        .exit_status("riposte did not stop after SIGTERM")
        .await;
    assert!(status.success(), "exit status {status}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line[field].is_string(), "{field} missing in {line}");
        }
    }
    assert!(lines.iter().any(|l| l["message"]
        .as_str()
        .unwrap()
        .starts_with("serving on http://")));
    let access = lines
        .iter()
        .find(|l| l["request_id"] == "json-log-test-42")
        .unwrap_or_else(|| panic!("no line with the request id in\n{log}"));
    assert_eq!(access["level"], "INFO");
    let message = access["message"].as_str().unwrap();
    assert!(message.contains("GET /v1/actors/NOWHERE"), "{message}");
    assert!(message.contains(" 404 "), "{message}");
    let keyed = lines
        .iter()
        .find(|l| l["request_id"] == "json-log-key-43")
        .unwrap_or_else(|| panic!("no line with the request id in\n{log}"));
    let message = keyed["message"].as_str().unwrap();
    assert!(
        message.contains("GET /v1/actors?api_key=rsk_4fQ2xk9P… HTTP/1.1"),
        "{message}"
    );
    assert!(!log.contains(key), "the key reached the log");
    let bearer = lines
        .iter()
        .find(|l| l["request_id"] == "json-log-bearer-46")
        .unwrap_or_else(|| panic!("no line with the request id in\n{log}"));
    let message = bearer["message"].as_str().unwrap();
    assert!(
        message.ends_with(&format!("ms {} json-log-bearer-46", &write_key[..12])),
        "{message}"
    );
    assert!(!log.contains(&write_key), "the key reached the log");
    let mistyped_line = lines
        .iter()
        .find(|l| l["request_id"] == "json-log-mistyped-47")
        .unwrap_or_else(|| panic!("no line with the request id in\n{log}"));
    assert!(
        mistyped_line["message"]
            .as_str()
            .unwrap()
            .ends_with("ms malformed-key json-log-mistyped-47"),
        "{mistyped_line}"
    );
    assert!(
        !log.contains(&write_key[..20]),
        "the mistyped key reached the log"
    );
    assert!(
        access["message"]
            .as_str()
            .unwrap()
            .ends_with("ms - json-log-test-42"),
        "{access}"
    );
    for (id, line) in [
        (
            "json-log-preflight-44",
            "\"OPTIONS /v1/actions HTTP/1.1\" 200 ",
        ),
        ("json-log-limited-45", "\"GET /v1/actors HTTP/1.1\" 429 "),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l["request_id"] == id && l["message"].as_str().unwrap().contains(line)),
            "no access-log line {line} for {id} in\n{log}"
        );
    }
    chrono::DateTime::parse_from_rfc3339(access["timestamp"].as_str().unwrap())
        .expect("an RFC 3339 timestamp");
}

/// Each HTTP worker has a pool of its own; together they hold `--pool-size`, and /metrics
/// counts them all whichever worker answers.
#[tokio::test]
async fn worker_pools_share_the_pool_size() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-pools")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let key = process::write_key(&data);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = process::serve_with(&data, port, &["--workers", "2", "--pool-size", "5"]);
    wait_ready(&client, &base, &mut server).await;
    // Concurrent reads on separate connections, so that both workers open some.
    let reads = (0..40).map(|_| {
        let (client, base, key) = (reqwest::Client::new(), base.clone(), key.clone());
        async move {
            let resp = client
                .get(format!("{base}/v1/actors"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
        }
    });
    futures_util::future::join_all(reads).await;
    for _ in 0..10 {
        let text = get_text(&client, &format!("{base}/metrics")).await;
        let gauge = |prefix: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
                .trim()
                .parse()
                .unwrap()
        };
        assert_eq!(gauge("riposte_db_pool_max_connections "), 5.0, "{text}");
        let open = gauge("riposte_db_pool_connections{state=\"in_use\"} ")
            + gauge("riposte_db_pool_connections{state=\"idle\"} ");
        assert!((1.0..=5.0).contains(&open), "{text}");
    }
    drop(server);
}

/// A database URL that names no usable server ends a command with its reason, at once or
/// within the connect bound: a `connect_timeout` in the URL panicked (the migrations'
/// runtime had no timers), a refused connection gave no reason, and a port that accepts
/// and says nothing held every command for ever.
#[test]
fn a_database_url_without_a_server_fails_with_its_reason() {
    let (_dir, data) = fresh_data_dir();
    let closed = free_port();
    let url = format!("postgres://x@127.0.0.1:{closed}/db?connect_timeout=3");
    let out = riposte(&["--database-url", &url, "migrate"], &data)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("refused"), "the reason: {err}");
    assert!(!err.contains("panicked"), "{err}");

    // Accepts, then never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let _held = std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming().flatten() {
            held.push(conn);
        }
    });
    let url = format!("postgres://x@127.0.0.1:{port}/db");
    let started = std::time::Instant::now();
    let mut child = riposte(&["--database-url", &url, "migrate"], &data)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("riposte migrate still waits on a silent port after 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("no answer within"), "{err}");
}

/// Standard output that cannot be written (a pipe closed early, a full disk) is an error
/// saying so, not a panic; a key whose secret could not be written is revoked, not left
/// working with nobody holding its secret.
#[test]
fn unwritable_standard_output_is_an_error_and_loses_no_key() {
    let (_dir, data) = fresh_data_dir();
    let mut child = riposte(&["openapi"], &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut head).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = riposte(
        &["keys", "create", "--name", "lost", "--scope", "admin"],
        &data,
    )
    .stdout(full)
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the key was revoked"), "{err}");
    let list = riposte(&["keys", "list"], &data).output().unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    let lost: Vec<&str> = listed.lines().filter(|l| l.ends_with(" lost")).collect();
    assert_eq!(lost.len(), 1, "{listed}");
    assert!(lost[0].contains("revoked"), "{listed}");
}

/// Commands started together share the cluster one of them starts: on a new data directory
/// (each ran `initdb` into it, and all but one failed), on a stopped one (the others found its
/// lock file: "PostgreSQL stopped before it was ready"), and while its owner finishes (one
/// found it ready and connected just after the owner had sent the stop: "the database system
/// is shutting down"). The hand-over is tried in rounds, on one CPU, where its interleavings
/// are many: that last failure came once in about thirty rounds.
#[test]
fn commands_started_together_share_one_cluster() {
    let (_dir, data) = fresh_data_dir();
    let cpu = first_allowed_cpu();
    for round in 0..40 {
        let children: Vec<_> = (0..4)
            .map(|_| {
                // A command that may make the data directory (`keys list` refuses a new one).
                let cmd = riposte(&["keys", "create", "--name", "t", "--scope", "read"], &data);
                let mut pinned = std::process::Command::new("taskset");
                pinned
                    .args(["--cpu-list", &cpu])
                    .arg(cmd.get_program())
                    .args(cmd.get_args())
                    .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
                    .env_remove("DATABASE_URL")
                    .stderr(Stdio::piped())
                    .stdout(Stdio::null());
                pinned.spawn().unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The first CPU this process may run on (`taskset` refuses one outside its set).
fn first_allowed_cpu() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap();
    list.trim().split([',', '-']).next().unwrap().to_string()
}

/// An export whose reader stalls past --stall-timeout stops, saying so and how to avoid it;
/// it said "the database is restarting or unreachable" (PostgreSQL had ended its snapshot),
/// and a reader that never read again held it forever (blocked writing to the full pipe).
/// A reader that leaves is named as such; one that keeps up gets everything.
#[test]
fn an_export_whose_reader_stalls_says_so() {
    let (_dir, data) = fresh_data_dir();
    let made = riposte(&["generate", "--actions", "3000"], &data)
        .output()
        .unwrap();
    assert_ok(&made);
    // More than a pipe holds, so the writes wait for the reader, who never reads.
    let mut child = riposte(&["export", "--stall-timeout", "2s"], &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let unread = child.stdout.take().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the export still waits for a reader that took nothing for 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    drop(unread);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("what reads its output took no data for")
            && err.contains("more than --stall-timeout (2 s)")
            && err.contains("write to a file with --output"),
        "{err}"
    );

    // A reader that goes away.
    let mut child = riposte(&["export"], &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("what reads its output closed it"), "{err}");

    let out = riposte(&["export", "--stall-timeout", "2s"], &data)
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3000);
}

/// `--output` names where the export goes, not what to replace: a FIFO gets the export and
/// stays a FIFO, a link to a file stays a link, to the new export. (Written beside and
/// renamed over, `--output /dev/null` made /dev/null a regular file.)
#[test]
fn an_export_into_a_fifo_or_through_a_link_keeps_them() {
    let (dir, data) = fresh_data_dir();
    assert_ok(&riposte(&["seed", "xinjiang-2020"], &data).output().unwrap());
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = riposte(&["export", "--output", fifo.to_str().unwrap()], &data)
        .output()
        .unwrap();
    assert_ok(&out);
    let is_fifo = std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::symlink_metadata(&fifo).unwrap().file_type(),
    );
    assert!(is_fifo, "the FIFO was replaced by a file");
    assert_eq!(reader.join().unwrap().lines().count(), 9);

    let file = dir.path().join("actions.ndjson");
    std::fs::write(&file, "an older export").unwrap();
    let link = dir.path().join("latest.ndjson");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let out = riposte(&["export", "--output", link.to_str().unwrap()], &data)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 9);

    let out = riposte(&["export", "--output", dir.path().to_str().unwrap()], &data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));
}

/// A failing command says why once: as one JSON log line with `--log-format json` (every
/// line of stderr then parses), as one plain `error:` line otherwise. (Both were written,
/// so JSON collectors got a line they could not read, and people read everything twice.)
#[test]
fn a_failing_command_says_why_once_in_the_chosen_format() {
    let dir = tempfile::tempdir_in("/tmp").unwrap();
    let data = dir.path().join("data");
    let out = riposte(
        &["--log-format", "json", "generate", "--actions", "0"],
        &data,
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let out = riposte(
        &["--log-format", "json", "import", "/nonexistent.ndjson"],
        &data,
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(parsed["message"].is_string(), "{line}");
    }
    assert!(err.contains("cannot read /nonexistent.ndjson"), "{err}");

    let out = riposte(&["import", "/nonexistent.ndjson"], &data)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("cannot read /nonexistent.ndjson").count(),
        1,
        "{err}"
    );
    assert!(err.contains("error: cannot read"), "{err}");
}

/// Under `--log-format json` every line a command writes to stderr is a JSON object, its
/// reports included (an import's rejected lines and counts, a created key's notice): they
/// were plain text among the JSON log lines, which collectors could not parse.
#[test]
fn reports_are_json_lines_under_json_logs() {
    let dir = tempfile::tempdir_in("/tmp").unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("one-bad.ndjson");
    std::fs::write(&file, "{\"title\": \"no dates\", \"type\": \"sanction\"}\n").unwrap();
    let json_lines = |out: &std::process::Output| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    };
    let out = riposte(
        &["--log-format", "json", "import", file.to_str().unwrap()],
        &data,
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with("line 1: ")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("import ") && m.contains("1 rejected")),
        "{messages:?}"
    );
    assert!(lines
        .iter()
        .all(|l| l["timestamp"].is_string() && l["level"].is_string()));

    let out = riposte(
        &[
            "--log-format",
            "json",
            "keys",
            "create",
            "--name",
            "j",
            "--scope",
            "read",
        ],
        &data,
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert!(lines.iter().any(|l| l["message"]
        .as_str()
        .unwrap()
        .contains("shown only this once")));
}

/// Ctrl-C or SIGTERM during `riposte import` rolls it back and marks its job failed at once,
/// saying so (the job stayed `running` until its heartbeat went stale, and the command died
/// without a word: SIGTERM still did); the import lock is free for the next import at once.
#[tokio::test]
async fn ctrl_c_stops_an_import_and_says_nothing_was_stored() {
    let Fresh {
        server: _server,
        dir,
        data,
        key,
        base,
        client,
        ..
    } = Fresh::start("riposte-ctrlc").await;
    let file = dir.path().join("big.ndjson");
    let mut text = String::new();
    for i in 0..300_000 {
        text.push_str(&format!(
            "{{\"title\": \"Freeze {i}\", \"initiator\": \"USA\", \"target\": \"CHN\", \
             \"type\": \"asset_freeze\", \"status\": \"in_force\", \"announced_on\": \
             \"2024-01-02\", \"external_id\": \"big-{i}\", \"source_dataset\": \"t\"}}\n"
        ));
    }
    std::fs::write(&file, &text).unwrap();
    let actors = dir.path().join("actors.ndjson");
    std::fs::write(
        &actors,
        "{\"actor\": {\"code\": \"USA\", \"name\": \"United States\", \"kind\": \"state\"}}\n\
         {\"actor\": {\"code\": \"CHN\", \"name\": \"China\", \"kind\": \"state\"}}\n",
    )
    .unwrap();
    let out = riposte(&["import", actors.to_str().unwrap()], &data)
        .output()
        .unwrap();
    assert_ok(&out);

    // As a service manager or `timeout` stops it, too.
    for (signal, said) in [
        (nix::sys::signal::Signal::SIGINT, "Ctrl-C"),
        (nix::sys::signal::Signal::SIGTERM, "SIGTERM"),
    ] {
        let import = riposte(&["import", file.to_str().unwrap()], &data)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let get = |path: String| {
            let request = client.get(format!("{base}{path}")).bearer_auth(&key);
            async move {
                let body: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
                body
            }
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let job = loop {
            let page = get("/v1/imports".into()).await;
            let running = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["state"] == "running" && j["counts"]["read"].as_u64() > Some(0))
                .cloned();
            if let Some(job) = running {
                break job;
            }
            assert!(std::time::Instant::now() < deadline, "the import never ran");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(import.id() as i32), signal).unwrap();
        let out = tokio::task::spawn_blocking(move || import.wait_with_output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "interrupted ({said}) before it committed: nothing was stored"
            )),
            "{stderr}"
        );
        // Without a terminal the bar is hidden; progress comes as lines (there were none).
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("import: ") && l.contains(" read (")),
            "{stderr}"
        );
        let now = get(format!("/v1/imports/{}", job["id"].as_str().unwrap())).await;
        assert_eq!(now["state"], "failed", "{now}");
        assert!(now["error"].as_str().unwrap().contains(said), "{now}");
        let count = get("/v1/actions?limit=1&include_total=true".into()).await;
        assert_eq!(count["total"], 0, "{count}");
        // The lock is free: a small import runs at once.
        let out = riposte(&["import", actors.to_str().unwrap()], &data)
            .output()
            .unwrap();
        assert_ok(&out);
    }
}

/// A mistyped `--data-dir` given to a command that reads what is there is refused, and
/// nothing is made: `export` made a new empty cluster and wrote "exported 0 actions" over
/// the file it was given, and `keys list` listed no keys, both with success.
#[test]
fn reading_commands_refuse_a_data_directory_that_is_not_there() {
    let (dir, _) = fresh_data_dir();
    let typo = dir.path().join("riposte-dta");
    let backup = dir.path().join("backup.ndjson");
    std::fs::write(&backup, "a good backup\n").unwrap();
    for args in [
        vec!["export", "--output", backup.to_str().unwrap()],
        vec!["keys", "list"],
        vec!["keys", "revoke", "rip_nothing"],
    ] {
        let out = riposte(&args, &typo).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("there is no riposte database in"),
            "{args:?}: {err}"
        );
        assert!(!typo.exists(), "{args:?} made {}", typo.display());
    }
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "a good backup\n");
    // Making a key may come before the first `serve`.
    let out = riposte(
        &["keys", "create", "--name", "first", "--scope", "read"],
        &typo,
    )
    .output()
    .unwrap();
    assert_ok(&out);
}

/// Ctrl-C or SIGTERM during `export --output` removes the file being written beside it and
/// says so: the hidden file stayed, as large as the export had grown, and the command died
/// without a word.
#[test]
fn an_interrupted_export_leaves_no_file_behind() {
    let (dir, data) = fresh_data_dir();
    let made = riposte(&["generate", "--actions", "30000"], &data)
        .output()
        .unwrap();
    assert_ok(&made);
    let file = dir.path().join("all.ndjson");
    let beside = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".riposte-export-")
            })
            .map(|e| e.path())
            .collect()
    };
    let mut child = riposte(&["export", "--output", file.to_str().unwrap()], &data)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !beside()
        .iter()
        .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export ended first"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no export was written"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("interrupted (SIGTERM)"), "{err}");
    assert_eq!(beside(), Vec::<std::path::PathBuf>::new());
    assert!(!file.exists());
}
