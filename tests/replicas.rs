//! Read replicas against real clusters: a primary and a streaming standby
//! (`tests/support/cluster.rs`), served by the real `riposte serve --replica-url`.
//!
//! Which database answered is read from `Riposte-Served-By`; the tests prove that reads
//! really reach the replica by pausing its replay (`pg_wal_replay_pause()`): a read without
//! a token then misses a fresh write, one with the write's token does not.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/process.rs"]
mod process;

use cluster::Cluster;
use process::{assert_ok, free_port, riposte, wait_ready, Server};

/// `riposte serve` on the cluster's primary with its standby as replica.
struct Riposte {
    _server: Server,
    base: String,
    client: reqwest::Client,
}

impl Riposte {
    async fn start(cluster: &Cluster) -> Riposte {
        Self::start_with(cluster, &[]).await
    }

    async fn start_with(cluster: &Cluster, extra: &[&str]) -> Riposte {
        let r = Self::launch(cluster, &cluster.standby.url(), extra).await;
        r.wait_replica("in_rotation").await;
        r
    }

    /// `riposte serve` with `replica` as its replica, ready to answer (whatever the
    /// replica's state).
    async fn launch(cluster: &Cluster, replica: &str, extra: &[&str]) -> Riposte {
        Self::launch_logging(cluster, replica, extra, Stdio::inherit()).await
    }

    /// `launch`, its standard error (the log) going to `log`.
    async fn launch_logging(
        cluster: &Cluster,
        replica: &str,
        extra: &[&str],
        log: Stdio,
    ) -> Riposte {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let primary = cluster.primary.url();
        let args = [
            "serve",
            "--bind",
            &bind,
            "--rate-limit",
            "0",
            "--rate-limit-anonymous",
            "0",
            "--webhook-deliveries",
            "false",
            "--database-url",
            &primary,
            "--replica-url",
            replica,
        ];
        let args: Vec<&str> = args.iter().copied().chain(extra.iter().copied()).collect();
        let mut server = Server(
            riposte(&args, &cluster.dir.path().join("unused"))
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        wait_ready(&client, &base, &mut server).await;
        Riposte {
            _server: server,
            base,
            client,
        }
    }

    /// Waits until `/readyz` reports the replica in `state`.
    async fn wait_replica(&self, state: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = self.get("/readyz", &[]).await;
            assert_eq!(ready.status, 200, "{}", ready.body);
            let replica = ready.body["replicas"][0].clone();
            if replica["state"] == state {
                return replica;
            }
            assert!(
                Instant::now() < deadline,
                "the replica never became {state}: {replica}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Answer::of(req.send().await.unwrap()).await
    }

    /// The value of the `/metrics` sample `name{labels}` (None when absent).
    async fn metric(&self, sample: &str) -> Option<f64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
    }

    async fn post(&self, key: &str, path: &str, body: &Value) -> Answer {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .json(body);
        Answer::of(req.send().await.unwrap()).await
    }
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    async fn of(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn served_by(&self) -> &str {
        self.header("riposte-served-by").unwrap_or("(none)")
    }

    fn token(&self) -> String {
        self.header("riposte-consistency")
            .expect("a consistency token")
            .to_string()
    }
}

/// A key of `scope`, made with `riposte keys create` on the primary.
fn key(cluster: &Cluster, scope: &str) -> String {
    let out = riposte(
        &[
            "keys",
            "create",
            "--name",
            "t",
            "--scope",
            scope,
            "--database-url",
            &cluster.primary.url(),
        ],
        &cluster.dir.path().join("unused"),
    )
    .stdout(Stdio::piped())
    .output()
    .unwrap();
    assert_ok(&out);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn action(title: &str) -> Value {
    json!({"title": title, "initiator": "USA", "target": "CHN", "type": "asset_freeze",
        "status": "in_force", "announced_on": "2020-07-09"})
}

/// The two states every action here is between, on the primary and replayed.
async fn states(cluster: &Cluster, app: &Riposte, key: &str) {
    for (code, name) in [("USA", "United States"), ("CHN", "China")] {
        let r = app
            .post(
                key,
                "/v1/actors",
                &json!({"code": code, "name": name, "kind": "state"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    cluster.wait_replayed().await;
}

#[tokio::test]
async fn a_token_reads_its_write_and_reads_without_one_go_to_the_replica() {
    let cluster = Cluster::start().await;
    let key = key(&cluster, "admin");
    let app = Riposte::start(&cluster).await;
    states(&cluster, &app, &key).await;

    // A caught-up replica serves reads.
    let r = app.get("/v1/actors/USA", &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "replica"), "{}", r.body);

    cluster
        .standby
        .execute("SELECT pg_wal_replay_pause()")
        .await;
    let created = app.post(&key, "/v1/actions", &action("fresh")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.token();
    let cookie = created.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.starts_with(&format!("riposte_consistency={token};"))
            && cookie.contains("Path=/")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let path = format!("/v1/actions/{}", created.body["id"].as_str().unwrap());

    // With the token: the replica cannot catch up (replay is paused), so the primary answers.
    let r = app
        .get(&path, &[("Riposte-Consistency", token.as_str())])
        .await;
    assert_eq!((r.status, r.served_by()), (200, "primary"), "{}", r.body);
    assert_eq!(r.body["title"], "fresh");
    // The cookie works the same way, for browsers.
    let as_cookie = format!("other=1; riposte_consistency={token}");
    let r = app.get(&path, &[("Cookie", as_cookie.as_str())]).await;
    assert_eq!((r.status, r.served_by()), (200, "primary"), "{}", r.body);
    let r = app
        .get("/v1/actions", &[("Riposte-Consistency", token.as_str())])
        .await;
    assert_eq!((r.status, r.served_by()), (200, "primary"));
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);

    // Without it: the replica answers, and it has not seen the write.
    let r = app.get(&path, &[]).await;
    assert_eq!((r.status, r.served_by()), (404, "replica"), "{}", r.body);
    let r = app.get("/v1/actions", &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "replica"));
    assert_eq!(r.body["items"], json!([]));

    // A key created on the primary works at once: keys are looked up on the primary.
    let made = app
        .post(
            &key,
            "/v1/api-keys",
            &json!({"name": "fresh", "scope": "write"}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let fresh_key = made.body["secret"].as_str().unwrap();
    let r = app.post(fresh_key, "/v1/actions", &action("second")).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // A malformed token is the client's error, named.
    let r = app
        .get(&path, &[("Riposte-Consistency", "yesterday")])
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("Riposte-Consistency"),
        "{}",
        r.body
    );

    // Once the replica replays past the token, it serves the read.
    cluster
        .standby
        .execute("SELECT pg_wal_replay_resume()")
        .await;
    cluster.wait_replayed_to(&token).await;
    let r = app
        .get(&path, &[("Riposte-Consistency", token.as_str())])
        .await;
    assert_eq!((r.status, r.served_by()), (200, "replica"), "{}", r.body);
    assert_eq!(r.body["title"], "fresh");

    // What operators see: the replica in rotation, its lag, and the decisions taken above
    // (replica reads, token waits that fell back to the primary).
    let replica = app.wait_replica("in_rotation").await;
    let name = format!("{{replica=\"{}\"}}", replica["name"].as_str().unwrap());
    assert_eq!(
        app.metric(&format!("riposte_replica_in_rotation{name}"))
            .await,
        Some(1.0)
    );
    assert!(app
        .metric(&format!("riposte_replica_lag_bytes{name}"))
        .await
        .is_some());
    let decision = |d: &str| format!("riposte_replica_routing_total{{decision=\"{d}\"}}");
    assert!(app.metric(&decision("replica")).await.unwrap() >= 3.0);
    assert!(app.metric(&decision("token_fallback")).await.unwrap() >= 1.0);
    assert!(app.metric(&decision("token_wait")).await.unwrap() >= 1.0);
}

/// A replica further behind than `--replica-max-lag` leaves the rotation (reads without a
/// token then come from the primary, with the latest data) and comes back once it caught up.
#[tokio::test]
async fn a_lagging_replica_leaves_the_rotation_and_comes_back() {
    let cluster = Cluster::start().await;
    let key = key(&cluster, "write");
    let app = Riposte::start_with(&cluster, &["--replica-max-lag", "1s"]).await;
    states(&cluster, &app, &key).await;
    cluster
        .standby
        .execute("SELECT pg_wal_replay_pause()")
        .await;
    let created = app.post(&key, "/v1/actions", &action("behind")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/v1/actions/{}", created.body["id"].as_str().unwrap());
    let lagging = app.wait_replica("lagging").await;
    assert!(lagging["lag_seconds"].as_f64().unwrap() > 1.0, "{lagging}");
    // Out of rotation: a read without a token is the primary's, and sees the write.
    let r = app.get(&path, &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "primary"), "{}", r.body);
    cluster
        .standby
        .execute("SELECT pg_wal_replay_resume()")
        .await;
    app.wait_replica("in_rotation").await;
    let r = app.get(&path, &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "replica"), "{}", r.body);
}

#[tokio::test]
async fn reads_survive_the_replica_going_down_and_it_comes_back() {
    let mut cluster = Cluster::start().await;
    let key = key(&cluster, "write");
    let app = Riposte::start(&cluster).await;
    states(&cluster, &app, &key).await;
    let created = app.post(&key, "/v1/actions", &action("kept")).await;
    assert_eq!(created.status, 201);
    cluster.wait_replayed().await;
    let path = format!("/v1/actions/{}", created.body["id"].as_str().unwrap());
    assert_eq!(app.get(&path, &[]).await.served_by(), "replica");

    cluster.standby.stop_immediately();
    // Straight away, before any health check noticed: every read still answers, from the
    // primary (the replica's pooled connections are dead, new ones are refused).
    for _ in 0..20 {
        let r = app.get(&path, &[]).await;
        assert_eq!((r.status, r.served_by()), (200, "primary"), "{}", r.body);
        assert_eq!(r.body["title"], "kept");
        let r = app.get("/v1/actions?limit=5", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = app.get("/v1/dyads/USA/CHN", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let down = app.wait_replica("down").await;
    assert!(down["error"].is_string(), "{down}");
    let ready = app.get("/readyz", &[]).await;
    assert_eq!(
        ready.status, 200,
        "the primary still serves: {}",
        ready.body
    );

    cluster.standby.start().await;
    cluster.wait_streaming().await;
    let back = app.wait_replica("in_rotation").await;
    assert!(back["lag_bytes"].is_u64(), "{back}");
    let r = app.get(&path, &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "replica"), "{}", r.body);
}

#[tokio::test]
async fn etags_and_page_tokens_hold_across_servers_and_replicas() {
    let cluster = Cluster::start().await;
    let key = key(&cluster, "write");
    let one = Riposte::start(&cluster).await;
    let two = Riposte::start(&cluster).await;
    states(&cluster, &one, &key).await;
    let created = one.post(&key, "/v1/actions", &action("tagged")).await;
    assert_eq!(created.status, 201);
    cluster.wait_replayed().await;
    let path = format!("/v1/actions/{}", created.body["id"].as_str().unwrap());

    // The ETag a replica's answer carries is the write's, the primary's and the other
    // server's.
    let first = one.get(&path, &[]).await;
    assert_eq!((first.status, first.served_by()), (200, "replica"));
    let etag = first.header("etag").unwrap().to_string();
    assert_eq!(created.header("etag"), Some(etag.as_str()));
    let r = two.get(&path, &[("If-None-Match", etag.as_str())]).await;
    assert_eq!((r.status, r.served_by()), (304, "replica"));

    // A page token made by one server from a replica's page takes the other to the next
    // page, whichever database answers.
    let page = one.get("/v1/actors?limit=1", &[]).await;
    assert_eq!((page.status, page.served_by()), (200, "replica"));
    assert_eq!(page.body["items"][0]["code"], "CHN");
    let token = page.body["next_page_token"].as_str().unwrap().to_string();
    let next = two
        .get(&format!("/v1/actors?limit=1&page_token={token}"), &[])
        .await;
    assert_eq!(
        (next.status, next.served_by()),
        (200, "replica"),
        "{}",
        next.body
    );
    assert_eq!(next.body["items"][0]["code"], "USA");

    // The same on the primary: pause replay and present a newer write's token.
    cluster
        .standby
        .execute("SELECT pg_wal_replay_pause()")
        .await;
    let later = one.post(&key, "/v1/actions", &action("later")).await;
    let newer = later.token();
    let fresh = [("Riposte-Consistency", newer.as_str())];
    let r = two
        .get(&path, &[("If-None-Match", etag.as_str()), fresh[0]])
        .await;
    assert_eq!((r.status, r.served_by()), (304, "primary"));
    let next = two
        .get(&format!("/v1/actors?limit=1&page_token={token}"), &fresh)
        .await;
    assert_eq!(
        (next.status, next.served_by()),
        (200, "primary"),
        "{}",
        next.body
    );
    assert_eq!(next.body["items"][0]["code"], "USA");
    cluster
        .standby
        .execute("SELECT pg_wal_replay_resume()")
        .await;
}

#[tokio::test]
async fn a_promoted_replica_leaves_the_rotation() {
    let cluster = Cluster::start().await;
    let key = key(&cluster, "write");
    let app = Riposte::start(&cluster).await;
    states(&cluster, &app, &key).await;
    // The analysis reads spread over several connections sharing one snapshot: that works
    // on a standby too.
    let created = app.post(&key, "/v1/actions", &action("root")).await;
    cluster.wait_replayed().await;
    let chain = format!("/v1/actions/{}/chain", created.body["id"].as_str().unwrap());
    let r = app.get(&chain, &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "replica"), "{}", r.body);
    let r = app.get("/v1/dyads/USA/CHN", &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "replica"), "{}", r.body);

    // What that relies on, checked directly: a standby exports a snapshot and imports it
    // on another of its own connections.
    let exporting = cluster.standby.connect().await.unwrap();
    exporting
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .unwrap();
    let snapshot: String = exporting
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .unwrap()
        .get(0);
    let importing = cluster.standby.connect().await.unwrap();
    importing
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT \
             '{snapshot}'; COMMIT"
        ))
        .await
        .unwrap();
    exporting.batch_execute("COMMIT").await.unwrap();

    cluster.standby.execute("SELECT pg_promote()").await;
    let promoted = app.wait_replica("promoted").await;
    assert!(promoted["error"].as_str().unwrap().contains("promoted"));
    let r = app.get("/v1/actors/USA", &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "primary"));
}

/// A replica URL naming another database (here another database of the same cluster, which
/// the standby copies too) would answer every read with the wrong data, token reads included:
/// it is kept out of the rotation, saying why.
#[tokio::test]
async fn a_replica_of_another_database_is_kept_out() {
    let cluster = Cluster::start().await;
    let key = key(&cluster, "write");
    cluster.primary.execute("CREATE DATABASE staging").await;
    cluster.wait_replayed().await;
    let staging = cluster.standby.url().replace("@/postgres?", "@/staging?");
    assert_ne!(staging, cluster.standby.url());
    let app = Riposte::launch(&cluster, &staging, &[]).await;
    let down = app.wait_replica("down").await;
    assert!(
        down["error"]
            .as_str()
            .unwrap()
            .contains("not a copy of the primary's database"),
        "{down}"
    );
    states(&cluster, &app, &key).await;
    let r = app.get("/v1/actors/USA", &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "primary"), "{}", r.body);
}

/// With `--public-read false`, `/readyz` names replicas (internal hosts) and their errors to
/// keys only: a caller without one (a load balancer) sees `status` alone. They went to
/// anyone, while `/metrics`, which names them too, asked for a key.
#[tokio::test]
async fn private_reads_keep_replica_details_from_callers_without_a_key() {
    let mut cluster = Cluster::start().await;
    let read = key(&cluster, "read");
    cluster.standby.stop_immediately();
    let app = Riposte::launch(
        &cluster,
        &cluster.standby.url(),
        &["--public-read", "false"],
    )
    .await;
    let bearer = format!("Bearer {read}");
    let with_key = [("authorization", bearer.as_str())];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = app.get("/readyz", &with_key).await;
        assert_eq!(ready.status, 200, "{}", ready.body);
        if ready.body["replicas"][0]["state"] == "down" {
            assert!(
                ready.body["replicas"][0]["error"].is_string(),
                "{}",
                ready.body
            );
            break;
        }
        assert!(Instant::now() < deadline, "never down: {}", ready.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for headers in [&[][..], &[("authorization", "Bearer rsk_refused")][..]] {
        let ready = app.get("/readyz", headers).await;
        assert_eq!(ready.status, 200, "{}", ready.body);
        assert_eq!(ready.body, json!({"status": "ready"}), "{headers:?}");
    }
}

/// A replica that cannot be reached is logged once, by name, when it goes down: each failed
/// health check (one a second) had logged "no database connection" without saying which.
#[tokio::test]
async fn an_unreachable_replica_is_logged_once_by_name() {
    let mut cluster = Cluster::start().await;
    cluster.standby.stop_immediately();
    let log_path = cluster.dir.path().join("riposte.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let app = Riposte::launch_logging(&cluster, &cluster.standby.url(), &[], log.into()).await;
    let down = app.wait_replica("down").await;
    let name = down["name"].as_str().unwrap().to_string();
    // Four more checks fail.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(app.wait_replica("down").await["name"], name.as_str());
    drop(app);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let about: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connection") || l.contains("replica"))
        .collect();
    assert_eq!(about.len(), 1, "one line, at the change: {log}");
    assert!(
        about[0].contains(&format!("replica {name}: starting -> down"))
            && about[0].contains("connect"),
        "it names the replica and the cause: {log}"
    );
}

/// A replica already behind when riposte starts is behind every position riposte has seen of
/// the primary: its lag is not known to be within `--replica-max-lag`, so it stays out of
/// the rotation until it catches up. (It was counted from riposte's first look, 0 s, and
/// served stale reads for `--replica-max-lag`.)
#[tokio::test]
async fn a_replica_behind_when_riposte_starts_waits_to_catch_up() {
    let cluster = Cluster::start().await;
    let key = key(&cluster, "write");
    let first = Riposte::start(&cluster).await;
    states(&cluster, &first, &key).await;
    cluster
        .standby
        .execute("SELECT pg_wal_replay_pause()")
        .await;
    let created = first
        .post(&key, "/v1/actions", &action("before the start"))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/v1/actions/{}", created.body["id"].as_str().unwrap());
    let second = Riposte::launch(
        &cluster,
        &cluster.standby.url(),
        &["--replica-max-lag", "60s"],
    )
    .await;
    let lagging = second.wait_replica("lagging").await;
    assert!(
        lagging["error"].as_str().unwrap().starts_with("at least"),
        "{lagging}"
    );
    let r = second.get(&path, &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "primary"), "{}", r.body);
    cluster
        .standby
        .execute("SELECT pg_wal_replay_resume()")
        .await;
    second.wait_replica("in_rotation").await;
    let r = second.get(&path, &[]).await;
    assert_eq!((r.status, r.served_by()), (200, "replica"), "{}", r.body);
}

/// Reads already on a replica when it freezes (a hung host, a partition: connections open,
/// nothing answers) are answered by the primary once the health check finds the replica
/// down, not with a 503 at the request's deadline; reads waiting with a token for it to
/// replay a write stop waiting at the token's wait.
#[tokio::test]
async fn reads_in_flight_on_a_frozen_replica_are_answered_by_the_primary() {
    let cluster = Cluster::start().await;
    let key = key(&cluster, "write");
    let app = Riposte::start(&cluster).await;
    states(&cluster, &app, &key).await;
    let created = app.post(&key, "/v1/actions", &action("kept")).await;
    assert_eq!(created.status, 201);
    cluster.wait_replayed().await;
    let path = format!("/v1/actions/{}", created.body["id"].as_str().unwrap());
    // Pooled connections to the replica, idle and open.
    for _ in 0..4 {
        assert_eq!(app.get(&path, &[]).await.served_by(), "replica");
    }
    // A write just made: reads with its token wait for the replica to replay it.
    let fresh = app.post(&key, "/v1/actions", &action("fresh")).await;
    assert_eq!(fresh.status, 201);
    let token = fresh.token();
    let fresh_path = format!("/v1/actions/{}", fresh.body["id"].as_str().unwrap());
    cluster.standby.freeze();
    let with_token = [("riposte-consistency", token.as_str())];
    let reads = futures_util::future::join_all((0..6).map(|i| match i % 3 {
        0 => app.get(&fresh_path, &with_token),
        _ => app.get(&path, &[]),
    }))
    .await;
    let answered: Vec<(u16, String)> = reads
        .iter()
        .map(|r| (r.status, r.served_by().to_string()))
        .collect();
    // Thawed before anything can fail: a frozen server cannot be stopped at the end.
    cluster.standby.thaw();
    assert!(
        answered
            .iter()
            .all(|(status, by)| *status == 200 && by == "primary"),
        "{answered:?}"
    );
    app.wait_replica("in_rotation").await;
}
