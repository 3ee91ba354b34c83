//! The change feed: every committed change once, in pages and live, under concurrent writers.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

use diesel_async::RunQueryDsl;

use super::aggregates::Count;
use super::helpers::{action_body, assert_no_problems, id_of, TestApp};

/// Reads the whole feed after `after` with pages of `limit`; the entries and the cursor.
pub async fn drain(app: &TestApp, after: &str, query: &str, limit: u32) -> (Vec<Value>, String) {
    let mut cursor = after.to_string();
    let mut items = Vec::new();
    loop {
        let page = app
            .get(&format!("/v1/changes?after={cursor}&limit={limit}{query}"))
            .await;
        page.assert_status(200);
        let got = page.body["items"].as_array().unwrap().clone();
        let next = page.body["next_cursor"].as_str().unwrap().to_string();
        let done = page.body["caught_up"] == json!(true);
        assert!(
            done || !(got.is_empty() && next == cursor),
            "a page that moves nowhere is caught up: {}",
            page.body
        );
        items.extend(got);
        cursor = next;
        if done {
            return (items, cursor);
        }
    }
}

fn kinds(items: &[Value]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|i| {
            (
                i["entity"].as_str().unwrap().to_string(),
                i["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A PATCH of `responds_to` writes edge entries for the answers it adds, drops or changes
/// only: an answer kept as it was is neither removed nor added (every kept answer was
/// reported removed and added again, so a webhook following `edge_removed` heard of
/// removals that never happened).
#[tokio::test]
async fn a_patch_of_answers_reports_only_the_edges_it_changes() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let a = id_of(&app.action(json!({"announced_on": "2020-07-01"})).await);
    let b = id_of(&app.action(json!({"announced_on": "2020-07-02"})).await);
    let answer = |relation: &str, also: Option<&str>| {
        let mut refs = vec![json!({"action": a, "relation": relation})];
        refs.extend(also.map(|b| json!({"action": b, "relation": "retaliates"})));
        json!({"responds_to": refs})
    };
    let mut body = answer("retaliates", None);
    body["announced_on"] = json!("2020-07-03");
    let c = id_of(&app.action(body).await);
    let (_, start) = drain(&app, "0", "", 50).await;
    let edges = |items: &[Value]| -> Vec<(String, String, String)> {
        items
            .iter()
            .filter(|i| i["entity"] == "response")
            .map(|i| {
                let who = if i["answers"] == a.as_str() { "a" } else { "b" };
                (
                    i["kind"].as_str().unwrap().into(),
                    who.into(),
                    i["relation"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let patch = |body: Value| {
        let app = &app;
        let c = c.clone();
        async move {
            app.patch(&format!("/v1/actions/{c}"), &body)
                .await
                .assert_status(200);
        }
    };

    patch(answer("retaliates", Some(&b))).await;
    let (items, start) = drain(&app, &start, "", 50).await;
    assert_eq!(
        edges(&items),
        [("edge_added".into(), "b".into(), "retaliates".into())]
    );

    patch(answer("escalates", Some(&b))).await;
    let (items, start) = drain(&app, &start, "", 50).await;
    let mut got = edges(&items);
    got.sort();
    assert_eq!(
        got,
        [
            ("edge_added".into(), "a".into(), "escalates".into()),
            ("edge_removed".into(), "a".into(), "retaliates".into())
        ]
    );

    patch(answer("escalates", None)).await;
    let (items, _) = drain(&app, &start, "", 50).await;
    assert_eq!(
        edges(&items),
        [("edge_removed".into(), "b".into(), "retaliates".into())]
    );
    for check in ["check_graph_facts", "check_action_documents"] {
        assert_no_problems(
            &app,
            &format!("SELECT id::text AS key, problem FROM {check}()"),
            "the patches",
        )
        .await;
    }
}

#[tokio::test]
async fn every_kind_of_change_is_in_the_feed_with_its_document() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let (basics, start) = drain(&app, "0", "", 50).await;
    assert_eq!(basics.len(), 6, "six actors created");
    assert!(basics
        .iter()
        .all(|i| i["kind"] == "created" && i["entity"] == "actor"));
    assert_eq!(basics[0]["document"]["code"], "USA");

    let first = app.action(json!({"announced_on": "2020-07-01"})).await;
    let first_id = id_of(&first);
    let second = app
        .action(
            json!({"announced_on": "2020-07-02", "initiator": "CHN", "target": "USA",
            "type": "threaten", "status": "threatened",
            "responds_to": [{"action": first_id, "relation": "retaliates"}]}),
        )
        .await;
    let second_id = id_of(&second);
    app.patch(
        &format!("/v1/actions/{second_id}"),
        &json!({"status": "in_force", "status_changed_on": "2020-07-05"}),
    )
    .await
    .assert_status(200);
    app.patch("/v1/actors/chen-quanguo", &json!({"name": "Chen Q."}))
        .await
        .assert_status(200);
    app.delete(&format!("/v1/actions/{second_id}"))
        .await
        .assert_status(204);
    app.post(&format!("/v1/actions/{second_id}/restore"), &json!({}))
        .await
        .assert_status(200);
    app.patch(
        &format!("/v1/actions/{second_id}"),
        &json!({"responds_to": []}),
    )
    .await
    .assert_status(200);
    app.as_admin(
        Method::DELETE,
        &format!("/v1/actions/{second_id}?purge=true"),
        None,
        &[],
    )
    .await
    .assert_status(204);

    let (items, end) = drain(&app, &start, "", 3).await;
    let want: Vec<(&str, &str)> = vec![
        ("action", "created"),
        ("action", "created"),
        ("response", "edge_added"),
        ("action", "updated"),
        ("action", "status_changed"),
        ("actor", "updated"),
        ("action", "deleted"),
        ("action", "restored"),
        ("action", "updated"),
        ("response", "edge_removed"),
        ("action", "purged"),
    ];
    let got = kinds(&items);
    let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(got, want);
    // Cursors grow; the edge names both actions; a purged action has no document.
    let cursors: Vec<i64> = items
        .iter()
        .map(|i| i["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    assert_eq!(items[2]["id"], second_id.as_str());
    assert_eq!(items[2]["answers"], first_id.as_str());
    assert_eq!(items[2]["relation"], "retaliates");
    assert!(items.last().unwrap()["document"].is_null());
    assert_eq!(items[5]["document"]["name"], "Chen Q.");
    assert_eq!(items[4]["status"], "in_force");
    // Nothing more, and asking again from the end gives nothing.
    let (none, again) = drain(&app, &end, "", 50).await;
    assert!(none.is_empty());
    assert_eq!(again, end);

    // Filters: entity, actor, dyad, type.
    let only = |q: &'static str| drain(&app, &start, q, 50);
    assert_eq!(only("&entity=actor").await.0.len(), 1);
    assert_eq!(only("&entity=response").await.0.len(), 2);
    // China is the target of the first action and the initiator of the second.
    assert_eq!(only("&actor=CHN&entity=action").await.0.len(), 8);
    assert_eq!(only("&actor=GBR").await.0.len(), 0);
    assert_eq!(only("&dyad=CHN,USA").await.0.len(), 10);
    assert_eq!(only("&dyad=GBR,USA").await.0.len(), 0);
    assert_eq!(only("&type=threaten").await.0.len(), 9);
    // Bad filters and cursors are 400s naming them.
    for (query, field) in [
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("entity=planet", "entity"),
        ("actor=XXX", "actor"),
        ("dyad=USA", "dyad"),
        ("type=nope", "type"),
        ("limit=0", "limit"),
    ] {
        app.get(&format!("/v1/changes?{query}"))
            .await
            .assert_problem(400, Some(field));
    }
}

/// The trap: entries numbered by concurrent transactions become visible out of order. A
/// follower paging through the feed while eight writers create and change actions must see
/// every entry exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_sees_every_change_exactly_once_under_concurrent_writers() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.with_basics().await;
    exactly_once(&[app]).await;
}

/// The same with two servers on one database (two riposte processes, as far as PostgreSQL
/// can tell): writers on both, the follower on the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_sees_every_change_exactly_once_with_writers_on_two_servers() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.with_basics().await;
    let other = app.second_server().await;
    exactly_once(&[app, std::sync::Arc::new(other)]).await;
}

/// Waits until every committed change has its number: the sequencer numbers them soon after
/// their commit, not at it, so a cursor read before then is not yet past the setup's changes
/// (the six actors of `with_basics` once showed up among the follower's entries).
async fn numbered(app: &TestApp) {
    let mut conn = app.state.pool.get().await.unwrap();
    for _ in 0..100 {
        riposte::models::change::sequence(&mut conn).await.unwrap();
        let left = diesel::sql_query("SELECT count(*) AS n FROM changes WHERE seq IS NULL")
            .get_result::<Count>(&mut conn)
            .await
            .unwrap();
        if left.n == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("committed changes were never numbered");
}

/// Writers spread over `servers` create and change actions while a follower on the last one
/// pages through the feed: it must see every change once, in no particular server's order.
async fn exactly_once(servers: &[std::sync::Arc<TestApp>]) {
    let app = servers.last().unwrap().clone();
    numbered(&app).await;
    let (_, start) = drain(&app, "0", "", 200).await;
    const WRITERS: usize = 8;
    const EACH: usize = 15;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let app = servers[w % servers.len()].clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..EACH {
                    let created = app
                        .action(json!({"title": format!("writer {w} action {i}")}))
                        .await;
                    let id = id_of(&created);
                    app.patch(&format!("/v1/actions/{id}"), &json!({"severity": -1.5}))
                        .await
                        .assert_status(200);
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    // Follow while they write, in small pages.
    let follower = {
        let app = app.clone();
        let start = start.clone();
        tokio::spawn(async move {
            let mut cursor = start;
            let mut seen: Vec<Value> = Vec::new();
            let mut quiet = 0;
            while quiet < 20 {
                let page = app
                    .get(&format!("/v1/changes?after={cursor}&limit=7"))
                    .await;
                let items = page.body["items"].as_array().unwrap().clone();
                quiet = if items.is_empty() { quiet + 1 } else { 0 };
                seen.extend(items);
                cursor = page.body["next_cursor"].as_str().unwrap().to_string();
                tokio::time::sleep(Duration::from_millis(if quiet > 0 { 50 } else { 0 })).await;
            }
            seen
        })
    };
    let mut created = Vec::new();
    for w in writers {
        created.extend(w.await.unwrap());
    }
    let seen = follower.await.unwrap();
    let cursors: Vec<&str> = seen.iter().map(|i| i["cursor"].as_str().unwrap()).collect();
    let unique: HashSet<&&str> = cursors.iter().collect();
    assert_eq!(unique.len(), cursors.len(), "an entry was repeated");
    let mut per_action: HashMap<&str, Vec<&str>> = HashMap::new();
    for item in &seen {
        per_action
            .entry(item["id"].as_str().unwrap())
            .or_default()
            .push(item["kind"].as_str().unwrap());
    }
    assert_eq!(created.len(), WRITERS * EACH);
    for id in &created {
        assert_eq!(
            per_action.get(id.as_str()).map(Vec::as_slice),
            Some(&["created", "updated"][..]),
            "action {id}"
        );
    }
    assert_eq!(seen.len(), 2 * WRITERS * EACH);
}

type SseEvent = (String, String, Value);

/// Reads a server-sent event stream until `until` says stop or `wait` passes; the events'
/// (id, event, data) and the comments.
async fn read_events(
    resp: reqwest::Response,
    wait: Duration,
    until: impl Fn(&[SseEvent]) -> bool,
) -> (Vec<SseEvent>, usize) {
    let mut reader = EventReader::new(resp);
    reader.read(wait, until).await;
    (reader.events, reader.comments)
}

/// An event stream read a little at a time: everything read so far is in `events`.
struct EventReader {
    bytes: futures_util::stream::BoxStream<'static, reqwest::Result<actix_web::web::Bytes>>,
    buffer: String,
    events: Vec<SseEvent>,
    comments: usize,
}

impl EventReader {
    fn new(resp: reqwest::Response) -> EventReader {
        EventReader {
            bytes: resp.bytes_stream().boxed(),
            buffer: String::new(),
            events: Vec::new(),
            comments: 0,
        }
    }

    /// Reads on until `until` holds for all the events read so far, or `wait` passes.
    async fn read(&mut self, wait: Duration, until: impl Fn(&[SseEvent]) -> bool) {
        let deadline = tokio::time::Instant::now() + wait;
        while !until(&self.events) {
            let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, self.bytes.next()).await else {
                break;
            };
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut name, mut data) = (String::new(), String::new(), Value::Null);
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.to_string();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = serde_json::from_str(v).unwrap();
                    }
                }
                if !name.is_empty() {
                    self.events.push((id, name, data));
                }
            }
        }
    }
}

async fn subscribe(app: &TestApp, query: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}/v1/events{query}", app.base));
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    resp
}

#[tokio::test]
async fn events_stream_live_resume_from_last_event_id_and_keep_alive() {
    let app = TestApp::spawn_with(riposte::state::Config {
        rate_limits: Default::default(),
        heartbeat: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    app.with_basics().await;
    let live = subscribe(&app, "?entity=action", None).await;
    let created = app.action(json!({"title": "Live one"})).await;
    let id = id_of(&created);
    let (events, comments) = read_events(live, Duration::from_secs(15), |e| !e.is_empty()).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (cursor, name, data) = &events[0];
    assert_eq!(name, "change");
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["kind"], "created");
    assert_eq!(&data["cursor"], cursor.as_str());
    assert_eq!(data["document"]["title"], "Live one");
    let _ = comments;

    // Resuming after it: the next change only (the actor filter keeps actors out).
    let resumed = subscribe(&app, "?entity=action", Some(cursor)).await;
    let later = app.action(json!({"title": "Later one"})).await;
    let (events, _) = read_events(resumed, Duration::from_secs(15), |e| !e.is_empty()).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].2["id"], id_of(&later).as_str());

    // From the start with `after`: the history first, then live; and heartbeats.
    let all = subscribe(&app, "?after=0", None).await;
    let (events, comments) = read_events(all, Duration::from_secs(2), |_| false).await;
    assert_eq!(events.len(), 6 + 2, "{events:?}");
    assert!(
        comments >= 2,
        "{comments} comments in 2 s with a 300 ms heartbeat"
    );

    // An empty Last-Event-ID is none (an empty id means "no id" in SSE): `after` is used.
    // It was a 400, "`` is not a cursor of this feed", for clients that always send it.
    let all = subscribe(&app, "?after=0", Some("")).await;
    let (again, _) = read_events(all, Duration::from_secs(1), |_| false).await;
    assert_eq!(again.len(), events.len(), "{again:?}");

    // A bad Last-Event-ID is a 400 naming it.
    let resp = app
        .client
        .get(format!("{}/v1/events", app.base))
        .header("last-event-id", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // HEAD, which its Allow header lists: the headers of the stream, and no stream.
    let head = tokio::time::timeout(
        Duration::from_secs(10),
        app.client
            .head(format!("{}/v1/events?entity=action", app.base))
            .send(),
    )
    .await
    .expect("HEAD answers at once")
    .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "text/event-stream");
    let head = app
        .client
        .head(format!("{}/v1/events", app.base))
        .header("last-event-id", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 400);
}

/// A subscriber that falls further behind than the buffer is dropped with its resume point;
/// resuming from it gives everything, from the database.
#[tokio::test]
async fn a_subscriber_that_falls_behind_is_dropped_with_its_resume_point() {
    let app = TestApp::spawn_with(riposte::state::Config {
        rate_limits: Default::default(),
        feed_buffer: 1,
        ..Default::default()
    })
    .await;
    app.with_basics().await;
    let first = app.action(json!({"announced_on": "2020-01-01"})).await;
    let mut stream = EventReader::new(subscribe(&app, "", None).await);
    // Entries one at a time, each read before the next is written: each reaches the
    // subscriber live, alone in its buffer. (A subscriber that falls behind before it was
    // sent anything live is caught up from the database instead; unread, several entries
    // sent together did that now and then, and the test saw no drop.)
    let mut answers: Vec<Value> = Vec::new();
    for i in 0..40 {
        let answer = app
            .action(json!({"announced_on": format!("2020-01-{:02}", 2 + i % 27)}))
            .await;
        let id = id_of(&answer);
        let arrived = |e: &[SseEvent]| e.iter().any(|(_, _, data)| data["id"] == id);
        stream.read(Duration::from_secs(15), arrived).await;
        assert!(
            arrived(&stream.events),
            "action {i} never reached the subscriber"
        );
        answers.push(answer);
    }
    let seen = stream.events.len();
    assert!(
        stream.events.iter().all(|(_, name, _)| name == "change"),
        "{:?}",
        stream.events
    );
    // Then, unread, two transactions writing 41 entries each, which the live task sends
    // back to back into a buffer of one.
    let responds: Vec<Value> = answers
        .iter()
        .chain([&first])
        .map(|a| json!({"action": id_of(a), "relation": "retaliates"}))
        .collect();
    for _ in 0..2 {
        app.post(
            "/v1/actions",
            &action_body(
                json!({"announced_on": "2020-02-01", "initiator": "CHN", "target": "USA",
                "responds_to": responds}),
            ),
        )
        .await
        .assert_status(201);
    }
    stream
        .read(Duration::from_secs(15), |e| {
            e.iter().any(|(_, name, _)| name == "dropped")
        })
        .await;
    let events = stream.events;
    let dropped = events[seen..]
        .iter()
        .find(|(_, name, _)| name == "dropped")
        .unwrap_or_else(|| {
            let ids: Vec<(&str, &str)> = events.iter().map(|(i, n, _)| (&i[..], &n[..])).collect();
            panic!(
                "the slow subscriber was not dropped; it got {} events: {ids:?}",
                ids.len()
            )
        });
    let resume = dropped.2["resume_after"].as_str().unwrap().to_string();
    let scraped = super::metrics::scrape(&app).await;
    assert_eq!(scraped.must("riposte_events_dropped_total", &[]), 1.0);
    let delivered: Vec<&str> = events
        .iter()
        .filter(|(_, name, _)| name == "change")
        .map(|(id, _, _)| id.as_str())
        .collect();
    // Resuming gives the rest, nothing twice.
    let again = subscribe(&app, "", Some(&resume)).await;
    let (rest, _) = read_events(again, Duration::from_secs(3), |_| false).await;
    assert!(rest.iter().all(|(_, name, _)| name == "change"), "{rest:?}");
    let rest: Vec<&str> = rest.iter().map(|(id, _, _)| id.as_str()).collect();
    assert!(rest.iter().all(|id| !delivered.contains(id)));
    let (feed, _) = drain(&app, &resume, "", 200).await;
    assert_eq!(rest.len(), feed.len(), "{rest:?}");
    assert!(!rest.is_empty());
}

/// Writes through one server wake the stream of another on the same database (LISTEN/NOTIFY).
#[tokio::test]
async fn events_reach_subscribers_of_another_server_on_the_same_database() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let other = app.second_server().await;
    let stream = subscribe(&other, "?entity=action", None).await;
    let created = app.action(json!({"title": "Written elsewhere"})).await;
    let (events, _) = read_events(stream, Duration::from_secs(15), |e| !e.is_empty()).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].2["id"], id_of(&created).as_str());
}

/// Writes do not NOTIFY (a NOTIFY serialises every notifying transaction's commit): the
/// writing server numbers its changes right after the commit, and the sequencer's one
/// notification is what wakes followers in every process. An import notifies once itself.
#[tokio::test]
async fn writes_wake_followers_through_the_sequencer_not_their_own_notify() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let app = TestApp::spawn().await;
    app.with_basics().await;
    // Quiet first: the actors' changes numbered, and their sequencer runs over.
    let (_, start) = drain(&app, "0", "", 100).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut listener = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    for channel in ["riposte_changes", "riposte_changes_sequenced"] {
        diesel::sql_query(format!("LISTEN {channel}"))
            .execute(&mut listener)
            .await
            .unwrap();
    }
    let mut notifications = std::pin::pin!(listener.notifications_stream());
    let wait = Duration::from_secs(10);

    app.action(json!({"title": "Quietly committed"})).await;
    // PostgreSQL delivers notifications in commit order: a NOTIFY of the write itself would
    // come first.
    let first = tokio::time::timeout(wait, notifications.next())
        .await
        .expect("a notification within 10 s after a write")
        .unwrap()
        .unwrap();
    assert_eq!(first.channel, "riposte_changes_sequenced");
    let (feed, _) = drain(&app, &start, "", 100).await;
    assert!(feed
        .iter()
        .any(|e| e["document"]["title"] == "Quietly committed"));

    let line = json!({"title": "Imported", "initiator": "USA", "target": "CHN",
                      "type": "asset_freeze", "status": "in_force", "announced_on": "2024-01-15"});
    app.post_raw("/v1/imports", format!("{line}\n").into_bytes())
        .await
        .assert_status(202);
    loop {
        let n = tokio::time::timeout(wait, notifications.next())
            .await
            .expect("the import's notification within 10 s")
            .unwrap()
            .unwrap();
        if n.channel == "riposte_changes" {
            break;
        }
    }
}

/// A subscriber whose filter leaves out more entries than one read of the feed looks at
/// (`models::change::SCAN`) still gets the entry after them.
#[tokio::test]
async fn a_selective_subscriber_resumes_across_long_runs_of_other_entries() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let (gbr, cursor) = drain(&app, "0", "&actor=GBR", 200).await;
    assert_eq!(gbr.len(), 1, "{gbr:?}");

    let others: String = (0..10_050)
        .map(|i| {
            format!(
                "{}\n",
                json!({"title": format!("Other {i}"), "initiator": "USA", "target": "CHN",
                       "type": "asset_freeze", "status": "in_force",
                       "announced_on": "2020-07-09"})
            )
        })
        .collect();
    let job = super::imports::import(&app, "", others.into_bytes()).await;
    assert_eq!(job["counts"]["created"], 10_050, "{job}");
    app.patch("/v1/actors/GBR", &json!({"name": "Great Britain"}))
        .await
        .assert_status(200);

    // Paged: the first look-ahead of 10,000 entries finds none of GBR's, and says to ask
    // again at once.
    let page = app
        .get(&format!("/v1/changes?after={cursor}&actor=GBR"))
        .await;
    page.assert_status(200);
    assert_eq!(page.body["items"], json!([]), "{}", page.body);
    assert_eq!(page.body["caught_up"], false, "{}", page.body);
    assert_ne!(page.body["next_cursor"], cursor.as_str());
    let (paged, _) = drain(&app, &cursor, "&actor=GBR", 200).await;
    assert_eq!(paged.len(), 1, "{paged:?}");
    assert_eq!(paged[0]["kind"], "updated");

    let resumed = subscribe(&app, "?actor=GBR", Some(&cursor)).await;
    let (events, _) = read_events(resumed, Duration::from_secs(30), |e| !e.is_empty()).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].2["kind"], "updated");
    assert_eq!(events[0].2["document"]["name"], "Great Britain");
}

/// A cursor past the newest entry comes from another database (or one restored from a
/// backup): following it would pass over every entry up to it, so it is refused by name.
#[tokio::test]
async fn a_cursor_past_the_newest_entry_is_refused() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let (_, newest) = drain(&app, "0", "", 200).await;
    let past = newest.parse::<i64>().unwrap() + 1;

    app.get(&format!("/v1/changes?after={newest}"))
        .await
        .assert_status(200);
    let page = app.get(&format!("/v1/changes?after={past}")).await;
    page.assert_status(400);
    assert_eq!(page.body["errors"][0]["field"], "after", "{}", page.body);
    let message = page.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("newest entry of this feed ({newest})")),
        "{message}"
    );

    for (header, query) in [(Some(past.to_string()), ""), (None, "?after=99999999")] {
        let mut req = app.client.get(format!("{}/v1/events{query}", app.base));
        if let Some(id) = &header {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 400);
        let body: Value = resp.json().await.unwrap();
        let field = if header.is_some() {
            "Last-Event-ID"
        } else {
            "after"
        };
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    // Resuming from the newest entry is fine, and gets what comes next.
    let resumed = subscribe(&app, "", Some(&newest)).await;
    let created = app.action(json!({"title": "After the newest"})).await;
    let (events, _) = read_events(resumed, Duration::from_secs(15), |e| !e.is_empty()).await;
    assert_eq!(events[0].2["id"], id_of(&created).as_str(), "{events:?}");
}

/// A follower polling with the ETag of its last page gets 304 until something new comes.
#[tokio::test]
async fn a_page_of_the_feed_is_304_while_nothing_new_has_come() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let (_, newest) = drain(&app, "0", "", 200).await;
    let path = format!("/v1/changes?after={newest}");
    let first = app.get(&path).await;
    first.assert_status(200);
    let etag = first.header("etag").expect("an ETag").to_string();
    let revalidate = || async {
        let url = format!("{}{path}", app.base);
        let sent = app.client.get(url).header("if-none-match", &etag).send();
        sent.await.unwrap().status()
    };
    assert_eq!(revalidate().await, 304);
    app.action(json!({"title": "Something new"})).await;
    // The sequencer numbers a commit just after it (feed.rs): the page changes within moments.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = revalidate().await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 304);
        assert!(std::time::Instant::now() < deadline, "still 304 after 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The feed's `actor` and `dyad` filters take an actor's id as well as its code: a follower
/// that names the actor by id keeps its filter, and can reconnect, through a change of the
/// actor's code (by the old code it gets a 400; by id it was a 400 too).
#[tokio::test]
async fn the_feed_follows_an_actor_named_by_id_through_a_new_code() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let person = app.get("/v1/actors/chen-quanguo").await;
    let id = id_of(&person.body);
    let (_, start) = drain(&app, "0", "", 200).await;
    app.patch("/v1/actors/chen-quanguo", &json!({"code": "chen-q"}))
        .await
        .assert_status(200);
    let (entries, _) = drain(&app, &start, &format!("&actor={id}"), 200).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["id"], id.as_str());
    assert_eq!(entries[0]["document"]["code"], "chen-q");
    app.get(&format!("/v1/changes?after={start}&actor=chen-quanguo"))
        .await
        .assert_problem(400, Some("actor"));
    let head = app
        .client
        .head(format!("{}/v1/events?actor={id}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200, "a reconnecting stream is taken");
    app.action(json!({"title": "Frozen assets"})).await;
    let usa = id_of(&app.get("/v1/actors/USA").await.body);
    let by_ids = app.get(&format!("/v1/changes?dyad={usa},CHN")).await;
    by_ids.assert_status(200);
    let by_codes = app.get("/v1/changes?dyad=USA,CHN").await;
    assert_eq!(by_ids.body, by_codes.body);
    assert_eq!(by_ids.body["items"].as_array().unwrap().len(), 1);
}

/// A PATCH that leaves a record as it was (the same values given again) changes nothing: the same version and ETag, no feed entry, no audit entry. One
/// real change in the same body still counts.
#[tokio::test]
async fn a_patch_that_changes_nothing_leaves_no_trace() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let action = app
        .action(json!({"title": "Visa bans", "tags": ["a", "b"]}))
        .await;
    let id = id_of(&action);
    let actor = app.get("/v1/actors/USA").await;
    actor.assert_status(200);
    let (_, newest) = drain(&app, "0", "", 200).await;
    let audited = (
        audited_count(&app, &id).await,
        audited_count(&app, &id_of(&actor.body)).await,
    );

    let same = app
        .patch(
            &format!("/v1/actions/{id}"),
            &json!({"title": "Visa bans", "tags": ["a", "b"], "initiator": action["initiator"]["code"],
                "status": action["status"], "severity": action["severity"]}),
        )
        .await;
    same.assert_status(200);
    assert_eq!(same.body, action, "the document is as it was");
    let read = app.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(same.header("etag"), read.header("etag"));
    let renamed = app
        .patch("/v1/actors/USA", &json!({"name": actor.body["name"]}))
        .await;
    renamed.assert_status(200);
    assert_eq!(renamed.body, actor.body);
    let (entries, _) = drain(&app, &newest, "", 200).await;
    assert!(entries.is_empty(), "no-op PATCHes wrote {entries:?}");
    assert_eq!(
        (
            audited_count(&app, &id).await,
            audited_count(&app, &id_of(&actor.body)).await
        ),
        audited
    );

    let changed = app
        .patch(
            &format!("/v1/actions/{id}"),
            &json!({"title": "Visa bans", "tags": ["a", "c"]}),
        )
        .await;
    changed.assert_status(200);
    assert_eq!(
        changed.body["version"],
        action["version"].as_i64().unwrap() + 1
    );
    assert_eq!(changed.body["tags"], json!(["a", "c"]));
    let (entries, _) = drain(&app, &newest, "&entity=action", 200).await;
    assert_eq!(kinds(&entries), [("action".into(), "updated".into())]);
    assert_eq!(audited_count(&app, &id).await, audited.0 + 1);
}

/// How many audit entries an entity has.
async fn audited_count(app: &TestApp, entity: &str) -> usize {
    let page = app
        .as_admin(
            Method::GET,
            &format!("/v1/audit?entity_id={entity}"),
            None,
            &[],
        )
        .await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().len()
}

/// An update that takes an action out of a filter is an entry of that filter: a mirror of
/// `dyad=USA,CHN` must learn that the action now targets GBR, one of `type=asset_freeze`
/// that it became a visa ban. The entry matches the action as it was and as it is, in the
/// pages of `GET /v1/changes` (SQL) and in the live event stream (ChangeFilter::matches).
#[tokio::test]
async fn an_update_that_takes_an_action_out_of_a_filter_reaches_that_filter() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let id = id_of(&app.action(json!({})).await);
    let (_, start) = drain(&app, "0", "", 200).await;
    let live = subscribe(&app, "?dyad=USA,CHN&type=asset_freeze", None).await;

    app.patch(&format!("/v1/actions/{id}"), &json!({"target": "GBR"}))
        .await
        .assert_status(200);
    app.patch(&format!("/v1/actions/{id}"), &json!({"type": "visa_ban"}))
        .await
        .assert_status(200);
    let (all, _) = drain(&app, &start, "", 200).await;
    let updates: Vec<&str> = all
        .iter()
        .filter(|e| e["kind"] == "updated" && e["id"] == id.as_str())
        .map(|e| e["cursor"].as_str().unwrap())
        .collect();
    let [retargeted, retyped] = updates[..] else {
        panic!("two updates expected: {all:?}");
    };
    for (query, expected) in [
        ("&dyad=USA,CHN", vec![retargeted]),
        ("&actor=CHN", vec![retargeted]),
        ("&dyad=USA,GBR", vec![retargeted, retyped]),
        ("&type=asset_freeze", vec![retargeted, retyped]),
        ("&type=visa_ban", vec![retyped]),
        ("&dyad=USA,CHN&type=asset_freeze", vec![retargeted]),
        ("&dyad=CHN,GBR", vec![]),
        ("&type=export_control", vec![]),
    ] {
        let (got, _) = drain(&app, &start, query, 200).await;
        let cursors: Vec<&str> = got.iter().map(|e| e["cursor"].as_str().unwrap()).collect();
        assert_eq!(cursors, expected, "{query}");
    }
    let (events, _) = read_events(live, Duration::from_secs(10), |e| !e.is_empty()).await;
    assert_eq!(
        <[SseEvent]>::first(&events).map(|e| e.0.as_str()),
        Some(retargeted)
    );
}

/// The live stream filters with `ChangeFilter::matches`, the pages of the feed in SQL: the
/// two must pick the same entries, for every filter, over every kind of change (the code
/// review found only the dyad and type filters compared).
#[tokio::test]
async fn live_and_paged_filters_pick_the_same_entries() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let (_, start) = drain(&app, "0", "", 200).await;
    let queries = [
        "actor=USA",
        "actor=GBR",
        "actor=chen-quanguo",
        "entity=actor",
        "entity=action",
        "entity=response",
        "entity=action,response&actor=CHN",
        "dyad=USA,CHN",
        "type=visa_ban",
        "type=asset_freeze&dyad=CHN,USA",
        "kind=created",
        "kind=deleted,restored,status_changed",
        "kind=edge_added&entity=response",
        "kind=updated&actor=GBR",
    ];
    let mut streams = Vec::new();
    for q in queries {
        streams.push(subscribe(&app, &format!("?{q}"), None).await);
    }
    // Every kind of change: actors created and renamed, actions created, changed, answered,
    // their status moved, deleted and restored.
    app.actor(json!({"code": "FRA", "name": "France", "kind": "state"}))
        .await;
    app.patch("/v1/actors/GBR", &json!({"name": "United Kingdom of GB"}))
        .await
        .assert_status(200);
    app.patch("/v1/actors/chen-quanguo", &json!({"aliases": ["Chen Q."]}))
        .await
        .assert_status(200);
    let first = id_of(
        &app.action(json!({"designations": [{"actor": "chen-quanguo"}]}))
            .await,
    );
    let answer = id_of(
        &app.action(
            json!({"initiator": "CHN", "target": "USA", "type": "visa_ban",
                           "announced_on": "2020-07-10",
                           "responds_to": [{"action": first, "relation": "retaliates"}]}),
        )
        .await,
    );
    app.action(json!({"initiator": "GBR", "target": "CHN", "type": "visa_ban"}))
        .await;
    app.patch(
        &format!("/v1/actions/{first}"),
        &json!({"status": "lifted"}),
    )
    .await
    .assert_status(200);
    app.patch(&format!("/v1/actions/{answer}"), &json!({"target": "GBR"}))
        .await
        .assert_status(200);
    app.delete(&format!("/v1/actions/{answer}"))
        .await
        .assert_status(204);
    app.post(&format!("/v1/actions/{answer}/restore"), &json!({}))
        .await
        .assert_status(200);
    for (q, stream) in queries.iter().zip(streams) {
        let (paged, _) = drain(&app, &start, &format!("&{q}"), 200).await;
        let paged: Vec<String> = paged
            .iter()
            .map(|e| e["cursor"].as_str().unwrap().to_string())
            .collect();
        assert!(!paged.is_empty(), "{q}: the writes reach every filter");
        let last = paged.last().unwrap().clone();
        let mut reader = EventReader::new(stream);
        reader
            .read(Duration::from_secs(10), |e| {
                e.iter().any(|(id, _, _)| *id == last)
            })
            .await;
        // And nothing the pages leave out comes after it.
        reader
            .read(Duration::from_millis(500), |e| e.len() > paged.len())
            .await;
        let live: Vec<String> = reader.events.into_iter().map(|(id, _, _)| id).collect();
        assert_eq!(live, paged, "{q}");
    }
}

/// A purge removes an action's edges for good: its `purged` entry is followed by an
/// `edge_removed` for each edge it made, as docs/API.md says, whether the action was live or
/// deleted; followers of its dyad see the `purged` entry.
#[tokio::test]
async fn a_purge_lists_the_edges_it_removes_after_its_entry() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let first = id_of(&app.action(json!({"announced_on": "2020-07-01"})).await);
    let answer = |day: &str| {
        json!({"announced_on": day, "initiator": "CHN", "target": "USA",
            "responds_to": [{"action": first, "relation": "retaliates"}]})
    };
    let live = id_of(&app.action(answer("2020-07-02")).await);
    let deleted = id_of(&app.action(answer("2020-07-03")).await);
    app.delete(&format!("/v1/actions/{deleted}"))
        .await
        .assert_status(204);
    let (_, start) = drain(&app, "0", "", 100).await;
    let (_, dyad_start) = drain(&app, "0", "&dyad=USA,CHN", 100).await;
    for id in [&live, &deleted] {
        app.as_admin(
            Method::DELETE,
            &format!("/v1/actions/{id}?purge=true"),
            None,
            &[],
        )
        .await
        .assert_status(204);
    }
    let (items, _) = drain(&app, &start, "", 100).await;
    let got: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["entity"].as_str().unwrap(),
                i["kind"].as_str().unwrap(),
                i["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("action", "purged", live.as_str()),
            ("response", "edge_removed", live.as_str()),
            ("action", "purged", deleted.as_str()),
            ("response", "edge_removed", deleted.as_str()),
        ]
    );
    assert_eq!(items[1]["answers"], first.as_str());
    let (by_dyad, _) = drain(&app, &dyad_start, "&dyad=USA,CHN", 100).await;
    let kinds: Vec<&str> = by_dyad
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["purged", "purged"]);
}

/// Where reads need a key, an event stream ends when its key is revoked or expires: it
/// outlives the request that presented the key, and kept delivering every change to a
/// revoked key for as long as the client stayed connected.
#[tokio::test]
async fn an_event_stream_ends_when_its_key_is_revoked_or_expires() {
    let app = TestApp::spawn_with(riposte::state::Config {
        rate_limits: Default::default(),
        public_read: false,
        heartbeat: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    app.with_basics().await;
    let key = async |body: Value| {
        let made = app
            .as_admin(Method::POST, "/v1/api-keys", Some(&body), &[])
            .await;
        made.assert_status(201);
        (
            made.body["id"].as_str().unwrap().to_string(),
            made.body["secret"].as_str().unwrap().to_string(),
        )
    };
    let open = async |secret: String| {
        let resp = app
            .client
            .get(format!("{}/v1/events", app.base))
            .bearer_auth(secret)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp
    };
    // Read to the end; an end that never comes is a failure, not a hang.
    let ends = async |mut resp: reqwest::Response| {
        tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(_)) = resp.chunk().await {}
        })
        .await
        .is_ok()
    };

    let (id, secret) = key(json!({"name": "follower", "scope": "read"})).await;
    let stream = open(secret).await;
    app.as_admin(Method::DELETE, &format!("/v1/api-keys/{id}"), None, &[])
        .await
        .assert_status(200);
    assert!(ends(stream).await, "the revoked key's stream went on");

    // Long enough for a busy machine to create the key and open the stream before it ends.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(6)).to_rfc3339();
    let (_, secret) = key(json!({"name": "brief", "scope": "read", "expires_at": soon})).await;
    assert!(
        ends(open(secret).await).await,
        "the expired key's stream went on"
    );
}

/// A dyad filter names two states or IGOs, as actions are between: another kind is refused
/// naming `dyad`, in lists, the feed and subscriptions alike (it matched nothing, silently).
#[tokio::test]
async fn a_dyad_filter_of_other_kinds_is_refused() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for path in [
        "/v1/actions?dyad=us-treasury,CHN",
        "/v1/changes?dyad=USA,CHN;chen-quanguo,USA",
        "/v1/actions/export?dyad=CHN,xinjiang-psb",
    ] {
        let resp = app.get(path).await;
        resp.assert_problem(400, Some("dyad"));
        assert!(
            resp.text.contains("a dyad is two states or IGOs"),
            "{path}: {}",
            resp.text
        );
    }
    app.get("/v1/changes?dyad=USA,CHN").await.assert_status(200);
    app.as_admin(
        Method::POST,
        "/v1/webhooks",
        Some(&json!({"url": "https://example.com/", "dyad": ["us-treasury,CHN"]})),
        &[],
    )
    .await
    .assert_problem(422, Some("dyad[0]"));
}

/// Event streams are bounded per client and per server: each holds a socket for as long as its
/// client likes, and 20,000 anonymous ones used up a server's file descriptors (it stopped
/// accepting connections for everyone). Past its share a client gets a 429, past the
/// server's bound anyone a 503; a closed stream gives its place back.
#[tokio::test]
async fn event_streams_are_bounded_per_client_and_per_server() {
    let app = TestApp::spawn_with(riposte::state::Config {
        rate_limits: Default::default(),
        max_event_streams: 3,
        max_event_streams_per_client: 2,
        // A stream whose client left is noticed at its next write.
        heartbeat: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let open = |key: Option<String>| {
        let mut req = app.client.get(format!("{}/v1/events", app.base));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        req.send()
    };
    let first = open(None).await.unwrap();
    let second = open(None).await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open(None).await.unwrap();
    assert_eq!(third.status(), 429);
    assert_eq!(third.headers()["content-type"], "application/problem+json");
    assert!(third.headers().contains_key("retry-after"));
    // A key is a client of its own; the server's bound is reached with it.
    let keyed = open(Some(app.keys.read.clone())).await.unwrap();
    assert_eq!(keyed.status(), 200);
    let full = open(Some(app.keys.write.clone())).await.unwrap();
    assert_eq!(full.status(), 503);
    let problem: Value = full.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("event streams"),
        "{problem}"
    );
    // A stream that ends gives its place back (once the server notices: at its next write).
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let again = open(None).await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Holds the change sequencer's lock, as a run of another process would while it numbers.
async fn hold_sequencer_lock(app: &TestApp) -> tokio_postgres::Client {
    let side = app.sql_client().await;
    side.batch_execute(
        "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('riposte changes sequencer', 0))",
    )
    .await
    .unwrap();
    side
}

/// How many sessions wait for the sequencer's lock.
async fn sequencers_waiting(side: &tokio_postgres::Client) -> i64 {
    side.query_one(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
         AND wait_event = 'advisory' AND query LIKE '%sequence_changes()%' \
         AND datname = current_database()",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

/// A client that writes and then reads the feed finds its write there, even when a sequencer
/// run that began before the write's commit is at work (it used to give up on the lock, and
/// the entry waited for some later run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_read_right_after_a_write_holds_it_while_another_sequencer_runs() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.with_basics().await;
    let (_, start) = drain(&app, "0", "", 100).await;
    let side = hold_sequencer_lock(&app).await;
    let written = app.action(json!({"title": "Written just now"})).await;

    let reader = {
        let app = app.clone();
        tokio::spawn(async move { app.get(&format!("/v1/changes?after={start}")).await })
    };
    // The other run ends while the read waits for it: once both this process's own sequencer
    // task (woken by the commit) and the read wait, or after a while short of the wait's
    // bound if the task is not waiting.
    let sent = std::time::Instant::now();
    while sequencers_waiting(&side).await < 2 && sent.elapsed() < Duration::from_millis(1200) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    side.batch_execute("COMMIT").await.unwrap();

    let page = reader.await.unwrap();
    page.assert_status(200);
    let entries: Vec<_> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"] == written["id"])
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(entries, ["created"], "{}", page.body);
}

/// The wait for another sequencer is bounded: a run that holds the lock for long delays a
/// read of the feed by two seconds at most, and the entry is listed once it ends.
#[tokio::test]
async fn a_read_of_the_feed_waits_for_another_sequencer_only_so_long() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let (_, start) = drain(&app, "0", "", 100).await;
    let side = hold_sequencer_lock(&app).await;
    let written = app
        .action(json!({"title": "Written under a long run"}))
        .await;

    let page = app.get(&format!("/v1/changes?after={start}")).await;
    page.assert_status(200);
    assert_eq!(
        page.body["items"],
        json!([]),
        "nothing is numbered while the lock is held"
    );
    assert_eq!(page.body["next_cursor"], start.as_str());
    // Still held: the read came back without it.
    let held: i64 = side
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 1);
    side.batch_execute("COMMIT").await.unwrap();
    let (items, _) = drain(&app, &start, "", 100).await;
    assert!(items.iter().any(|e| e["id"] == written["id"]), "{items:?}");
}

/// `kind` takes the feed's own vocabulary, and says which when given another word.
#[tokio::test]
async fn an_unknown_kind_is_refused_by_name() {
    let app = TestApp::spawn().await;
    for path in [
        "/v1/changes?kind=created,exploded",
        "/v1/events?kind=exploded",
    ] {
        let resp = app.get(path).await;
        resp.assert_status(400);
        let errors = resp.body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{path}: {}", resp.body);
        assert_eq!(errors[0]["field"], "kind", "{path}");
        let message = errors[0]["message"].as_str().unwrap();
        assert!(
            message.contains("exploded") && message.contains("status_changed"),
            "{message}"
        );
    }
    let resp = app.get("/v1/changes?kind=created,").await;
    resp.assert_status(400);
    assert!(
        resp.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`created,deleted`"),
        "{}",
        resp.body
    );
}

/// A follower of a designated person or body (`actor=`) hears of the actions that name it,
/// as `GET /v1/actions?designated=` lists them: their creation, each change while they name
/// it, the change that stops naming it (matched as it was), their edges and their purge;
/// written through the API, by an import, and live on the event stream. Before, only an
/// action's initiator, target and authority were followed.
#[tokio::test]
async fn followers_of_a_designated_actor_hear_of_the_actions_naming_it() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let first = id_of(&app.action(json!({"announced_on": "2020-07-01"})).await);
    let (_, start) = drain(&app, "0", "", 100).await;
    let live = subscribe(&app, "?actor=chen-quanguo", Some(&start)).await;

    let named = id_of(
        &app.action(
            json!({"title": "Named", "designations": [{"actor": "chen-quanguo"}],
            "responds_to": [{"action": first, "relation": "retaliates"}]}),
        )
        .await,
    );
    app.action(json!({"title": "Unnamed", "designations": [{"actor": "xinjiang-psb"}]}))
        .await;
    let path = format!("/v1/actions/{named}");
    app.patch(&path, &json!({"severity": 4.0}))
        .await
        .assert_status(200);
    app.patch(&path, &json!({"designations": [{"actor": "xinjiang-psb"}]}))
        .await
        .assert_status(200);
    app.patch(&path, &json!({"severity": 5.0}))
        .await
        .assert_status(200);

    let seen = |items: &[Value]| -> Vec<(String, String, String)> {
        items
            .iter()
            .map(|i| {
                let title = i["document"]["title"].as_str().unwrap_or("").to_string();
                let kind = i["kind"].as_str().unwrap().to_string();
                let entity = i["entity"].as_str().unwrap().to_string();
                (entity, kind, title)
            })
            .collect()
    };
    let expected = |rows: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|(e, k, t)| (e.to_string(), k.to_string(), t.to_string()))
            .collect()
    };
    let (chen, _) = drain(&app, &start, "&actor=chen-quanguo", 100).await;
    assert_eq!(
        seen(&chen),
        expected(&[
            ("action", "created", "Named"),
            ("response", "edge_added", "Named"),
            ("action", "updated", "Named"),
            ("action", "updated", "Named"),
        ]),
        "{chen:?}"
    );
    let (psb, _) = drain(&app, &start, "&actor=xinjiang-psb", 100).await;
    assert_eq!(
        seen(&psb),
        expected(&[
            ("action", "created", "Unnamed"),
            ("action", "updated", "Named"),
            ("action", "updated", "Named"),
        ]),
        "{psb:?}"
    );
    let (events, _) = read_events(live, Duration::from_secs(10), |e| e.len() >= 4).await;
    let live: Vec<&str> = events
        .iter()
        .map(|e| e.2["kind"].as_str().unwrap())
        .collect();
    assert_eq!(live, ["created", "edge_added", "updated", "updated"]);

    // An import names and then stops naming; an update of another field is not the follower's.
    let (_, before_import) = drain(&app, "0", "", 200).await;
    let line = |designations: Value| {
        json!({"title": "Imported", "initiator": "USA", "target": "CHN",
               "type": "asset_freeze", "status": "in_force", "announced_on": "2024-01-15",
               "external_id": "x-1", "source_dataset": "test", "designations": designations})
    };
    for designations in [json!([{"actor": "chen-quanguo"}]), json!([])] {
        let job =
            super::imports::import(&app, "", format!("{}\n", line(designations)).into()).await;
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    let (imported, _) = drain(&app, &before_import, "&actor=chen-quanguo", 100).await;
    let kinds: Vec<&str> = imported
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "updated"], "{imported:?}");

    // Deleted and purged: the follower of the body it now names hears both.
    let (_, before_purge) = drain(&app, "0", "", 200).await;
    app.delete(&path).await.assert_status(204);
    app.as_admin(Method::DELETE, &format!("{path}?purge=true"), None, &[])
        .await
        .assert_status(204);
    let (gone, _) = drain(&app, &before_purge, "&actor=xinjiang-psb", 100).await;
    let kinds: Vec<&str> = gone.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["deleted", "purged"], "{gone:?}");
}

/// A long feed of another dyad, 400,000 entries in pages of 10,000 none of which matches
/// `?dyad=USA,GBR`; and a connection to the test's database.
async fn unmatched_feed(app: &TestApp) -> tokio_postgres::Client {
    let db = app.sql_client().await;
    db.batch_execute(
        "INSERT INTO changes (seq, kind, entity, entity_id, actor_ids, dyad)
         SELECT nextval('changes_seq'), 'updated', 'action', gen_random_uuid(), '{}',
                ARRAY[gen_random_uuid(), gen_random_uuid()]
         FROM generate_series(1, 400000)",
    )
    .await
    .unwrap();
    db
}

/// Streams catching up take turns to read the database: a quarter of the pool at most. Each
/// reads its next page as soon as its client has taken the last, so streams following a long
/// feed with a filter that matches nothing in it (sixty, in the review) held every
/// connection: `/readyz` answered 503 and reads waited past their bound.
#[tokio::test]
async fn streams_catching_up_read_a_few_at_a_time() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let db = unmatched_feed(&app).await;
    let mut streams = Vec::new();
    for _ in 0..8 {
        streams.push(subscribe(&app, "?dyad=USA,GBR&after=0", None).await);
    }
    // Drained as fast as they come, as a client does.
    let readers: Vec<_> = streams
        .into_iter()
        .map(|resp| {
            tokio::spawn(async move {
                let mut body = resp.bytes_stream();
                while let Some(Ok(_)) = body.next().await {}
            })
        })
        .collect();
    let mut most = 0;
    for _ in 0..150 {
        let reading: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
                 AND datname = current_database() AND query LIKE 'WITH scanned AS%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        most = most.max(reading);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for reader in readers {
        reader.abort();
    }
    // The test pool has 8 connections: 2 turns, and the live feed's own reader (one per
    // process, broadcasting the same entries) may be reading too.
    assert!(most >= 1, "no stream was seen catching up");
    assert!(most <= 3, "{most} streams read the feed at once");
}

/// A stream waiting behind others for its turn to catch up says it is alive meanwhile (a
/// proxy or client closes a connection silent for long), keeps its place in the queue, and
/// one that leaves while waiting is gone at once, not when its turn would have come.
#[tokio::test]
async fn streams_waiting_for_a_turn_send_heartbeats() {
    let app = TestApp::spawn_with(riposte::state::Config {
        rate_limits: Default::default(),
        heartbeat: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    app.with_basics().await;
    unmatched_feed(&app).await;
    // 30 streams for the 2 turns of a pool of 8, each with 40 pages of nothing to read.
    let mut streams = Vec::new();
    for _ in 0..30 {
        streams.push(subscribe(&app, "?dyad=USA,GBR&after=0", None).await);
    }
    let readers: Vec<_> = streams
        .into_iter()
        .map(|resp| {
            tokio::spawn(async move {
                // The comments read before the stream caught up, in order.
                let mut body = resp.bytes_stream();
                let mut text = String::new();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
                while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await
                {
                    text.push_str(&String::from_utf8_lossy(&chunk));
                    if text.contains(": caught up") {
                        break;
                    }
                }
                (text, body)
            })
        })
        .collect();
    let mut waited = 0;
    let mut kept = Vec::new();
    for reader in readers {
        let (text, body) = reader.await.unwrap();
        let before = text.split(": caught up").next().unwrap();
        waited += before.matches(": keepalive").count();
        kept.push(body);
    }
    assert!(
        waited > 0,
        "no stream sent a heartbeat while it waited to catch up"
    );

    // 28 leave while still catching up: the gauge counts the 2 left within a heartbeat or two.
    kept.truncate(2);
    let clients = || async {
        super::metrics::scrape(&app)
            .await
            .must("riposte_events_clients", &[])
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while clients().await != 2.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "streams that left while waiting still counted: {}",
            clients().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
