//! Test harness: each test gets the real app on a random port, backed by its own database
//! copied from a migrated template, on a real PostgreSQL server.
//!
//! The server is the one named by `DATABASE_URL` or, when it is unset, a private cluster this
//! test process starts in a temporary directory and removes at exit.

use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

use riposte::auth::{Caller, Scope};
use riposte::embedded_pg::EmbeddedPostgres;
use riposte::state::{AppState, Config};

use super::contract;

struct Cluster {
    /// URL of a database named `{db}` on the server.
    url_pattern: String,
    template: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static EMBEDDED: Mutex<Option<(EmbeddedPostgres, tempfile::TempDir)>> = Mutex::new(None);

extern "C" fn stop_embedded() {
    if let Ok(mut guard) = EMBEDDED.lock() {
        // Dropping stops the server, then removes its directory.
        drop(guard.take());
    }
}

impl Cluster {
    fn url(&self, db: &str) -> String {
        self.url_pattern.replace("{db}", db)
    }
}

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        // Runs on a plain thread: migrations drive their own runtime, which may not nest in
        // the test's.
        std::thread::spawn(|| {
            let template = format!("riposte_template_{}", std::process::id());
            let url_pattern = match std::env::var("DATABASE_URL") {
                Ok(url) => {
                    let (base, _) = url.rsplit_once('/').expect("DATABASE_URL has a database");
                    format!("{base}/{{db}}")
                }
                Err(_) => {
                    let dir = tempfile::Builder::new()
                        .prefix("riposte-test-pg")
                        .tempdir()
                        .expect("temporary directory");
                    let pg = EmbeddedPostgres::start(&dir.path().join("data"), true)
                        .unwrap_or_else(|e| panic!("cannot start the test cluster: {e}"));
                    let pattern = pg.url("{db}");
                    *EMBEDDED.lock().unwrap() = Some((pg, dir));
                    unsafe {
                        libc::atexit(stop_embedded);
                    }
                    pattern
                }
            };
            let cluster = Cluster {
                url_pattern,
                template,
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(admin(
                &cluster,
                &format!("DROP DATABASE IF EXISTS {}", cluster.template),
            ));
            rt.block_on(admin(
                &cluster,
                &format!("CREATE DATABASE {}", cluster.template),
            ));
            drop(rt);
            riposte::db::migrate(&cluster.url(&cluster.template)).expect("migrate the template");
            cluster
        })
        .join()
        .expect("test cluster set-up")
    })
}

async fn admin(cluster: &Cluster, sql: &str) {
    let mut conn = AsyncPgConnection::establish(&cluster.url("postgres"))
        .await
        .expect("connect to the test server");
    diesel::sql_query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A fresh, migrated database; dropped when the returned guard is.
pub struct TestDb {
    pub url: String,
    name: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let cluster = cluster();
        let name = format!("riposte_test_{}", uuid::Uuid::new_v4().simple());
        admin(
            cluster,
            &format!("CREATE DATABASE {name} TEMPLATE {}", cluster.template),
        )
        .await;
        TestDb {
            url: cluster.url(&name),
            name,
        }
    }
}

impl TestDb {
    /// Drops the database now, cutting off whoever is connected.
    pub async fn drop_now(&self) {
        admin(
            cluster(),
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(admin(cluster(), &sql));
        })
        .join();
    }
}

/// Secrets of keys of each scope, made for every test app.
pub struct Keys {
    pub read: String,
    pub write: String,
    pub admin: String,
}

pub struct TestApp {
    pub base: String,
    pub keys: Keys,
    pub client: reqwest::Client,
    pub state: AppState,
    handle: actix_web::dev::ServerHandle,
    // Held for its Drop, which removes the database once the server is gone (None for a
    // second server on another app's database).
    db: Option<TestDb>,
    pub db_url: String,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(handle.stop(false));
        })
        .join();
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `field`s of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem+json error of this status, naming `field` when given.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, field: Option<&str>) -> &Self {
        self.assert_status(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        if let Some(field) = field {
            assert!(
                self.error_fields().iter().any(|f| f == field),
                "expected an error for `{field}`, got {}",
                self.text
            );
        }
        self
    }
}

impl TestApp {
    /// A plain connection to the test's database, beside the app's pool: for what a test
    /// does behind the API (fill a table, hold a lock, watch pg_stat_activity).
    pub async fn sql_client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.db_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }

    /// The app as configured by default, but without rate limits (tests send bursts).
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Config {
            rate_limits: Default::default(),
            ..Config::default()
        })
        .await
    }

    pub async fn spawn_with(config: Config) -> TestApp {
        let db = TestDb::new().await;
        let url = db.url.clone();
        Self::start(Some(db), url, config).await
    }

    /// A second server on this app's database (another riposte process, as far as the
    /// database can tell), with the same keys.
    pub async fn another_on_same_database(&self, config: Config) -> TestApp {
        let mut other = Self::start(None, self.db_url.clone(), config).await;
        other.keys = Keys {
            read: self.keys.read.clone(),
            write: self.keys.write.clone(),
            admin: self.keys.admin.clone(),
        };
        other
    }

    /// `another_on_same_database` configured like `spawn` (no rate limits).
    pub async fn second_server(&self) -> TestApp {
        self.another_on_same_database(Config {
            rate_limits: Default::default(),
            ..Config::default()
        })
        .await
    }

    async fn start(db: Option<TestDb>, url: String, config: Config) -> TestApp {
        let pool = riposte::db::pool(&url, 8).expect("pool");
        let state = AppState::with_config(pool, &url, config)
            .await
            .expect("app state");
        let keys = {
            let make = async |scope: Scope| {
                riposte::service::keys::create(&state.pool, &Caller::cli(), "test", scope, None)
                    .await
                    .unwrap()
                    .secret
            };
            Keys {
                read: make(Scope::Read).await,
                write: make(Scope::Write).await,
                admin: make(Scope::Admin).await,
            }
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().unwrap().port();
        // The server runs in its own actix system on its own thread, as in production, so
        // that stopping it never waits on the test's runtime.
        let (tx, rx) = std::sync::mpsc::channel();
        let server_state = state.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = riposte::app::server(
                    listener,
                    server_state,
                    1,
                    std::time::Duration::from_secs(30),
                )
                .expect("server");
                tx.send(server.handle()).expect("handle sent");
                server.await
            })
        });
        let handle = rx.recv().expect("server started");
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            keys,
            // Idle connections are dropped before the server's keep-alive (actix: 5 s) can
            // close them: a request sent on one the server is closing at that moment fails
            // with IncompleteMessage (seen once in CI, on a machine loaded by two test runs).
            client: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .expect("an HTTP client"),
            state,
            handle,
            db,
            db_url: url,
        }
    }

    pub async fn drop_database(&self) {
        if let Some(db) = &self.db {
            db.drop_now().await;
        }
    }

    /// Sends a request with the write key and checks the answer against the committed
    /// OpenAPI document.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        self.request_as(Some(&self.keys.write), method, path, body, headers)
            .await
    }

    /// Sends a request with the admin key.
    pub async fn as_admin(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        self.request_as(Some(&self.keys.admin), method, path, body, headers)
            .await
    }

    /// Sends a request with the given key (or none).
    pub async fn request_as(
        &self,
        key: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{}", self.base, path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        let resp = Resp {
            status,
            headers,
            text,
            body,
        };
        contract::check(method.as_str(), path, &resp);
        resp
    }

    /// Sends `body` as it is (a file to import) with the write key, checked like `request`.
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Resp {
        self.post_file(path, body, &[("content-type", "application/x-ndjson")])
            .await
    }

    /// `post_raw` with these headers instead.
    pub async fn post_file(&self, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Resp {
        let mut req = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.keys.write);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.body(body).send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let resp = Resp {
            status,
            headers,
            text,
            body,
        };
        contract::check("POST", path, &resp);
        resp
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::POST, path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::PATCH, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.request(Method::DELETE, path, None, &[]).await
    }

    /// Creates an actor, asserting success.
    pub async fn actor(&self, body: Value) -> Value {
        let resp = self.post("/v1/actors", &body).await;
        resp.assert_status(201);
        resp.body
    }

    /// The two states most tests need, plus a person and a body of China.
    pub async fn with_basics(&self) {
        self.actor(serde_json::json!({"code": "USA", "name": "United States", "kind": "state"}))
            .await;
        self.actor(serde_json::json!({"code": "CHN", "name": "China", "kind": "state"}))
            .await;
        self.actor(serde_json::json!({"code": "GBR", "name": "United Kingdom", "kind": "state"}))
            .await;
        self.actor(serde_json::json!({"code": "us-treasury", "name": "US Treasury", "kind": "government_body", "country": "USA", "parent": "USA"}))
            .await;
        self.actor(serde_json::json!({"code": "chen-quanguo", "name": "Chen Quanguo", "kind": "person", "country": "CHN"}))
            .await;
        self.actor(serde_json::json!({"code": "xinjiang-psb", "name": "Xinjiang Public Security Bureau", "kind": "government_body", "country": "CHN"}))
            .await;
    }

    /// The write key's document, as `GET /v1/api-keys` lists it.
    pub async fn write_key(&self) -> Value {
        let keys = self
            .as_admin(reqwest::Method::GET, "/v1/api-keys", None, &[])
            .await;
        keys.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["scope"] == "write")
            .expect("the write key")
            .clone()
    }

    /// Creates an action from `overrides` laid over a valid USA -> CHN asset freeze.
    pub async fn action(&self, overrides: Value) -> Value {
        let resp = self.post("/v1/actions", &action_body(overrides)).await;
        resp.assert_status(201);
        resp.body
    }
}

/// A valid action body with `overrides` applied (a null override removes the field).
pub fn action_body(overrides: Value) -> Value {
    let mut body = serde_json::json!({
        "title": "Asset freeze",
        "initiator": "USA",
        "target": "CHN",
        "type": "asset_freeze",
        "status": "in_force",
        "announced_on": "2020-07-09",
    });
    if let Value::Object(o) = overrides {
        for (k, v) in o {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(&k);
            } else {
                body[k] = v;
            }
        }
    }
    body
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

#[derive(diesel::QueryableByName, Debug)]
struct Problem {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    problem: String,
}

/// Fails with what disagrees when `check` (a query of `key, problem` rows from one of the
/// database's check functions, which recompute stored facts from scratch) finds anything.
pub async fn assert_no_problems(app: &TestApp, check: &str, step: &str) {
    let mut conn = app.state.pool.get().await.unwrap();
    let problems: Vec<Problem> = diesel::sql_query(check).load(&mut conn).await.unwrap();
    assert!(
        problems.is_empty(),
        "after {step}: {:?}",
        problems
            .iter()
            .map(|p| format!("{}: {}", p.key, p.problem))
            .collect::<Vec<_>>()
    );
}
