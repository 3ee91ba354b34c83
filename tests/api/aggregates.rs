//! The analysis aggregates (migration 000016) follow every kind of write, and the windows the
//! endpoints answer from them agree with the actions themselves, edge days included.

use diesel::sql_types::Text;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use reqwest::Method;
use serde_json::{json, Value};

use super::helpers::{assert_no_problems, id_of, TestApp};
use super::imports::import;

/// Fails with what disagrees when the aggregates differ from a recomputation: first as
/// readers see them (stored rows and pending tallies), then with every pending tally folded
/// in, as the sequencer folds them.
pub(crate) async fn assert_aggregates(app: &TestApp, step: &str) {
    let check = "SELECT key, problem FROM check_analysis_aggregates()";
    assert_no_problems(app, check, step).await;
    fold_everything(app).await;
    assert_no_problems(app, check, &format!("{step}, folded")).await;
}

/// One `count(*) AS n`.
#[derive(QueryableByName, Debug)]
pub(crate) struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) n: i64,
}

async fn pending(conn: &mut diesel_async::AsyncPgConnection) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM action_tallies_pending")
        .get_result::<Count>(conn)
        .await
        .unwrap()
        .n
}

/// Folds until nothing is pending (a background fold may hold some rows for a moment).
async fn fold_everything(app: &TestApp) {
    let mut conn = app.state.pool.get().await.unwrap();
    for _ in 0..100 {
        diesel::sql_query("SELECT fold_pending_tallies()")
            .execute(&mut conn)
            .await
            .unwrap();
        if pending(&mut conn).await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("pending tallies were never folded");
}

#[derive(QueryableByName, Debug)]
struct Json {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    v: Value,
}

/// The most active dyads of a window computed straight from the actions, as the API shows
/// them (the alphabetically first code as `a`; ties by count and last day in the order of
/// the actor ids).
async fn expected_dyads(app: &TestApp, from: &str, to: &str) -> Value {
    let mut conn = app.state.pool.get().await.unwrap();
    let row: Json = diesel::sql_query(
        "WITH x AS (
             SELECT CASE WHEN i.code < t.code THEN i.code ELSE t.code END AS a,
                    CASE WHEN i.code < t.code THEN t.code ELSE i.code END AS b,
                    i.code AS initiator, x.severity, x.announced_on,
                    least(x.initiator_id, x.target_id) AS lo,
                    greatest(x.initiator_id, x.target_id) AS hi
             FROM actions x JOIN actors i ON i.id = x.initiator_id
             JOIN actors t ON t.id = x.target_id
             WHERE x.deleted_at IS NULL AND x.announced_on BETWEEN $1::date AND $2::date
         ),
         d AS (
             SELECT a, b, lo, hi, count(*) AS n,
                    count(*) FILTER (WHERE initiator = a) AS ab_n,
                    round(coalesce(sum(severity) FILTER (WHERE initiator = a), 0)::numeric, 3) AS ab_s,
                    count(*) FILTER (WHERE initiator = b) AS ba_n,
                    round(coalesce(sum(severity) FILTER (WHERE initiator = b), 0)::numeric, 3) AS ba_s,
                    max(announced_on) AS last
             FROM x GROUP BY a, b, lo, hi
         )
         SELECT coalesce(jsonb_agg(jsonb_build_object(
             'a', a, 'b', b, 'count', n,
             'a_to_b', jsonb_build_object('count', ab_n, 'severity_sum', ab_s::float8),
             'b_to_a', jsonb_build_object('count', ba_n, 'severity_sum', ba_s::float8),
             'last_announced_on', last) ORDER BY n DESC, last DESC, lo, hi), '[]') AS v
         FROM d",
    )
    .bind::<Text, _>(from)
    .bind::<Text, _>(to)
    .get_result(&mut conn)
    .await
    .unwrap();
    row.v
}

/// Numbers as f64: the API writes 2.0 where jsonb writes 2.
fn numbers(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(numbers).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), numbers(v))).collect()),
        other => other.clone(),
    }
}

/// Every window below (whole years, whole months, edge days, one day, open ends) gives the
/// API the same dyads and counts as the actions themselves.
async fn assert_windows(app: &TestApp, step: &str) {
    for (from, to) in [
        ("1900-01-01", "2100-12-31"),
        ("2019-01-01", "2020-12-31"),
        ("2020-01-01", "2020-12-31"),
        ("2020-02-01", "2020-02-29"),
        ("2020-02-15", "2020-02-15"),
        ("2019-12-31", "2020-01-01"),
        ("2019-11-20", "2021-03-05"),
        // Quarters between months and edge days.
        ("2019-03-15", "2020-10-20"),
        ("2020-02-29", "2020-11-02"),
        ("2020-02-10", "2020-03-31"),
    ] {
        let resp = app
            .get(&format!("/v1/dyads?from={from}&to={to}&limit=200"))
            .await;
        resp.assert_status(200);
        let expected = expected_dyads(app, from, to).await;
        assert_eq!(
            numbers(&resp.body["items"]),
            numbers(&expected),
            "{step}: /v1/dyads {from}..{to}"
        );
        let counts = app.get(&format!("/v1/counts?from={from}&to={to}")).await;
        counts.assert_status(200);
        let total: i64 = expected
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["count"].as_i64().unwrap())
            .sum();
        assert_eq!(
            counts.body["total"], total,
            "{step}: /v1/counts {from}..{to}"
        );
    }
    // No bounds at all: the `all` rows.
    let all = app.get("/v1/dyads?limit=200").await;
    assert_eq!(
        numbers(&all.body["items"]),
        numbers(&expected_dyads(app, "0001-01-01", "9999-12-31").await),
        "{step}: /v1/dyads"
    );
}

async fn assert_all(app: &TestApp, step: &str) {
    assert_aggregates(app, step).await;
    assert_windows(app, step).await;
}

#[tokio::test]
async fn aggregates_follow_every_kind_of_write() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut ids = Vec::new();
    for (day, initiator, target, severity) in [
        ("2019-12-31", "USA", "CHN", -8.0),
        ("2020-01-01", "CHN", "USA", -2.25),
        ("2020-02-10", "USA", "CHN", -1.1),
        ("2020-02-15", "USA", "CHN", -7.3),
        ("2020-02-15", "GBR", "CHN", -0.1),
        ("2020-02-29", "CHN", "GBR", 1.7),
        ("2020-03-31", "USA", "GBR", 2.0),
        ("2021-03-05", "CHN", "USA", -9.9),
    ] {
        let a = app
            .action(
                json!({"announced_on": day, "initiator": initiator, "target": target,
                           "severity": severity}),
            )
            .await;
        ids.push(id_of(&a));
    }
    app.action(json!({"announced_on": "2020-02", "date_precision": "month"}))
        .await;
    assert_all(&app, "creates").await;

    // Changes of what is counted: the day (across a month and a year), the type (category),
    // the severity, the dyad and its direction.
    for (id, patch) in [
        (&ids[0], json!({"announced_on": "2020-02-14"})),
        (&ids[1], json!({"type": "visa_ban", "severity": -3.3})),
        (&ids[2], json!({"initiator": "GBR"})),
        (&ids[3], json!({"initiator": "CHN", "target": "USA"})),
    ] {
        app.patch(&format!("/v1/actions/{id}"), &patch)
            .await
            .assert_status(200);
    }
    assert_all(&app, "updates").await;

    app.delete(&format!("/v1/actions/{}", ids[4]))
        .await
        .assert_status(204);
    app.delete(&format!("/v1/actions/{}", ids[7]))
        .await
        .assert_status(204);
    assert_all(&app, "deletes").await;
    app.post(&format!("/v1/actions/{}/restore", ids[4]), &json!({}))
        .await
        .assert_status(200);
    assert_all(&app, "a restore").await;
    app.as_admin(
        Method::DELETE,
        &format!("/v1/actions/{}?purge=true", ids[7]),
        None,
        &[],
    )
    .await
    .assert_status(204);
    app.as_admin(
        Method::DELETE,
        &format!("/v1/actions/{}?purge=true", ids[5]),
        None,
        &[],
    )
    .await
    .assert_status(204);
    assert_all(&app, "purges").await;

    // An import creates and then updates actions, in one statement each.
    let line = |n: i64, day: &str, initiator: &str| {
        json!({"title": format!("Imported {n}"), "initiator": initiator, "target": "CHN",
               "type": if n % 2 == 0 { "asset_freeze" } else { "criticize" },
               "status": "in_force", "announced_on": day, "external_id": format!("x-{n}"),
               "source_dataset": "test"})
    };
    let file = |days: [&str; 3]| {
        let mut out = String::new();
        for (n, day) in days.iter().enumerate() {
            let initiator = if n == 1 { "GBR" } else { "USA" };
            out.push_str(&line(n as i64, day, initiator).to_string());
            out.push('\n');
        }
        out.into_bytes()
    };
    let job = import(&app, "", file(["2020-02-15", "2020-12-31", "2021-01-01"])).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_all(&app, "an import").await;
    let job = import(&app, "", file(["2019-06-01", "2020-02-16", "2021-01-01"])).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_all(&app, "an import that updates").await;

    // Concurrent writers on one dyad add to different shards of the same keys (migration
    // 000018); taking everything away again, through other connections, must leave no key
    // behind whose shards sum to nothing.
    let posts = (0..12).map(|i| {
        let app = &app;
        async move {
            let resp = app
                .post(
                    "/v1/actions",
                    &super::helpers::action_body(json!({
                        "initiator": "GBR", "target": "USA",
                        "announced_on": format!("2022-0{}-1{}", 1 + i % 3, i % 10),
                        "type": if i % 2 == 0 { "asset_freeze" } else { "criticize" }})),
                )
                .await;
            resp.assert_status(201);
            id_of(&resp.body)
        }
    });
    let posted = futures_util::future::join_all(posts).await;
    assert_all(&app, "concurrent creates").await;
    let deletes = posted.iter().map(|id| {
        let app = &app;
        async move { app.delete(&format!("/v1/actions/{id}")).await.status }
    });
    let statuses = futures_util::future::join_all(deletes).await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    assert_all(&app, "concurrent deletes").await;
    let mut conn = app.state.pool.get().await.unwrap();
    let left: Vec<Json> = diesel::sql_query(
        "SELECT to_jsonb(count(*)) AS v FROM dyad_periods d JOIN actors a ON a.id IN (d.lo, d.hi) \
         WHERE a.code = 'GBR' AND d.start >= '2022-01-01'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(left[0].v, json!(0), "rows of 2022 left behind");
}

/// `copies` copies of a stored action in one plain SQL statement, on the day `day` (SQL over
/// `g`, the copy's number).
fn copies_of(model: &str, copies: i64, day: &str) -> String {
    format!(
        "INSERT INTO actions (id, title, initiator_id, initiator_kind, target_id, target_kind,
                              type_code, status, announced_on, date_precision, severity)
         SELECT gen_random_uuid(), a.title, a.initiator_id, a.initiator_kind, a.target_id,
                a.target_kind, a.type_code, a.status, {day}, a.date_precision, a.severity
         FROM actions a, generate_series(1, {copies}) g WHERE a.id = '{model}'"
    )
}

/// A fold that cannot update the aggregates (an open transaction holds them) gives up after
/// its lock_timeout instead of waiting: the tallies stay pending, and counted, until a later
/// fold applies them.
#[tokio::test]
async fn a_blocked_fold_yields_and_leaves_its_tallies_counted() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let model = id_of(
        &app.action(json!({"announced_on": "2020-03-10", "initiator": "USA", "target": "CHN"}))
            .await,
    );
    fold_everything(&app).await;
    let mut holder = app.state.pool.get().await.unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE dyad_periods IN SHARE ROW EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut conn = app.state.pool.get().await.unwrap();
    diesel::sql_query(copies_of(&model, 2, "DATE '2020-03-11'"))
        .execute(&mut conn)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let folded: Count = diesel::sql_query("SELECT fold_pending_tallies()::bigint AS n")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(folded.n, 0, "a blocked fold applies nothing");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the fold waited {:?} for the lock",
        started.elapsed()
    );
    assert_eq!(pending(&mut conn).await, 2, "the tallies stay pending");
    let counts = app.get("/v1/counts?from=2020-03-01&to=2020-03-31").await;
    assert_eq!(counts.body["total"], 3, "{}", counts.body);
    let dyads = app.get("/v1/dyads?from=2020-03-01&to=2020-03-31").await;
    assert_eq!(dyads.body["items"][0]["count"], 3, "{}", dyads.body);
    assert_eq!(
        dyads.body["items"][0]["last_announced_on"], "2020-03-11",
        "{}",
        dyads.body
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
    drop((holder, conn));
    assert_all(&app, "after the blocked fold").await;
}

/// A statement that inserts a few actions leaves their tallies pending (migration 000020);
/// one that inserts many applies them at once. Either way readers count them at once, and
/// folding changes nothing they see.
#[tokio::test]
async fn few_new_actions_wait_as_pending_tallies_and_count_meanwhile() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let model = id_of(
        &app.action(json!({"announced_on": "2020-02-15", "initiator": "USA", "target": "CHN"}))
            .await,
    );
    assert_all(&app, "the first action").await;
    let copy = |copies: i64| copies_of(&model, copies, "DATE '2020-02-01' + (g % 27)");
    let mut conn = app.state.pool.get().await.unwrap();
    let (few, many) = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let before = pending(conn).await;
            diesel::sql_query(copy(3)).execute(conn).await?;
            let after_few = pending(conn).await;
            diesel::sql_query(copy(65)).execute(conn).await?;
            let after_many = pending(conn).await;
            Ok((after_few - before, after_many - after_few))
        })
        .await
        .unwrap();
    drop(conn);
    assert_eq!(
        few, 3,
        "three actions in one statement wait as pending tallies"
    );
    assert_eq!(many, 0, "65 actions in one statement are counted at once");
    assert_windows(&app, "inserts with tallies pending").await;
    assert_all(&app, "inserts, folded").await;
    let totals = app.get("/v1/counts?from=2020-02-01&to=2020-02-29").await;
    assert_eq!(totals.body["total"], 69, "{}", totals.body);

    // Taken away while still pending: the removal applies its dyad's pending tallies first,
    // or the fold would later bring back a last day that no longer counts.
    let mut conn = app.state.pool.get().await.unwrap();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::sql_query(copies_of(&model, 2, "DATE '2020-02-28'"))
            .execute(conn)
            .await?;
        diesel::sql_query(
            "UPDATE actions SET deleted_at = now() WHERE announced_on = '2020-02-28'",
        )
        .execute(conn)
        .await?;
        Ok(())
    })
    .await
    .unwrap();
    drop(conn);
    assert_all(&app, "removals of pending tallies").await;
    let totals = app.get("/v1/counts?from=2020-02-01&to=2020-02-29").await;
    assert_eq!(totals.body["total"], 69, "{}", totals.body);
}

#[tokio::test]
async fn counts_by_category_in_a_window() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    app.action(json!({"announced_on": "2020-01-31"})).await;
    app.action(json!({"announced_on": "2020-02-01"})).await;
    app.action(json!({"announced_on": "2020-02-02", "type": "visa_ban"}))
        .await;
    app.action(
        json!({"announced_on": "2020-03-01", "initiator": "GBR", "target": "CHN",
                      "type": "threaten", "status": "threatened"}),
    )
    .await;
    let deleted = app.action(json!({"announced_on": "2020-02-03"})).await;
    app.delete(&format!("/v1/actions/{}", id_of(&deleted)))
        .await
        .assert_status(204);

    let resp = app.get("/v1/counts?from=2020-02-01&to=2020-12-31").await;
    resp.assert_status(200);
    assert_eq!(resp.body["from"], "2020-02-01");
    assert_eq!(resp.body["to"], "2020-12-31");
    assert_eq!(resp.body["actor"], Value::Null);
    assert_eq!(resp.body["total"], 3);
    let by = resp.body["by_category"].as_array().unwrap();
    assert_eq!(by.len(), 9, "every category, zeros included");
    assert_eq!(
        by[0],
        json!({"category": "sanction", "label": "Sanctions", "count": 2})
    );
    assert_eq!(
        by[1],
        json!({"category": "threat", "label": "Threats", "count": 1})
    );
    // Zeros follow, by code.
    assert_eq!(by[2]["category"], "agreement");
    assert_eq!(by[2]["count"], 0);
    // The categories are those of /v1/action-types.
    let types = app.get("/v1/action-types").await;
    let mut known: Vec<&str> = types.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["category"].as_str().unwrap())
        .collect();
    known.sort();
    known.dedup();
    let mut ours: Vec<&str> = by.iter().map(|c| c["category"].as_str().unwrap()).collect();
    ours.sort();
    assert_eq!(ours, known);

    let all = app.get("/v1/counts").await;
    assert_eq!(all.body["total"], 4);
    assert_eq!(all.body["from"], Value::Null);
    let gbr = app.get("/v1/counts?actor=GBR").await;
    assert_eq!(gbr.body["actor"], "GBR");
    assert_eq!(gbr.body["total"], 1);
    assert_eq!(gbr.body["by_category"][0]["category"], "threat");
    let chn_jan = app.get("/v1/counts?actor=CHN&to=2020-01-31").await;
    assert_eq!(chn_jan.body["total"], 1);

    app.get("/v1/counts?from=2021-01-01&to=2020-01-01")
        .await
        .assert_problem(400, Some("from"));
    app.get("/v1/counts?from=2020-02-30")
        .await
        .assert_problem(400, Some("from"));
    app.get("/v1/counts?actor=chen-quanguo")
        .await
        .assert_problem(400, Some("actor"));
    // An unknown code in a query is a bad parameter, as in every list's filters.
    app.get("/v1/counts?actor=XXX")
        .await
        .assert_problem(400, Some("actor"));
    app.get("/v1/counts?category=sanction")
        .await
        .assert_problem(400, None);
}
