//! `riposte generate`, run as a user would, into fresh data directories: what it loads (read
//! back through SQL and the API), that it is deterministic per seed, that it leaves the
//! schema exactly as the migrations made it, and that it refuses a database with data.

use std::path::Path;
use std::process::{Output, Stdio};

#[path = "support/process.rs"]
mod process;
use process::{assert_ok, free_port, riposte, wait_ready, Server};

const ACTIONS: i64 = 20_000;
const TABLES: &[&str] = &[
    "actors",
    "actions",
    "designations",
    "sources",
    "responses",
    "status_changes",
];

fn generate(data: &Path, seed: u64) -> Output {
    riposte(
        &[
            "generate",
            "--actions",
            &ACTIONS.to_string(),
            "--seed",
            &seed.to_string(),
        ],
        data,
    )
    .output()
    .unwrap()
}

async fn serve(data: &Path, client: &reqwest::Client) -> (Server, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(
        riposte(
            &[
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--workers",
                "1",
            ],
            data,
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap(),
    );
    wait_ready(client, &base, &mut server).await;
    (server, base)
}

/// A connection to the embedded cluster a running riposte keeps in `data`.
async fn pg(data: &Path) -> tokio_postgres::Client {
    let mut config = tokio_postgres::Config::new();
    config
        .host_path(data)
        .port(5432)
        .user("postgres")
        .dbname("postgres");
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn scalar_i64(pg: &tokio_postgres::Client, sql: &str) -> i64 {
    pg.query_one(sql, &[]).await.unwrap().get(0)
}

/// A digest of every column of every row of a table.
async fn checksum(pg: &tokio_postgres::Client, table: &str) -> String {
    pg.query_one(
        &format!("SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t"),
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

/// Every index and constraint of the generated tables, as definitions.
async fn catalog(pg: &tokio_postgres::Client) -> Vec<String> {
    let rows = pg
        .query(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index \
             WHERE indrelid = ANY(ARRAY(SELECT to_regclass(t) FROM unnest($1::text[]) t)) \
             UNION ALL \
             SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) \
             FROM pg_constraint \
             WHERE conrelid = ANY(ARRAY(SELECT to_regclass(t) FROM unnest($1::text[]) t)) \
             ORDER BY 1",
            &[&TABLES],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// How many actions full-text search finds for `words`.
async fn matches(pg: &tokio_postgres::Client, words: &str) -> i64 {
    let sql = "SELECT count(*) FROM actions WHERE search @@ plainto_tsquery('english', $1)";
    pg.query_one(sql, &[&words]).await.unwrap().get(0)
}

async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn generate_loads_a_deterministic_realistic_data_set() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-gen")
        .tempdir_in("/tmp")
        .unwrap();
    let (d1, d2, d3) = (
        dir.path().join("one"),
        dir.path().join("two"),
        dir.path().join("three"),
    );
    let client = reqwest::Client::new();

    // Two fresh directories, the same seed.
    let (first, second) = std::thread::scope(|s| {
        let a = s.spawn(|| generate(&d1, 7));
        let b = s.spawn(|| generate(&d2, 7));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ok(&first);
    assert_ok(&second);
    let report = String::from_utf8_lossy(&first.stdout);
    assert!(report.contains("actions               20,000"), "{report}");
    assert!(report.contains("busiest dyad: USA-CHN"), "{report}");
    // Not a terminal: progress is one line per tenth.
    let log = String::from_utf8_lossy(&first.stderr);
    assert!(log.contains("/20,000 actions"), "{log}");

    // A third directory, another seed, generated while a server runs on it (generate then
    // uses the server's PostgreSQL); the schema is the same before and after.
    let (_s3, _) = serve(&d3, &client).await;
    let pg3 = pg(&d3).await;
    let before = catalog(&pg3).await;
    assert_ok(&generate(&d3, 8));
    assert_eq!(
        catalog(&pg3).await,
        before,
        "keys, indexes or foreign keys changed"
    );

    let ((_s1, base), (_s2, _)) = (serve(&d1, &client).await, serve(&d2, &client).await);
    let (pg1, pg2) = (pg(&d1).await, pg(&d2).await);

    for table in TABLES {
        assert_eq!(
            checksum(&pg1, table).await,
            checksum(&pg2, table).await,
            "{table} differs between two runs with seed 7"
        );
    }
    assert_ne!(
        checksum(&pg1, "actions").await,
        checksum(&pg3, "actions").await
    );
    assert_ne!(
        checksum(&pg1, "actors").await,
        checksum(&pg3, "actors").await
    );

    // Counts and shape.
    assert_eq!(
        scalar_i64(&pg1, "SELECT count(*) FROM actions").await,
        ACTIONS
    );
    let states = scalar_i64(&pg1, "SELECT count(*) FROM actors WHERE kind = 'state'").await;
    assert!((185..=200).contains(&states), "{states} states");
    let people = scalar_i64(&pg1, "SELECT count(*) FROM actors WHERE kind = 'person'").await;
    assert!(people >= 2_000, "{people} people");
    let answering = scalar_i64(&pg1, "SELECT count(DISTINCT action_id) FROM responses").await;
    let share = answering as f64 / ACTIONS as f64;
    assert!((0.15..=0.25).contains(&share), "{share} answer");
    let busiest = pg1
        .query_one(
            "SELECT least(i.code, t.code), greatest(i.code, t.code), count(*) FROM actions a \
             JOIN actors i ON i.id = a.initiator_id JOIN actors t ON t.id = a.target_id \
             GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (a, b, pair_count): (String, String, i64) =
        (busiest.get(0), busiest.get(1), busiest.get(2));
    assert_eq!((a.as_str(), b.as_str()), ("CHN", "USA"));
    let top_share = pair_count as f64 / ACTIONS as f64;
    assert!(
        (0.05..=0.12).contains(&top_share),
        "busiest dyad holds {top_share}"
    );

    // What the API would have refused, the data must not contain.
    for (what, sql) in [
        (
            "answers dated before what they answer",
            "SELECT count(*) FROM responses r JOIN actions a ON a.id = r.action_id \
             JOIN actions t ON t.id = r.responds_to_id WHERE t.announced_on > a.announced_on",
        ),
        (
            "implementations by another initiator, or of non-threats",
            "SELECT count(*) FROM responses r JOIN actions a ON a.id = r.action_id \
             JOIN actions t ON t.id = r.responds_to_id JOIN action_types y ON y.code = t.type_code \
             WHERE r.relation = 'implements' \
               AND (a.initiator_id <> t.initiator_id OR y.category <> 'threat')",
        ),
        (
            "answers across dyads",
            "SELECT count(*) FROM responses r JOIN actions a ON a.id = r.action_id \
             JOIN actions t ON t.id = r.responds_to_id \
             WHERE least(a.initiator_id, a.target_id) <> least(t.initiator_id, t.target_id) \
                OR greatest(a.initiator_id, a.target_id) <> greatest(t.initiator_id, t.target_id)",
        ),
        (
            "designated_names not as the service writes them",
            "SELECT count(*) FROM actions a WHERE designated_names <> coalesce(( \
                 SELECT string_agg(x.name, ' ' ORDER BY x.code) FROM designations d \
                 JOIN actors x ON x.id = d.actor_id WHERE d.action_id = a.id), '')",
        ),
        (
            "status other than the last of the history",
            "SELECT count(*) FROM actions a WHERE status IS DISTINCT FROM ( \
                 SELECT status FROM status_changes WHERE action_id = a.id \
                 ORDER BY changed_on DESC, id DESC LIMIT 1)",
        ),
        (
            "history out of order",
            "SELECT count(*) FROM (SELECT changed_on < lag(changed_on) \
                 OVER (PARTITION BY action_id ORDER BY id) AS back FROM status_changes) s \
             WHERE back",
        ),
        (
            "designations of people who are not the target's",
            "SELECT count(*) FROM designations d JOIN actions a ON a.id = d.action_id \
             JOIN actors x ON x.id = d.actor_id JOIN actors t ON t.id = a.target_id \
             WHERE x.country <> t.code",
        ),
        (
            "actions not tagged synthetic",
            "SELECT count(*) FROM actions WHERE NOT 'synthetic' = ANY(tags)",
        ),
        (
            "graph facts other than the triggers would keep (migration 000008)",
            "SELECT count(*) FROM check_graph_facts()",
        ),
        (
            "analysis aggregates other than the triggers would keep (migration 000016)",
            "SELECT count(*) FROM check_analysis_aggregates()",
        ),
        (
            "stored documents other than the triggers would keep (migration 000017)",
            "SELECT count(*) FROM check_action_documents()",
        ),
        (
            "a backfill of stored documents left pending",
            "SELECT count(*) FROM pending_backfills",
        ),
        (
            "triggers left disabled",
            "SELECT count(*) FROM pg_trigger \
             WHERE tgrelid IN ('actions'::regclass, 'responses'::regclass, \
                               'designations'::regclass, 'sources'::regclass) \
               AND NOT tgisinternal AND tgenabled <> 'O'",
        ),
    ] {
        assert_eq!(scalar_i64(&pg1, sql).await, 0, "{what}");
    }
    let implemented = scalar_i64(
        &pg1,
        "SELECT count(DISTINCT responds_to_id) FROM responses WHERE relation = 'implements'",
    )
    .await;
    let threats = scalar_i64(
        &pg1,
        "SELECT count(*) FROM actions a JOIN action_types t ON t.code = a.type_code \
         WHERE t.category = 'threat'",
    )
    .await;
    assert!(
        implemented * 5 >= threats,
        "{implemented} of {threats} threats implemented"
    );
    // The sequences continue after the loaded ids.
    let next = scalar_i64(
        &pg1,
        "SELECT nextval(pg_get_serial_sequence('sources', 'id'))",
    )
    .await;
    assert_eq!(
        next,
        scalar_i64(&pg1, "SELECT max(id) + 1 FROM sources").await
    );

    // The API serves it.
    let page = get_json(&client, &format!("{base}/v1/actions?limit=5")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    let answer: String = pg1
        .query_one(
            "SELECT action_id::text FROM responses ORDER BY action_id LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let chain = get_json(&client, &format!("{base}/v1/actions/{answer}/chain")).await;
    let nodes = chain["nodes"].as_array().unwrap();
    assert!(nodes.len() >= 2, "{chain}");
    assert_eq!(chain["summary"]["actions"], nodes.len());
    let dyad = get_json(&client, &format!("{base}/v1/dyads/USA/CHN")).await;
    let api_count =
        dyad["a_to_b"]["count"].as_i64().unwrap() + dyad["b_to_a"]["count"].as_i64().unwrap();
    assert_eq!(api_count, pair_count);
    assert!(dyad["a_to_b"]["threats_implemented"].as_i64().unwrap() > 0);

    // Full-text search finds words of titles and the names of the designated.
    assert!(matches(&pg1, "sanctions").await > 0);
    assert_eq!(matches(&pg1, "zzzz").await, 0);
    let named: String = pg1
        .query_one(
            "SELECT designated_names FROM actions WHERE designated_names <> '' LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(matches(&pg1, &named).await > 0, "{named}");

    // A second generate into the same database is refused and changes nothing.
    let again = generate(&d1, 9);
    assert!(!again.status.success());
    let message = String::from_utf8_lossy(&again.stderr);
    assert!(
        message.contains("already holds") && message.contains("fresh --data-dir"),
        "{message}"
    );
    assert_eq!(
        scalar_i64(&pg1, "SELECT count(*) FROM actions").await,
        ACTIONS
    );
}

/// Ctrl-C in the middle of the load: riposte dies, its PostgreSQL (told by the kernel) stops
/// at once, and the single transaction never commits. The next run finds an empty database
/// in the same directory and fills it.
#[test]
fn an_interrupted_load_leaves_nothing_behind() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::Builder::new()
        .prefix("riposte-gen-int")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let mut command = riposte(&["generate", "--actions", "300000"], &data);
    // A shell that starts a job in the background without job control (`cmd &` in a
    // script, as CI may run us) has it ignore SIGINT, and the ignoring is inherited: give
    // the child the disposition a terminal's Ctrl-C meets.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Progress goes to stderr a line per tenth; the first line about `actions` means the
    // COPY into the actions table is under way, inside the transaction.
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let copying = line.starts_with("actions ");
        seen.push(line);
        if copying {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.starts_with("actions ")),
        "generate ended before loading actions:\n{}",
        seen.join("\n")
    );
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "an interrupted generate reported success"
    );
    // Its PostgreSQL goes too (it removes postmaster.pid when it has stopped).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while data.join("postmaster.pid").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "PostgreSQL still runs in {} after generate was interrupted",
            data.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let again = riposte(&["generate", "--actions", "2000"], &data)
        .output()
        .unwrap();
    assert_ok(&again);
    let report = String::from_utf8_lossy(&again.stdout);
    assert!(report.contains("actions                2,000"), "{report}");
}
