//! The dashboard in a real browser: headless Chromium (tests/support/browser.rs) against a
//! real `riposte serve --seed xinjiang-2020`. Each page is checked for what the founding
//! example must show, for console errors, and photographed into docs/screenshots/.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

#[path = "support/process.rs"]
mod process;
use process::{free_port, key, serve_on, serve_with, wait_ready, Server};

#[path = "support/browser.rs"]
mod browser;
use browser::Browser;

const GAO_YAN: &str = "0a1f0000-0000-4000-8000-000000000001";
const MAGNITSKY_9_JULY: &str = "0a1f0000-0000-4000-8000-000000000006";
const VISAS_9_JULY: &str = "0a1f0000-0000-4000-8000-000000000007";
const VOW_10_JULY: &str = "0a1f0000-0000-4000-8000-000000000008";
const DEMAND_10_JULY: &str = "0a1f0000-0000-4000-8000-000000000009";

/// `riposte serve --seed xinjiang-2020 EXTRA` on a fresh data directory, ready.
struct Seeded {
    /// Killed when dropped, before `dir` (fields drop in order) is removed.
    _server: Server,
    dir: tempfile::TempDir,
    base: String,
}

async fn serve_seeded(extra: &[&str]) -> Seeded {
    let dir = tempfile::Builder::new()
        .prefix("riposte-dashboard")
        .tempdir_in("/tmp")
        .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut args = vec!["--seed", "xinjiang-2020"];
    args.extend_from_slice(extra);
    let mut server = serve_with(&dir.path().join("data"), port, &args);
    wait_ready(&reqwest::Client::new(), &base, &mut server).await;
    Seeded {
        _server: server,
        dir,
        base,
    }
}

/// The value of the script `script` once `done` holds of it (or after 20 s, for the caller's
/// assertion to report).
async fn eval_until(b: &Browser, script: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let value = b.eval(script).await;
        if done(&value) {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.eval(script).await
}

/// The texts of every element matching `css`.
async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in b.find_all(css).await {
        out.push(e.text().await.unwrap());
    }
    out
}

/// Waits until the view has finished loading (`aria-busy` false) and drew `css`.
async fn loaded(b: &Browser, css: &str) {
    b.find(css).await;
    wait_js(
        b,
        "return document.getElementById('view').getAttribute('aria-busy')",
        json!("false"),
    )
    .await;
}

/// Every form control of the view has a label a screen reader reads out, and every image
/// of data (chart, graph) has a name.
async fn assert_labelled(b: &Browser) {
    let unlabelled = b
        .eval(
            "return [...document.querySelectorAll('input, select, textarea')]
               .filter(e => e.type !== 'hidden' && !e.labels?.length && !e.getAttribute('aria-label'))
               .map(e => e.outerHTML)
               .concat([...document.querySelectorAll('.plot, .chain-graph')]
                 .filter(e => !e.getAttribute('aria-label')).map(e => e.tagName))",
        )
        .await;
    assert_eq!(unlabelled, json!([]), "on {}", b.current_url().await);
}

/// The page is no wider than the window: nothing runs off the side at phone width.
async fn assert_fits(b: &Browser) {
    let widths = b
        .eval("return [document.documentElement.scrollWidth, window.innerWidth]")
        .await;
    let (page, window) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
    assert!(
        page <= window,
        "the page is {page} px wide in a {window} px window"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_shows_the_founding_example() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;

    // Overview: the one dyad, the categories, the latest actions (newest first).
    b.goto("/").await;
    loaded(&b, "[data-dyad]").await;
    let dyads = texts(&b, "tr[data-dyad]").await;
    assert_eq!(dyads.len(), 1, "{dyads:?}");
    assert!(
        dyads[0].contains("CHN ⇄ USA") && dyads[0].contains('9'),
        "{dyads:?}"
    );
    b.wait_for_text(".lede", "9 actions, all time").await;
    let sanctions = b
        .eval("return document.querySelector('tr[data-category=sanction] td').textContent")
        .await;
    assert_eq!(sanctions, json!("7"));
    let latest = b.find_all("#latest li[data-id]").await;
    assert_eq!(latest.len(), 9);
    assert_eq!(
        latest[0].attr("data-id").await.unwrap().as_deref(),
        Some(DEMAND_10_JULY)
    );
    b.screenshot("overview").await;
    assert_labelled(&b).await;
    // A window holds the latest actions too (they were the newest of all time beneath a
    // window's "0 actions").
    b.goto("/?from=2020-07-10&to=2020-07-31").await;
    b.wait_for_text("#latest-h", "of the window").await;
    let windowed = eval_until(
        &b,
        "const l = document.querySelectorAll('#latest li[data-id]'); return l.length ? l.length : null",
        |v| !v.is_null(),
    )
    .await;
    assert!(windowed.as_u64() < Some(9), "{windowed}");
    b.goto("/?from=2026-01-01&to=2026-01-31").await;
    b.wait_for_text("#latest", "No actions in this window")
        .await;
    b.goto("/").await;
    loaded(&b, "[data-dyad]").await;
    b.assert_no_console_errors().await;

    // Click through to the dyad: its chart, its table, its cards.
    b.click("tr[data-dyad] a").await;
    loaded(&b, "[data-card]").await;
    assert!(b.current_url().await.ends_with("/dyads/CHN/USA"));
    b.find(".plot canvas").await;
    // The page is CHN/USA: `a_to_b` is CHN → USA.
    let cards = [
        ("actions", "2 · severity −9.4", "7 · severity −47"),
        (
            "reciprocity",
            "0% (0 of 2 answered)",
            "29% (2 of 7 answered)",
        ),
        ("response", "no answers", "1 day"),
        (
            "proportionality",
            "mirror 1 · escalate 0 · de\u{2011}escalate 2",
            "mirror 0 · escalate 0 · de\u{2011}escalate 0",
        ),
        ("threats", "0 of 1", "0 of 0"),
        (
            "pending",
            "1: China vows reciprocal action against US institutions and individuals over \
             Xinjiang sanctions (10 Jul 2020)",
            "none",
        ),
        ("in_force", "0", "7"),
    ];
    for (card, chn_usa, usa_chn) in cards {
        let chn = b
            .text(&format!("[data-card={card}] dd[data-dir=a_to_b]"))
            .await;
        let usa = b
            .text(&format!("[data-card={card}] dd[data-dir=b_to_a]"))
            .await;
        assert_eq!((card, chn.as_str(), usa.as_str()), (card, chn_usa, usa_chn));
    }
    // Rows say whose figure they are: a median response is the other side's answering.
    let labels = b
        .eval(
            "return ['reciprocity', 'response', 'proportionality'].map(c =>
               [...document.querySelectorAll(`[data-card=${c}] dt`)].map(d => d.textContent))",
        )
        .await;
    assert_eq!(
        labels,
        json!([
            ["CHN’s, answered by USA", "USA’s, answered by CHN"],
            ["USA answering CHN", "CHN answering USA"],
            ["CHN’s answers", "USA’s answers"]
        ])
    );
    assert!(b
        .text("[data-value=harsher]")
        .await
        .contains("USA the harsher"));
    let pending = b.find("[data-card=pending] a").await;
    assert_eq!(
        pending.attr("href").await.unwrap().as_deref(),
        Some(format!("/actions/{VOW_10_JULY}").as_str())
    );
    // The table behind the chart: July 2020 has both sides' actions.
    b.click("figure.chart .table-toggle button").await;
    let july = b
        .eval(
            "return [...document.querySelectorAll('[data-table=timeline] tbody tr')]
               .map(r => [...r.children].map(c => c.textContent))
               .find(r => r[0] === '1 Jul 2020')",
        )
        .await;
    assert_eq!(
        july,
        json!(["1 Jul 2020", "2", "2", "37.6"]),
        "CHN→USA, USA→CHN, balance from CHN"
    );
    // Another interval, once shown, is another URL, and back returns to the month.
    b.find("#interval")
        .await
        .select_by_value("year")
        .await
        .unwrap();
    b.click("form.controls button[type=submit]").await;
    wait_js(
        &b,
        "return document.querySelector('[data-table=timeline] caption')?.textContent",
        json!("Actions per year (buckets with none left out)"),
    )
    .await;
    assert!(b
        .current_url()
        .await
        .ends_with("/dyads/CHN/USA?interval=year"));
    b.client().back().await.unwrap();
    wait_js(
        &b,
        "return document.getElementById('interval')?.value",
        json!("month"),
    )
    .await;
    b.screenshot("dyad").await;
    assert_labelled(&b).await;
    b.assert_no_console_errors().await;

    // The chain of the 9 July sanctions: two generations, three typed edges.
    b.goto(&format!("/actions/{MAGNITSKY_9_JULY}/chain")).await;
    loaded(&b, ".chain-graph .node").await;
    let generation = |id: &str| {
        let b = &b;
        let script =
            format!("return document.querySelector('.node[data-id=\"{id}\"]').dataset.generation");
        async move { b.eval(&script).await }
    };
    assert_eq!(generation(MAGNITSKY_9_JULY).await, json!("0"));
    assert_eq!(generation(VISAS_9_JULY).await, json!("0"));
    assert_eq!(generation(VOW_10_JULY).await, json!("1"));
    assert_eq!(generation(DEMAND_10_JULY).await, json!("1"));
    let edges = b
        .eval(
            "return [...document.querySelectorAll('.chain-graph path.edge')]
               .map(e => [e.dataset.from.slice(-1), e.dataset.relation, e.dataset.to.slice(-1)])
               .sort()",
        )
        .await;
    assert_eq!(
        edges,
        json!([
            ["8", "retaliates", "6"],
            ["8", "retaliates", "7"],
            ["9", "demands_lifting", "6"]
        ])
    );
    // Generations are drawn as rows, top to bottom.
    let ys = b
        .eval(&format!(
            "const y = id => +document.querySelector(`.node[data-id=\"${{id}}\"] rect`).getAttribute('y');
             return [y('{MAGNITSKY_9_JULY}'), y('{VISAS_9_JULY}'), y('{VOW_10_JULY}')]"
        ))
        .await;
    assert_eq!(ys[0], ys[1]);
    assert!(ys[2].as_f64().unwrap() > ys[0].as_f64().unwrap());
    let labels = texts(&b, ".chain-graph .edge-label").await;
    assert_eq!(labels.iter().filter(|l| *l == "retaliates").count(), 2);
    b.screenshot("chain").await;
    assert_labelled(&b).await;
    b.assert_no_console_errors().await;
    // A node is a link: focused and opened from the keyboard.
    b.eval(&format!(
        "document.querySelector('.node[data-id=\"{VOW_10_JULY}\"]').focus()"
    ))
    .await;
    b.client()
        .active_element()
        .await
        .unwrap()
        .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
        .await
        .unwrap();
    loaded(&b, "h1").await;
    b.wait_for_text("h1", "China vows reciprocal action").await;
    assert!(b
        .current_url()
        .await
        .ends_with(&format!("/actions/{VOW_10_JULY}")));

    // The action: what it answers, its source's quote, its status.
    let answers = texts(&b, "li[data-relation=retaliates]").await;
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(answers
        .iter()
        .any(|a| a.contains("US Global Magnitsky sanctions on Xinjiang")));
    b.wait_for_text("blockquote", "reciprocal action against institutions")
        .await;
    b.wait_for_text(".statuses", "threatened").await;
    b.screenshot("action").await;
    assert_labelled(&b).await;
    b.assert_no_console_errors().await;
    b.goto(&format!("/actions/{GAO_YAN}")).await;
    loaded(&b, "h1").await;
    b.wait_for_text(".names", "Gao Yan").await;
    b.assert_no_console_errors().await;

    // Chen Quanguo across 9 July 2020, with the date picker.
    b.goto("/actors/chen-quanguo?as_of=2020-07-08").await;
    loaded(&b, "[data-table=designations]").await;
    let states = texts(&b, "[data-table=designations] [data-state]").await;
    assert_eq!(states, ["not yet", "not yet"]);
    set_date(&b, "#as-of", "2020-07-09").await;
    b.wait_for_text("#verdict", "On 9 Jul 2020: under 2 measures in force")
        .await;
    let states = texts(&b, "[data-table=designations] [data-state]").await;
    assert_eq!(states, ["in force", "in force"]);
    assert!(b.current_url().await.ends_with("?as_of=2020-07-09"));
    b.screenshot("actor").await;
    assert_labelled(&b).await;
    b.client().back().await.unwrap();
    b.wait_for_text("#verdict", "under no measure in force")
        .await;
    b.assert_no_console_errors().await;

    // Search, typed into the page: the 9 July sanctions.
    b.goto("/search").await;
    loaded(&b, "#f-q").await;
    b.set_value("#f-q", "Xinjiang officials").await;
    b.click(".search-main button").await;
    b.wait_for_text("[data-table=results] caption", "actions found")
        .await;
    let found: Vec<String> = {
        let mut ids = Vec::new();
        for row in b.find_all("[data-table=results] tbody tr").await {
            ids.push(row.attr("data-id").await.unwrap().unwrap());
        }
        ids
    };
    assert!(
        found.contains(&MAGNITSKY_9_JULY.to_string()) && found.contains(&VISAS_9_JULY.to_string())
    );
    assert!(b
        .current_url()
        .await
        .ends_with("/search?q=Xinjiang+officials"));
    b.screenshot("search").await;
    assert_labelled(&b).await;
    b.assert_no_console_errors().await;

    // A mistyped filter shows the API's problem, per field, not a blank page.
    b.goto("/search?from=2020-13-01").await;
    b.wait_for_text("[role=alert]", "from").await;
    let _ = b.console_errors().await; // the 400 itself is logged as a failed load
                                      // The values a problem quotes are set as code, not shown between backticks.
    b.goto("/search?initiator=XYZ").await;
    b.wait_for_text("[role=alert]", "XYZ").await;
    let _ = b.console_errors().await;
    assert!(!b.text("[role=alert]").await.contains('`'));
    let codes = b
        .eval("return [...document.querySelectorAll('[role=alert] code')].map(c => c.textContent)")
        .await;
    assert!(codes.as_array().unwrap().contains(&json!("XYZ")), "{codes}");
    // An action that does not exist: the API's 404, not a blank page; a search that finds
    // nothing says so.
    b.goto("/actions/0a1f0000-0000-4000-8000-0000000000ff")
        .await;
    b.wait_for_text("h1", "Not found").await;
    b.wait_for_text("[role=alert]", "does not exist").await;
    // The page asks for the action, its history and its answers at once: all three 404s
    // are logged as failed loads, the last ones possibly after the problem is shown.
    eval_until(
        &b,
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('0000000000ff')).length",
        |v| v.as_u64() >= Some(3),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = b.console_errors().await;
    b.goto("/search?q=nothingmatchesthis").await;
    b.wait_for_text("[data-empty]", "No action matches").await;
    b.assert_no_console_errors().await;

    // At phone width, nothing runs off the side.
    let phone = Browser::phone(&s.base).await;
    for path in [
        "/",
        "/dyads/USA/CHN",
        &format!("/actions/{MAGNITSKY_9_JULY}"),
    ] {
        phone.goto(path).await;
        loaded(&phone, "h1").await;
        assert_fits(&phone).await;
    }
    phone.goto("/dyads/USA/CHN").await;
    loaded(&phone, "[data-card]").await;
    phone.screenshot("dyad-phone").await;
    phone.assert_no_console_errors().await;
}

/// Waits until `script` returns `expected`.
async fn wait_js(b: &Browser, script: &str, expected: Value) {
    let last = eval_until(b, script, |v| *v == expected).await;
    assert_eq!(last, expected, "`{script}`");
}

/// A date input is set as a person's picker would leave it (value, then `change`), and its
/// form sent (Show).
async fn set_date(b: &Browser, css: &str, day: &str) {
    b.eval(&format!(
        "const e = document.querySelector('{css}'); e.value = '{day}';
         e.dispatchEvent(new Event('change', {{bubbles: true}})); e.form.requestSubmit()"
    ))
    .await;
}

/// A seeded server, a write key for it, and its overview open in a browser, following the
/// change stream.
async fn live_overview() -> (Seeded, String, Browser) {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    let b = Browser::desktop(&s.base).await;
    b.goto("/").await;
    loaded(&b, "#latest li").await;
    b.wait_for_text("#live-state", "live").await;
    (s, write, b)
}

/// The overview follows the change stream: an action written by another client appears in
/// its latest actions without a reload; its chain then has a third generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_new_actions_live() {
    let (s, write, b) = live_overview().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/actions", s.base))
        .bearer_auth(&write)
        .json(&json!({
            "title": "China sanctions US officials over Xinjiang",
            "initiator": "CHN", "target": "USA", "authority": "chn-mfa",
            "type": "visa_ban", "status": "in_force", "announced_on": "2020-07-13",
            "responds_to": [
                {"action": VOW_10_JULY, "relation": "implements"},
                {"action": MAGNITSKY_9_JULY, "relation": "reciprocates"}
            ]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    b.wait_for_text("#latest li", "China sanctions US officials over Xinjiang")
        .await;
    assert_eq!(
        b.find("#latest li").await.attr("data-id").await.unwrap(),
        Some(id.clone())
    );
    // The counts and the dyads with it: they kept saying 9 beside a list of 10.
    b.wait_for_text(".lede", "10 actions").await;
    b.wait_for_text("tr[data-dyad]", "CHN→USA 3").await;
    b.assert_no_console_errors().await;

    b.click(&format!("#latest li[data-id=\"{id}\"] a")).await;
    loaded(&b, "h1").await;
    b.click("a.button").await;
    loaded(&b, ".chain-graph").await;
    let node = b
        .find(&format!(".node[data-id=\"{id}\"]"))
        .await
        .attr("data-generation")
        .await
        .unwrap();
    assert_eq!(node.as_deref(), Some("2"));
    let relations = texts(&b, ".chain-graph .edge-label").await;
    assert!(relations.contains(&"implements".to_string()));
    assert!(relations.contains(&"reciprocates".to_string()));
    // Back twice: the action, then the overview.
    b.client().back().await.unwrap();
    b.wait_for_text("h1", "China sanctions US officials").await;
    b.client().back().await.unwrap();
    b.wait_for_text("h1", "Who answered whom").await;
    b.assert_no_console_errors().await;
}

/// A stream of changes that does not pause (an import, a busy newsroom) still updates the
/// overview while it lasts: each change put the read off until the next had stopped for
/// 400 ms, so it waited for the stream to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_updates_while_changes_keep_coming() {
    let (s, write, b) = live_overview().await;
    let started = std::time::Instant::now();
    let mut shown = None;
    for n in 1..=60 {
        post_action(
            &s,
            &write,
            json!({"title": format!("Steady {n}"), "announced_on": "2026-01-01"}),
        )
        .await;
        if b.text("#latest li").await.contains("Steady") {
            shown = Some(n);
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let shown = shown.unwrap_or_else(|| {
        panic!(
            "the overview showed none of 60 actions written over {:?} while they came",
            started.elapsed()
        )
    });
    assert!(shown < 60, "{shown}");
    b.assert_no_console_errors().await;
}

/// Where reads need a key, a page asks for one, keeps it for the tab, and then shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_needs_a_read_key_gets_one_from_the_page() {
    let s = serve_seeded(&["--public-read", "false"]).await;
    let read = key(&s.dir.path().join("data"), "read");
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/USA/CHN").await;
    b.find("#api-key").await;
    let _ = b.console_errors().await; // the 401s themselves are logged as failed loads
    b.set_value("#api-key", &read).await;
    b.click("form.keyform button").await;
    loaded(&b, "[data-card]").await;
    b.wait_for_text("[data-card=actions]", "7 · severity −47")
        .await;
    // Kept for the tab: another page needs no second asking.
    b.goto("/actors/chen-quanguo").await;
    loaded(&b, "[data-table=designations]").await;
    b.assert_no_console_errors().await;
    // Forgotten on request.
    b.click("#forget-key").await;
    b.find("#api-key").await;
    let stored = b.eval("return sessionStorage.getItem('riposte.key')").await;
    assert_eq!(stored, Value::Null);
}

/// Writes an action through the API, as another client would: `fields` over a USA → CHN
/// visa ban of 1 August 2020. Its document.
async fn post_action(s: &Seeded, write: &str, fields: Value) -> Value {
    let mut action = json!({
        "title": "An action", "initiator": "USA", "target": "CHN", "type": "visa_ban",
        "status": "in_force", "announced_on": "2020-08-01",
    });
    action
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/actions", s.base))
        .bearer_auth(write)
        .json(&action)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// A connection to the database of the served data directory (the embedded cluster listens
/// on a socket in it), for writing what the API would refuse.
async fn stored_database(s: &Seeded) -> diesel_async::AsyncPgConnection {
    use diesel_async::AsyncConnection;
    let url = riposte::embedded_pg::url_for(&s.dir.path().join("data"), "postgres");
    diesel_async::AsyncPgConnection::establish(&url)
        .await
        .expect("the served data directory's database")
}

/// Source URLs that a browser's URL parser refuses, as a database written before the API
/// refused them holds: the action still shows, each such source as its text, and only
/// http(s) URLs the browser can open as links. (The page used to fail whole.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_the_browser_cannot_parse_are_shown_as_text() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    let odd = [
        "https://a%zz.org/",
        "https://exa^mple.org/",
        "http://a:99999/",
        "https://[::1",
    ];
    let mut sources: Vec<Value> = (0..odd.len())
        .map(|i| json!({ "url": format!("https://example.org/odd/{i}") }))
        .collect();
    sources.push(json!({ "url": "https://example.org/press/1" }));
    let action = post_action(
        &s,
        &write,
        json!({ "title": "Sources with odd URLs", "sources": sources }),
    )
    .await;
    // The API refuses them now: written behind its back, as older data holds them. The
    // stored document follows at commit (triggers of migration 000017).
    let mut db = stored_database(&s).await;
    for (i, url) in odd.iter().enumerate() {
        diesel::sql_query("UPDATE sources SET url = $1 WHERE url = $2")
            .bind::<diesel::sql_types::Text, _>(*url)
            .bind::<diesel::sql_types::Text, _>(format!("https://example.org/odd/{i}"))
            .execute(&mut db)
            .await
            .unwrap();
    }
    let b = Browser::desktop(&s.base).await;
    b.goto(&format!("/actions/{}", action["id"].as_str().unwrap()))
        .await;
    loaded(&b, ".sources").await;
    assert_eq!(b.text("h1").await, "Sources with odd URLs");
    let shown = b
        .eval(
            "return [...document.querySelectorAll('.sources li')]
               .map(li => [li.textContent, li.querySelector('a')?.getAttribute('href') ?? null])",
        )
        .await;
    let mut expected: Vec<Value> = odd.iter().map(|url| json!([url, null])).collect();
    expected.push(json!(["example.org", "https://example.org/press/1"]));
    assert_eq!(shown, json!(expected));
    b.assert_no_console_errors().await;
}

/// A state has no country, no measure names it: what is missing is left out, not written
/// as "null".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_page_shows_nothing_for_what_it_lacks() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/actors/USA").await;
    loaded(&b, "#verdict").await;
    b.wait_for_text("#verdict", "No measure designates it.")
        .await;
    let nulls = b
        .eval(
            "const walk = document.createTreeWalker(document.getElementById('view'), NodeFilter.SHOW_TEXT);
             let n = 0;
             while (walk.nextNode()) if (/\\bnull\\b/.test(walk.currentNode.data)) n++;
             return n",
        )
        .await;
    assert_eq!(nulls, json!(0), "{}", b.text("#view").await);
    b.assert_no_console_errors().await;
}

/// Whether the node `after` (page text) is laid out to the right of `before` (user text),
/// as in the left-to-right page around them. Both are JavaScript expressions.
async fn right_of(b: &Browser, before: &str, after: &str) -> bool {
    let script = format!(
        "const box = (n) => {{ const r = document.createRange(); r.selectNode(n); return r.getBoundingClientRect(); }};
         return box({after}).left >= box({before}).right - 1"
    );
    b.eval(&script).await == json!(true)
}

/// A right-to-left override in a title or a name reorders that text only, never the page
/// text around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bidi_controls_in_user_text_stay_inside_it() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    let root = post_action(
        &s,
        &write,
        json!({ "title": "root \u{202e}RTL العربية title" }),
    )
    .await;
    let root = root["id"].as_str().unwrap().to_string();
    let answer = post_action(
        &s,
        &write,
        json!({
            "title": "An answer", "initiator": "CHN", "target": "USA",
            "announced_on": "2020-08-02",
            "responds_to": [{ "action": root, "relation": "retaliates" }],
        }),
    )
    .await;
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/actors", s.base))
        .bearer_auth(&write)
        .json(&json!({
            "code": "rtl-person", "name": "Person \u{202e}RTL", "kind": "person", "country": "CHN",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let b = Browser::desktop(&s.base).await;

    // The chain's breadcrumb: "Overview / <the title> / chain".
    b.goto(&format!("/actions/{root}/chain")).await;
    loaded(&b, ".chain-graph").await;
    let link = format!("document.querySelector('.crumbs a[href=\"/actions/{root}\"]')");
    assert!(
        right_of(&b, &link, &format!("{link}.nextSibling")).await,
        "{}",
        b.text(".crumbs").await
    );
    b.assert_no_console_errors().await;

    // What the answer answers: "retaliates <title> (USA, 1 Aug 2020)".
    b.goto(&format!("/actions/{}", answer["id"].as_str().unwrap()))
        .await;
    loaded(&b, "li[data-relation=retaliates] a").await;
    let link = "document.querySelector('li[data-relation=retaliates] a')";
    assert!(
        right_of(&b, link, &format!("{link}.nextSibling")).await,
        "{}",
        b.text("li[data-relation=retaliates]").await
    );

    // A person's name, then its kind.
    b.goto("/actors/rtl-person").await;
    loaded(&b, "h1 .kind").await;
    assert!(
        right_of(
            &b,
            "document.querySelector('h1').firstChild",
            "document.querySelector('h1 .kind')"
        )
        .await,
        "{}",
        b.text("h1").await
    );
    b.assert_no_console_errors().await;
}

/// The API takes years from 0001: the chart puts an action of the year 50 in the year 50,
/// not in 1950.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_draws_years_before_100_as_they_are() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    post_action(
        &s,
        &write,
        json!({ "title": "An ancient action", "announced_on": "0050-03-15" }),
    )
    .await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/CHN/USA?from=0050-03-01&to=0050-03-31").await;
    loaded(&b, ".plot .u-over").await;
    // The one bucket, under the cursor: the legend names it, its year as it is (not 1950).
    let hover_and_read =
        "const o = document.querySelector('.plot .u-over'), r = o.getBoundingClientRect();
         o.dispatchEvent(new MouseEvent('mousemove', {
           clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true }));
         return document.querySelector('.u-legend .u-series:first-child .u-value')?.textContent";
    let shown = eval_until(&b, hover_and_read, |v| {
        v.as_str().is_some_and(|t| t.contains("Mar"))
    })
    .await;
    assert_eq!(shown, json!("Mar 50"), "the bucket of March 50");
    b.assert_no_console_errors().await;
}

/// A dyad whose first action is in the year 50 spans more than 10,000 months: its page, with
/// no interval asked, shows the chart by the quarter the API chose (it asked for months and
/// showed only the refusal), and keeps the interval unasked until the reader picks one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dyad_spanning_millennia_shows_its_chart_by_the_interval_that_fits() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    post_action(
        &s,
        &write,
        json!({ "title": "An ancient action", "announced_on": "0050-03-15" }),
    )
    .await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/CHN/USA").await;
    loaded(&b, ".plot .u-over").await;
    assert_eq!(
        b.eval("return document.getElementById('interval').value")
            .await,
        json!("quarter")
    );
    assert!(b.find_all(".problem").await.is_empty());
    b.eval("document.getElementById('interval').value = 'year'; document.getElementById('interval').form.requestSubmit()")
        .await;
    let address = eval_until(&b, "return location.pathname + location.search", |v| {
        v == "/dyads/CHN/USA?interval=year"
    })
    .await;
    assert_eq!(address, "/dyads/CHN/USA?interval=year");
    loaded(&b, ".plot .u-over").await;
    let caption = eval_until(
        &b,
        "return document.querySelector('table[data-table=timeline] caption')?.textContent",
        |v| {
            v.as_str()
                .is_some_and(|c| c.starts_with("Actions per year"))
        },
    )
    .await;
    assert!(
        caption
            .as_str()
            .is_some_and(|c| c.starts_with("Actions per year")),
        "{caption}"
    );
    assert_eq!(
        b.eval("return document.getElementById('interval').value")
            .await,
        json!("year")
    );
    b.assert_no_console_errors().await;
}

/// A malformed percent escape in a page's address is a page that does not exist, said as
/// such, not a blank page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_address_is_not_found() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    for path in ["/actors/%E0%A4%A", "/dyads/USA/%E0%A4%A"] {
        b.goto(path).await;
        loaded(&b, "[role=alert]").await;
        b.wait_for_text("h1", "No such page").await;
        b.wait_for_text("[role=alert]", "There is no page at").await;
        // The page comes as a 404, which the browser logs as a failed load; nothing else.
        let errors = b.console_errors().await;
        assert!(
            errors
                .iter()
                .all(|e| e.source == "network" && e.message.contains("404")),
            "{path}: {errors:?}"
        );
    }
}

/// The ids of the actions listed by the search page now.
async fn listed(b: &Browser) -> Vec<String> {
    loaded(b, "[data-table=results], [data-empty]").await;
    let mut ids = Vec::new();
    for row in b.find_all("[data-table=results] tbody tr").await {
        ids.push(row.attr("data-id").await.unwrap().unwrap());
    }
    ids
}

/// Every filter of `GET /v1/actions` is a filter of the search page: a page address with
/// one lists what the API lists with it, and the form shows it. Keys it does not know are
/// named, not silently dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_takes_every_filter_of_the_api() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    let http = reqwest::Client::new();
    let gone = post_action(&s, &write, json!({ "title": "A deleted action" })).await;
    let url = format!("{}/v1/actions/{}", s.base, gone["id"].as_str().unwrap());
    let etag = http.get(&url).send().await.unwrap().headers()["etag"].clone();
    let resp = http
        .delete(&url)
        .bearer_auth(&write)
        .header("if-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let late = post_action(&s, &write, json!({ "title": "A late action" })).await;
    let api_ids = |query: Vec<(&'static str, String)>| {
        let http = &http;
        let mut url = reqwest::Url::parse(&format!("{}/v1/actions?limit=25", s.base)).unwrap();
        url.query_pairs_mut().extend_pairs(&query);
        async move {
            let page: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            page["items"]
                .as_array()
                .unwrap_or_else(|| panic!("{page}"))
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let all = api_ids(vec![]).await;
    let b = Browser::desktop(&s.base).await;
    let cases = [
        ("as_of", "2020-07-10".to_string()),
        ("severity_min", "-5".to_string()),
        ("severity_max", "-5".to_string()),
        ("answered", "true".to_string()),
        ("answered", "false".to_string()),
        ("show_deleted", "true".to_string()),
        (
            "updated_since",
            late["updated_at"].as_str().unwrap().to_string(),
        ),
    ];
    for (name, value) in cases {
        let expected = api_ids(vec![(name, value.clone())]).await;
        assert_ne!(expected, all, "{name}={value} filters nothing out");
        let mut page = reqwest::Url::parse(&format!("{}/search", s.base)).unwrap();
        page.query_pairs_mut().append_pair(name, &value);
        b.goto(page.as_str()).await;
        assert_eq!(listed(&b).await, expected, "{name}={value}");
        let control = b
            .eval(&format!(
                "const e = document.querySelector('.search-form [name={name}]');
                 return e.type === 'checkbox' ? String(e.checked) : e.value"
            ))
            .await;
        assert_eq!(control, json!(value), "the form's {name}");
        assert!(b.find_all("[data-ignored]").await.is_empty());
    }
    b.assert_no_console_errors().await;

    b.goto("/search?q=Xinjiang&colour=red&limit=3").await;
    listed(&b).await;
    b.wait_for_text("[data-ignored]", "colour, limit").await;
    b.assert_no_console_errors().await;
}

/// Words with no order chosen list the best matches first (the API's default, newest first,
/// buried them); without words the order is newest first. The filters' examples read as
/// examples ("e.g. USA"), not as values already filled in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_with_words_lists_the_best_matches_first() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    let ids = |query: &'static str| {
        let base = s.base.clone();
        async move {
            let page = reqwest::get(format!("{base}/v1/actions?limit=25&{query}"))
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].clone())
                .collect::<Vec<Value>>()
        }
    };
    let listed = "return [...document.querySelectorAll('[data-table=results] tbody tr')].map(r => r.dataset.id)";
    b.goto("/search?q=sanctions%20officials").await;
    b.wait_for_text("[data-table=results] caption", "found")
        .await;
    let best = ids("q=sanctions%20officials&sort=relevance").await;
    assert_ne!(
        best,
        ids("q=sanctions%20officials").await,
        "the seed tells the orders apart"
    );
    assert_eq!(b.eval(listed).await, json!(best));
    b.goto("/search?initiator=USA").await;
    b.wait_for_text("[data-table=results] caption", "found")
        .await;
    assert_eq!(b.eval(listed).await, json!(ids("initiator=USA").await));
    let placeholder = b
        .eval("return document.getElementById('f-initiator').placeholder")
        .await;
    assert_eq!(placeholder, json!("e.g. USA"));
    b.assert_no_console_errors().await;
}

/// A later page of results says which of them it shows (page tokens say nothing a person
/// can read: page 2 said only "30 actions found"), and a new search starts at the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_page_of_results_says_which_it_shows() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    for n in 1..=30 {
        post_action(&s, &write, json!({"title": format!("Paged measure {n}")})).await;
    }
    let b = Browser::desktop(&s.base).await;
    b.goto("/search?q=paged").await;
    b.wait_for_text(
        "[data-table=results] caption",
        "30 actions found · 1–25 shown",
    )
    .await;
    b.click("a[rel=next]").await;
    b.wait_for_text(
        "[data-table=results] caption",
        "30 actions found · 26–30 shown",
    )
    .await;
    let rows = b
        .eval("return document.querySelectorAll('[data-table=results] tbody tr').length")
        .await;
    assert_eq!(rows, json!(5));
    assert!(
        b.eval("return document.querySelector('[data-ignored]') === null")
            .await
            == json!(true)
    );
    b.goto("/search?initiator=CHN").await;
    b.wait_for_text("[data-table=results] caption", "found")
        .await;
    let caption = b.text("[data-table=results] caption").await;
    assert!(!caption.contains("shown"), "one page: {caption}");
    b.assert_no_console_errors().await;
}

/// A search the API refuses (best match without words) shows why next to the form, which
/// stays to be corrected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_search_keeps_its_form() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/search").await;
    loaded(&b, "#f-sort").await;
    b.click(".search-form summary").await;
    b.find("#f-sort")
        .await
        .select_by_value("relevance")
        .await
        .unwrap();
    b.click(".search-main button").await;
    loaded(&b, ".search-form + [role=alert]").await;
    assert!(b.current_url().await.ends_with("/search?sort=relevance"));
    let _ = b.console_errors().await; // the 400 itself is logged as a failed load
    let sort = b
        .eval("return document.getElementById('f-sort').value")
        .await;
    assert_eq!(sort, json!("relevance"));
    b.set_value("#f-q", "Xinjiang officials").await;
    b.click(".search-main button").await;
    b.wait_for_text("[data-table=results] caption", "actions found")
        .await;
    assert!(b.find_all("[role=alert]").await.is_empty());
    b.assert_no_console_errors().await;
    // A value a date or number field cannot hold stays in view, marked, to be mended: the
    // fields showed empty under the problem naming them.
    b.goto("/search?from=2020-13-01&severity_min=abc").await;
    loaded(&b, ".search-form + [role=alert]").await;
    let _ = b.console_errors().await;
    let shown = b
        .eval(
            "return ['f-from', 'f-severity_min'].map(id => { const e = document.getElementById(id);
               return [e.value, e.getAttribute('aria-invalid')]; })",
        )
        .await;
    assert_eq!(shown, json!([["2020-13-01", "true"], ["abc", "true"]]));
}

/// A 500-character title without spaces wraps (or, in the chain's boxes, is cut short with
/// an ellipsis): no page grows wider than the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_titles_do_not_widen_the_page() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    let title = "Sanktionen".repeat(50);
    let long = post_action(
        &s,
        &write,
        json!({ "title": title, "announced_on": "2020-12-01", "designations": [{ "actor": "chen-quanguo" }] }),
    )
    .await;
    let id = long["id"].as_str().unwrap();
    let paths = [
        "/".to_string(),
        format!("/actions/{id}"),
        format!("/actions/{id}/chain"),
        "/actors/chen-quanguo".to_string(),
        "/search".to_string(),
    ];
    for b in [
        Browser::desktop(&s.base).await,
        Browser::phone(&s.base).await,
    ] {
        for path in &paths {
            b.goto(path).await;
            loaded(&b, &format!("a[href=\"/actions/{id}\"], h1 + .lede")).await;
            assert_fits(&b).await;
        }
        b.assert_no_console_errors().await;
    }

    // The chain's node: its title inside its box, whole in its tooltip and name.
    let b = Browser::desktop(&s.base).await;
    b.goto(&format!("/actions/{id}/chain")).await;
    loaded(&b, ".chain-graph .node").await;
    let node = b
        .eval(
            "const n = document.querySelector('.chain-graph .node'), box = n.querySelector('rect').getBBox();
             return {
               inside: [...n.querySelectorAll('.node-title')].every(t => t.getBBox().x + t.getBBox().width <= box.x + box.width),
               last: [...n.querySelectorAll('.node-title')].pop().textContent.slice(-1),
               title: n.querySelector('title').textContent,
               label: n.getAttribute('aria-label'),
             }",
        )
        .await;
    assert_eq!(node["inside"], json!(true), "{node}");
    assert_eq!(node["last"], json!("…"), "{node}");
    assert!(node["title"].as_str().unwrap().contains(&title));
    assert!(node["label"].as_str().unwrap().contains(&title));
}

/// A window the timeline refuses (more than 10,000 days) leaves the dyad's summary and form
/// on the page, with the chart's problem in the chart's place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_timeline_leaves_the_rest_of_the_dyad() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/CHN/USA?interval=day&from=1900-01-01&to=2020-12-31")
        .await;
    loaded(&b, "[data-card]").await;
    b.wait_for_text("[role=alert]", "buckets").await;
    let _ = b.console_errors().await; // the 400 itself is logged as a failed load
    b.wait_for_text("[data-card=actions] dd[data-dir=a_to_b]", "2 · severity")
        .await;
    assert_eq!(
        b.eval("return document.getElementById('from').value").await,
        json!("1900-01-01")
    );
    assert_eq!(
        b.eval("return document.getElementById('interval').value")
            .await,
        json!("day")
    );
}

/// A window the API refuses as a whole (`from` after `to`) keeps the dyad's heading and its
/// form, filled as asked, with the problem under it: it replaced the whole page with "The
/// request is malformed", against what DASHBOARD.md says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backwards_window_keeps_the_dyad_form() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/CHN/USA?from=2021-01-01&to=2020-01-01").await;
    loaded(&b, "form.controls").await;
    b.wait_for_text("[role=alert]", "to").await;
    let _ = b.console_errors().await; // the 400 itself is logged as a failed load
    assert!(b.text("h1").await.contains("China"), "the heading stays");
    assert_eq!(
        b.eval(
            "return [document.getElementById('from').value, document.getElementById('to').value]"
        )
        .await,
        json!(["2021-01-01", "2020-01-01"])
    );
    // Corrected in place, the page comes back whole.
    set_date(&b, "#from", "2017-01-01").await;
    loaded(&b, "[data-card]").await;
    assert!(b.current_url().await.contains("from=2017-01-01"));
}

/// A chain opened for an action deep in its episode shows that action: the graph's box
/// opened at the first generation, the action 30 rows further down out of sight (and on a
/// phone, off to one side).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_opens_on_its_action() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    let mut last = post_action(&s, &write, json!({"title": "Generation 0"})).await;
    for g in 1..30 {
        let (initiator, target) = if g % 2 == 1 {
            ("CHN", "USA")
        } else {
            ("USA", "CHN")
        };
        last = post_action(
            &s,
            &write,
            json!({"title": format!("Generation {g}"), "initiator": initiator, "target": target,
                   "announced_on": format!("2021-01-{:02}", g),
                   "responds_to": [{"action": last["id"], "relation": "retaliates"}]}),
        )
        .await;
    }
    let id = last["id"].as_str().unwrap();
    for b in [
        Browser::desktop(&s.base).await,
        Browser::phone(&s.base).await,
    ] {
        b.goto(&format!("/actions/{id}/chain")).await;
        loaded(&b, ".node.current").await;
        let seen = b
            .eval(
                "const n = document.querySelector('.node.current').getBoundingClientRect();
                 const b = document.querySelector('.graph-scroll').getBoundingClientRect();
                 return n.top >= b.top && n.bottom <= b.bottom && n.left >= b.left - 1
                   && n.right <= b.right + 1",
            )
            .await;
        assert_eq!(
            seen,
            json!(true),
            "the current node is inside the graph's box"
        );
        b.assert_no_console_errors().await;
    }
}

/// Sends `key` (a `fantoccini::key::Key`) to the focused element.
async fn press(b: &Browser, key: fantoccini::key::Key) {
    b.client()
        .active_element()
        .await
        .unwrap()
        .send_keys(&char::from(key).to_string())
        .await
        .unwrap();
}

/// Sends `text` to the focused element, key by key.
async fn type_keys(b: &Browser, text: &str) {
    b.client()
        .active_element()
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// The id of the focused element.
async fn focused_id(b: &Browser) -> Value {
    b.eval("return document.activeElement?.id ?? null").await
}

/// Moving through the "Per" options from the keyboard is choosing, not going: the address,
/// the history and the focus stay until Enter (or Show) asks for the new interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dyad_interval_changes_only_when_asked() {
    use fantoccini::key::Key;
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/USA/CHN").await;
    loaded(&b, "[data-card]").await;
    let length = b.eval("return history.length").await;
    b.eval("document.getElementById('interval').focus()").await;
    press(&b, Key::Down).await;
    assert_eq!(
        b.eval("return document.getElementById('interval').value")
            .await,
        json!("quarter"),
        "the arrow key picks the next option"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(b.current_url().await.ends_with("/dyads/USA/CHN"));
    assert_eq!(b.eval("return history.length").await, length);
    assert_eq!(focused_id(&b).await, json!("interval"));
    press(&b, Key::Down).await;
    press(&b, Key::Enter).await;
    let address = eval_until(&b, "return location.pathname + location.search", |v| {
        v == "/dyads/USA/CHN?interval=year"
    })
    .await;
    assert_eq!(address, json!("/dyads/USA/CHN?interval=year"));
    wait_js(
        &b,
        "return document.querySelector('[data-table=timeline] caption')?.textContent",
        json!("Actions per year (buckets with none left out)"),
    )
    .await;
    b.assert_no_console_errors().await;
}

/// A day typed into the actor's picker, digit by digit, is read once it is whole and asked
/// for (Enter), not after its month: the page does not move under the reader's fingers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actor_day_changes_only_when_asked() {
    use fantoccini::key::Key;
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/actors/chen-quanguo?as_of=2020-08-01").await;
    loaded(&b, "[data-table=designations]").await;
    let length = b.eval("return history.length").await;
    b.eval("document.getElementById('as-of').focus()").await;
    type_keys(&b, "07").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        b.current_url().await.ends_with("?as_of=2020-08-01"),
        "{}",
        b.current_url().await
    );
    assert_eq!(b.eval("return history.length").await, length);
    assert_eq!(focused_id(&b).await, json!("as-of"));
    type_keys(&b, "092020").await;
    assert_eq!(
        b.eval("return document.getElementById('as-of').value")
            .await,
        json!("2020-07-09")
    );
    press(&b, Key::Enter).await;
    b.wait_for_text("#verdict", "On 9 Jul 2020: under 2 measures in force")
        .await;
    assert!(b.current_url().await.ends_with("?as_of=2020-07-09"));
    b.assert_no_console_errors().await;
}

/// What can take the focus is never hidden from screen readers: the chart of categories is
/// a list they read (each category's link and its count), not an image with links inside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_category_chart_is_read_not_hidden() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/").await;
    loaded(&b, "[data-dyad]").await;
    let hidden = b
        .eval(
            "const f = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex=\"-1\"])';
             return [...document.querySelectorAll('[aria-hidden=true]')]
               .filter(e => e.matches(f) || e.querySelector(f)).map(e => e.outerHTML.slice(0, 80))",
        )
        .await;
    assert_eq!(hidden, json!([]));
    let chart = b
        .eval(
            "const l = document.querySelector('ul.bars');
             return [l.getAttribute('aria-label'), [...l.querySelectorAll('li')].map(li => li.textContent.trim())]",
        )
        .await;
    assert_eq!(chart[0], json!("Actions by category"), "{chart}");
    assert!(
        chart[1]
            .as_array()
            .unwrap()
            .iter()
            .any(|li| li.as_str().unwrap().starts_with("Sanction")
                && li.as_str().unwrap().contains('7')),
        "{chart}"
    );
    b.assert_no_console_errors().await;
}

/// Every bar of the overview is as long as its number says, beside the longest: the number
/// written next to a bar used to squeeze the long ones (1,689, 1,270 and 1,028 drawn alike).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_bars_are_proportional() {
    let s = serve_seeded(&[]).await;
    for b in [
        Browser::desktop(&s.base).await,
        Browser::phone(&s.base).await,
    ] {
        b.goto("/").await;
        loaded(&b, "[data-dyad]").await;
        for list in ["table.stack", "ul.bars"] {
            let bars = b
                .eval(&format!(
                    "return [...document.querySelectorAll('{list} .hbar')].map(e => [
                       Number(e.querySelector('.n').textContent.replace(/,/g, '')),
                       e.querySelector('.track').getBoundingClientRect().width,
                       e.querySelector('.track > span')?.getBoundingClientRect().width ?? 0])"
                ))
                .await;
            let bars: Vec<(f64, f64, f64)> = serde_json::from_value(bars).unwrap();
            assert!(!bars.is_empty(), "{list}: no bars");
            let max = bars.iter().map(|b| b.0).fold(0.0, f64::max);
            let track = bars[0].1;
            for &(n, t, w) in &bars {
                assert!((t - track).abs() < 0.5, "{list}: tracks differ: {bars:?}");
                let want = if n == 0.0 {
                    0.0
                } else {
                    (track * n / max).max(2.0)
                };
                assert!(
                    (w - want).abs() < 1.0,
                    "{list}: {n} drawn {w} px, not {want}: {bars:?}"
                );
            }
        }
        b.assert_no_console_errors().await;
    }
}

/// A new action arriving redraws the latest actions; the link the reader is on keeps the
/// focus (it does not fall to the page's start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_update_keeps_the_focus() {
    let (s, write, b) = live_overview().await;
    let href = format!("/actions/{VOW_10_JULY}");
    b.eval(&format!(
        "document.querySelector('#latest .feed-title a[href=\"{href}\"]').focus()"
    ))
    .await;
    post_action(&s, &write, json!({ "title": "A live action" })).await;
    b.wait_for_text("#latest li", "A live action").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let focused = b
        .eval("return [document.activeElement.getAttribute('href'), !!document.activeElement.closest('#latest')]")
        .await;
    assert_eq!(focused, json!([href, true]));
    b.assert_no_console_errors().await;
}

/// The pixel columns of the dyad chart's bars near its base, bucket by bucket, for both
/// sides; and where the buckets' periods fall in the plot. Year buckets.
const BAR_COLUMNS: &str = "
  const box = document.querySelector('.plot'), u = box.plot;
  if (!u) return null;
  const c = box.querySelector('canvas'), img = c.getContext('2d').getImageData(0, 0, c.width, c.height);
  const starts = u.data[0];
  const next = (s) => { const d = new Date(s * 1000); d.setUTCFullYear(d.getUTCFullYear() + 1); return d.getTime() / 1000; };
  const pos = (v) => u.valToPos(v, 'x', true);
  const periods = starts.map((s) => [pos(s), pos(next(s))]);
  const { left, top, width, height } = u.bbox;
  const y = Math.round(top + height - 3);
  const cols = [starts.map(() => 0), starts.map(() => 0)];
  let outside = 0;
  for (let x = Math.ceil(left); x < left + width; x++) {
    const i = (y * c.width + x) * 4, [r, g, b] = [img.data[i], img.data[i + 1], img.data[i + 2]];
    const side = b - r > 80 ? 0 : r - b > 120 ? 1 : -1;
    if (side < 0) continue;
    const k = periods.findIndex(([a, z]) => x >= a && x < z);
    if (k < 0) outside++; else cols[side][k]++;
  }
  return { periods, cols, outside, plot: [left, left + width],
           counts: [u.data[1], u.data[2]] };";

/// Where buckets are too narrow for two bars side by side (days over four years), both sides
/// share the column and each shows up to its own count: the second drew over the first
/// from the base, so a taller second side hid the first (the chart looked one-sided).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrow_buckets_show_both_sides() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    post_action(&s, &write, json!({"announced_on": "2019-06-03"})).await;
    for _ in 0..2 {
        post_action(
            &s,
            &write,
            json!({"initiator": "CHN", "target": "USA", "announced_on": "2019-06-03"}),
        )
        .await;
    }
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/USA/CHN?interval=day&from=2017-01-01&to=2020-12-31")
        .await;
    loaded(&b, ".plot .u-over").await;
    let column = eval_until(
        &b,
        "const box = document.querySelector('.plot'), u = box.plot;
         if (!u) return null;
         const c = box.querySelector('canvas'), g = c.getContext('2d');
         const s = Date.UTC(2019, 5, 3) / 1000, k = u.data[0].indexOf(s);
         const a = u.valToPos(s, 'x', true), z = u.valToPos(s + 86400, 'x', true);
         const [from, to] = [Math.floor(a), Math.max(Math.floor(a) + 1, Math.floor(z))];
         const side = (y) => [...Array(to - from).keys()].map((i) => {
           const [r, , bl] = g.getImageData(from + i, y, 1, 1).data;
           return bl - r > 80 ? 'first' : r - bl > 120 ? 'second' : 'none'; });
         return { k, width: z - a, counts: [u.data[1][k], u.data[2][k]],
                  low: side(Math.round(u.valToPos(0, 'n', true)) - 2),
                  high: [1.2, 1.5, 1.8].flatMap((v) => side(Math.round(u.valToPos(v, 'n', true)))) };",
        |v| !v.is_null(),
    )
    .await;
    assert_eq!(column["counts"], json!([1, 2]), "{column}");
    assert!(column["width"].as_f64().unwrap() < 4.0, "{column}");
    let all = |key: &str, side: &str| column[key].as_array().unwrap().iter().all(|v| v == side);
    // Above the first side's count, the second's colour (the balance line may cross one).
    let high: Vec<&Value> = column["high"].as_array().unwrap().iter().collect();
    assert!(
        all("low", "first")
            && !high.contains(&&json!("first"))
            && high.iter().filter(|v| **v == "second").count() >= 2,
        "{column}"
    );
    b.assert_no_console_errors().await;
}

/// Each bucket's bars stand inside their own period (from its start to the next bucket's),
/// both sides' bars wide enough to see, the first and the last wholly on the chart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dyad_chart_draws_each_bucket_inside_its_period() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/USA/CHN?interval=year").await;
    loaded(&b, ".plot .u-over").await;
    let bars = eval_until(&b, BAR_COLUMNS, |v| !v.is_null()).await;
    assert!(!bars.is_null(), "the chart exposes its uPlot instance");
    let periods = bars["periods"].as_array().unwrap();
    let (left, right) = (
        bars["plot"][0].as_f64().unwrap(),
        bars["plot"][1].as_f64().unwrap(),
    );
    assert!(periods.len() >= 4, "2017 to this year: {bars}");
    let first = periods[0][0].as_f64().unwrap();
    let last = periods[periods.len() - 1][1].as_f64().unwrap();
    assert!(
        first >= left - 1.0 && last <= right + 1.0,
        "the periods run from {first} to {last}, the plot from {left} to {right}"
    );
    assert_eq!(bars["outside"], json!(0), "{bars}");
    for side in 0..2 {
        for (k, period) in periods.iter().enumerate() {
            let width = period[1].as_f64().unwrap() - period[0].as_f64().unwrap();
            let cols = bars["cols"][side][k].as_f64().unwrap();
            if bars["counts"][side][k].as_f64().unwrap() > 0.0 {
                assert!(
                    cols >= width * 0.2,
                    "side {side}, bucket {k}: a bar {cols} px wide in a {width} px period: {bars}"
                );
            } else {
                assert!(cols <= 2.0, "side {side}, bucket {k} has no action: {bars}");
            }
        }
    }
    b.assert_no_console_errors().await;
}

/// The running balance moves when its actions do: it counts a bucket's actions, so it is
/// drawn at the bucket's end, from 0 at the window's start. Drawn at the starts, it fell by
/// the 9 July sanctions at the start of 9 July, before that day's bar, and a yearly chart
/// ended a year early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dyad_balance_moves_at_the_end_of_the_period_that_moves_it() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/USA/CHN?interval=day&from=2020-07-01&to=2020-07-12")
        .await;
    loaded(&b, ".plot .u-over").await;
    let points = eval_until(
        &b,
        "const p = document.querySelector('.plot').plot?.balancePoints;
         return p ? p.map(([t, v]) => [new Date(t * 1000).toISOString().slice(0, 10), v]) : null",
        |v| !v.is_null(),
    )
    .await;
    let points: Vec<(String, f64)> = serde_json::from_value(points).unwrap();
    let timeline: Value = reqwest::get(format!(
        "{}/v1/dyads/USA/CHN/timeline?interval=day&from=2020-07-01&to=2020-07-12",
        s.base
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let buckets = timeline["buckets"].as_array().unwrap();
    assert_eq!(points.len(), buckets.len() + 1, "{points:?}");
    assert_eq!(points[0], ("2020-07-01".to_string(), 0.0));
    // After 9 July's bucket (the sanctions), at the start of 10 July.
    let ninth = buckets
        .iter()
        .position(|b| b["start"] == "2020-07-09")
        .unwrap();
    assert_eq!(points[ninth + 1].0, "2020-07-10");
    assert_eq!(
        points[ninth + 1].1,
        buckets[ninth]["balance"].as_f64().unwrap()
    );
    assert!(points[ninth + 1].1 < points[ninth].1, "{points:?}");
    assert_eq!(
        points.last().unwrap().0,
        "2020-07-13",
        "the window's last day ends"
    );
    // The window ends before today: what was in force then, not "now".
    let in_force = b.text("[data-card=in_force]").await;
    assert!(
        in_force.to_lowercase().contains("in force on 12 jul 2020"),
        "{in_force}"
    );
    b.assert_no_console_errors().await;
}

/// West of UTC the chart still names each bucket by its own period, as a date: July's bucket
/// read "2020-06-30 5:00pm" in Los Angeles under the cursor, and the axis gave clock times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dyad_chart_names_buckets_by_their_day_in_any_time_zone() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.cdp(
        "Emulation.setTimezoneOverride",
        json!({"timezoneId": "America/Los_Angeles"}),
    )
    .await;
    for (interval, first) in [
        ("month", "Jul 2020"),
        ("quarter", "Q3 2020"),
        ("week", "week of 29 Jun 2020"),
        ("day", "1 Jul 2020"),
    ] {
        b.goto(&format!(
            "/dyads/USA/CHN?interval={interval}&from=2020-07-01&to=2020-09-30"
        ))
        .await;
        loaded(&b, ".plot .u-over").await;
        let got = eval_until(
            &b,
            "const u = document.querySelector('.plot').plot; if (!u || !u.axes[0]._values) return null;
             u.setCursor({left: u.valToPos(u.data[0][0] + 3600, 'x'), top: 10});
             return {legend: document.querySelector('.u-legend .u-series .u-value').textContent,
                     ticks: u.axes[0]._values};",
            |v| !v.is_null(),
        )
        .await;
        assert_eq!(got["legend"], json!(first), "{interval}: {got}");
        let ticks: Vec<String> = serde_json::from_value(got["ticks"].clone()).unwrap();
        assert!(
            ticks
                .iter()
                .all(|t| !t.contains("am") && !t.contains("pm") && !t.contains('/')),
            "{interval}: ticks {ticks:?}"
        );
    }
    b.assert_no_console_errors().await;
}

/// The counts axis of the dyad chart has whole-number ticks (a short axis had 0.5 and 1.5
/// actions), and the balance axis writes negatives with a true minus, as the page does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dyad_chart_counts_in_whole_actions_and_writes_true_minus_signs() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/dyads/USA/CHN").await;
    loaded(&b, ".plot .u-over").await;
    let got = eval_until(
        &b,
        "const u = document.querySelector('.plot').plot; if (!u || !u.axes[1]._values) return null;
         return {counts: u.axes[1]._values, balance: u.axes[2]._values};",
        |v| !v.is_null(),
    )
    .await;
    let counts: Vec<String> = serde_json::from_value(got["counts"].clone()).unwrap();
    assert!(counts.len() >= 2, "{got}");
    assert!(
        counts.iter().all(|t| t.parse::<u64>().is_ok()),
        "count ticks {counts:?}"
    );
    let balance: Vec<String> = serde_json::from_value(got["balance"].clone()).unwrap();
    assert!(
        balance.iter().any(|t| t.starts_with('\u{2212}'))
            && !balance.iter().any(|t| t.starts_with('-')),
        "balance ticks {balance:?}"
    );
    assert!(b.text("[data-value=balance]").await.starts_with('\u{2212}'));
    b.assert_no_console_errors().await;
}

/// With no end asked, the dyad chart ends with its last bucket that has actions and says so:
/// the API's window runs to today, and the seeded dyad, quiet since 2021, was a sliver of
/// bars beside five years of flat line. An end asked is drawn up to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dyad_chart_ends_with_the_last_actions_unless_an_end_is_asked() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    let last_drawn = "const u = document.querySelector('.plot').plot; if (!u) return null;
         return new Date(u.data[0][u.data[0].length - 1] * 1000).toISOString().slice(0, 10);";
    b.goto("/dyads/USA/CHN?interval=month").await;
    loaded(&b, ".plot .u-over").await;
    let drawn = eval_until(&b, last_drawn, |v| !v.is_null()).await;
    let timeline = reqwest::get(format!(
        "{}/v1/dyads/USA/CHN/timeline?interval=month",
        s.base
    ))
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap();
    let busy: Vec<&str> = timeline["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["a_to_b"]["count"] != 0 || x["b_to_a"]["count"] != 0)
        .map(|x| x["start"].as_str().unwrap())
        .collect();
    let last_busy = *busy.last().unwrap();
    assert_eq!(drawn, json!(last_busy), "{timeline}");
    let hint = b.text("[data-value=quiet-since]").await;
    assert!(
        hint.starts_with("No actions after Jul 2020: the chart ends there"),
        "{hint}"
    );

    b.goto("/dyads/USA/CHN?interval=month&to=2025-12-31").await;
    loaded(&b, ".plot .u-over").await;
    let drawn = eval_until(&b, last_drawn, |v| !v.is_null()).await;
    assert_eq!(drawn, json!("2025-12-01"));
    let hints = texts(&b, "[data-value=quiet-since]").await;
    assert!(hints.is_empty(), "{hints:?}");
    b.assert_no_console_errors().await;
}

/// WCAG contrast of two CSS colours (JavaScript, defined in the page as `contrast`), and the
/// background an element is painted on.
const CONTRAST: &str = "
  const rgb = (css) => { const x = document.createElement('canvas').getContext('2d'); x.fillStyle = '#000'; x.fillStyle = css;
    const s = x.fillStyle; if (s.startsWith('#')) return [1, 3, 5].map(i => parseInt(s.slice(i, i + 2), 16));
    return s.match(/[\\d.]+/g).slice(0, 3).map(Number); };
  const lum = (c) => { const [r, g, b] = rgb(c).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (e) => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
    if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return '#fff'; };";

/// In the light and the dark theme, a threat's badge and a chain's node texts read (4.5:1),
/// and the dyad chart's balance line stands out from its panel (3:1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_themes_keep_their_contrast() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    for dark in [false, true] {
        b.prefer_dark(dark).await;
        b.goto(&format!("/actions/{VOW_10_JULY}")).await;
        loaded(&b, ".statuses").await;
        let badge = b
            .eval(&format!(
                "{CONTRAST} const e = document.querySelector('.badge.st-threatened');
                 return [getComputedStyle(e).color, background(e), contrast(getComputedStyle(e).color, background(e)),
                         matchMedia('(prefers-color-scheme: dark)').matches]"
            ))
            .await;
        assert_eq!(badge[3], json!(dark), "the emulated theme: {badge}");
        assert!(
            badge[2].as_f64().unwrap() >= 4.5,
            "dark {dark}: the threatened badge: {badge}"
        );
        b.goto("/dyads/USA/CHN").await;
        loaded(&b, ".plot .u-over").await;
        let line = eval_until(
            &b,
            &format!(
                "{CONTRAST} const box = document.querySelector('.plot'), u = box.plot;
                 if (!u) return null;
                 const stroke = u.series[3].stroke(u, 3);
                 return [stroke, background(box), contrast(stroke, background(box))]"
            ),
            |v| !v.is_null(),
        )
        .await;
        assert!(!line.is_null(), "the chart exposes its uPlot instance");
        assert!(
            line[2].as_f64().unwrap() >= 3.0,
            "dark {dark}: the balance line: {line}"
        );
        // A chain's node texts on their box shaded by severity (the date line of the
        // founding example's start node was 2.7:1).
        b.goto(&format!("/actions/{MAGNITSKY_9_JULY}/chain")).await;
        loaded(&b, ".chain-graph").await;
        let nodes = b
            .eval(&format!(
                "{CONTRAST}
                 const mix = (top, alpha, under) => {{ const [a, u] = [rgb(top), rgb(under)];
                   return `rgb(${{a.map((v, i) => Math.round(v * alpha + u[i] * (1 - alpha))).join(',')}})`; }};
                 return [...document.querySelectorAll('.chain-graph .node')].map(n => {{
                   const shade = n.querySelector('.node-shade');
                   const under = mix(shade.getAttribute('fill'), +shade.getAttribute('fill-opacity'),
                                     getComputedStyle(n.querySelector('.node-box')).fill);
                   return Math.min(...[...n.querySelectorAll('text')]
                     .map(t => contrast(getComputedStyle(t).fill, under)));
                 }})"
            ))
            .await;
        let lowest = nodes
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .fold(f64::INFINITY, f64::min);
        assert!(
            nodes.as_array().unwrap().len() >= 3 && lowest >= 4.5,
            "dark {dark}: chain node texts: {nodes}"
        );
    }
    b.assert_no_console_errors().await;
}

/// Back to a list returns to where the reader was in it, not to its top.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_a_list_keeps_its_scroll() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    for i in 0..20 {
        post_action(&s, &write, json!({ "title": format!("Filler action {i}") })).await;
    }
    let b = Browser::desktop(&s.base).await;
    b.goto("/search").await;
    assert_eq!(listed(&b).await.len(), 25);
    let y = b
        .eval(
            "window.scrollTo(0, document.documentElement.scrollHeight); return Math.round(scrollY)",
        )
        .await;
    assert!(y.as_i64().unwrap() > 200, "the list scrolls: {y}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.eval(
        "document.querySelectorAll('[data-table=results] tbody tr')[22].querySelector('a').click()",
    )
    .await;
    loaded(&b, ".statuses").await;
    b.client().back().await.unwrap();
    listed(&b).await;
    let back = eval_until(&b, "return Math.round(scrollY)", |v| v == &y).await;
    assert_eq!(back, y, "scrolled back to");
    // Forward and back again: the same.
    b.client().forward().await.unwrap();
    loaded(&b, ".statuses").await;
    b.client().back().await.unwrap();
    listed(&b).await;
    let back = eval_until(&b, "return Math.round(scrollY)", |v| v == &y).await;
    assert_eq!(back, y, "scrolled back to, twice");
    b.assert_no_console_errors().await;
}

/// At phone width the tables are read without sideways scrolling or titles broken inside
/// their words, and each form label stays on the line of its field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_width_keeps_tables_and_forms_readable() {
    let s = serve_seeded(&[]).await;
    let phone = Browser::phone(&s.base).await;
    for path in [
        "/search?q=Xinjiang",
        "/",
        "/dyads/USA/CHN",
        "/actors/chen-quanguo?as_of=2020-08-01",
    ] {
        phone.goto(path).await;
        loaded(&phone, "h1").await;
        phone.find("table, .plot").await;
        let wide = phone
            .eval(
                "return [...document.querySelectorAll('.scroll')].filter(s => s.offsetParent && s.scrollWidth > s.clientWidth + 1)
                   .map(s => [s.querySelector('caption')?.textContent, s.scrollWidth, s.clientWidth])",
            )
            .await;
        assert_eq!(wide, json!([]), "{path}: tables wider than the page");
        let broken = phone
            .eval(
                "const out = [];
                 for (const a of document.querySelectorAll('#view table a, #view .feed-title a')) {
                   const t = a.firstChild; if (!t || t.nodeType !== 3) continue;
                   for (const m of t.data.matchAll(/\\S+/g)) {
                     const r = document.createRange(); r.setStart(t, m.index); r.setEnd(t, m.index + m[0].length);
                     const lines = new Set([...r.getClientRects()].map(q => Math.round(q.top)));
                     if (lines.size > 1) out.push(m[0]);
                   }
                 }
                 return out",
            )
            .await;
        assert_eq!(broken, json!([]), "{path}: words broken across lines");
        let split = phone
            .eval(
                "return [...document.querySelectorAll('#view form label')].filter(l => l.control && l.offsetParent).filter(l => {
                   const a = l.getBoundingClientRect(), b = l.control.getBoundingClientRect();
                   return a.bottom <= b.top || b.bottom <= a.top; }).map(l => l.textContent)",
            )
            .await;
        // The search form puts its labels above their fields, on purpose.
        if !path.starts_with("/search") {
            assert_eq!(split, json!([]), "{path}: labels apart from their fields");
        }
        assert_fits(&phone).await;
    }
    phone.assert_no_console_errors().await;
}

/// An address that names no page, asked for by a browser, is the dashboard saying so (a
/// 404 with a heading), not the API's problem as raw JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_address_is_a_page_that_says_so() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    for path in [
        "/nope",
        "/search/",
        "/actors/USA/",
        "/dyads/USA/CHN/",
        "/index.html",
    ] {
        b.goto(path).await;
        loaded(&b, "h1").await;
        b.wait_for_text("h1", "No such page").await;
        assert_eq!(
            b.eval("return document.title").await,
            json!("Not found · riposte"),
            "{path}"
        );
        let _ = b.console_errors().await; // the 404 itself is logged as a failed load
    }
    // The API's own clients still get problems.
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/nope", s.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
}
/// An error is a page with a heading and a title saying what went wrong; a dyad without
/// actions says so instead of drawing an empty chart; a refused search says why once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_empty_pages_say_what_they_are() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/actors", s.base))
        .bearer_auth(&write)
        .json(&json!({ "code": "FRA", "name": "France", "kind": "state" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let b = Browser::desktop(&s.base).await;
    for path in [
        "/actors/NOPE",
        "/actions/00000000-0000-4000-8000-000000000000",
    ] {
        b.goto(path).await;
        loaded(&b, "[role=alert]").await;
        b.wait_for_text("h1", "Not found").await;
        assert_eq!(
            b.eval("return document.title").await,
            json!("Not found · riposte"),
            "{path}"
        );
        let _ = b.console_errors().await; // the 404 itself is logged as a failed load
    }
    b.goto("/dyads/USA/FRA").await;
    loaded(&b, "[data-empty]").await;
    b.wait_for_text(
        "[data-empty]",
        "No actions between United States and France yet",
    )
    .await;
    assert!(b.find_all(".plot").await.is_empty());
    assert!(
        b.find_all("[data-card]").await.is_empty(),
        "no cards of zeros"
    );
    b.goto("/dyads/USA/CHN?from=2010-01-01&to=2010-12-31").await;
    loaded(&b, "[data-empty]").await;
    b.wait_for_text("[data-empty]", "No actions between United States and China")
        .await;
    assert!(
        b.find_all("[data-card]").await.is_empty(),
        "no cards of zeros"
    );
    b.assert_no_console_errors().await;
    b.goto("/search?sort=relevance").await;
    loaded(&b, ".search-form + [role=alert]").await;
    let _ = b.console_errors().await; // the 400 itself is logged as a failed load
    let alert = b.text(".search-form + [role=alert]").await;
    assert_eq!(
        alert.matches("orders by full-text rank").count(),
        1,
        "{alert}"
    );
}
/// A chain node's accessible name starts with what it shows (its title, then who and when),
/// and pending threats are named by what they are, not "#1".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_named_by_what_they_show() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto(&format!("/actions/{MAGNITSKY_9_JULY}/chain")).await;
    loaded(&b, ".chain-graph .node").await;
    let wrong = b
        .eval(
            "return [...document.querySelectorAll('.chain-graph .node')].map(n => {
               const label = n.getAttribute('aria-label').replace(/[\\u2068\\u2069]/g, '');
               const title = [...n.querySelectorAll('.node-title')].map(t => t.textContent.replace(/…$/, ''));
               const shown = title.join(' ') + ' ' + n.querySelector('.node-meta').textContent;
               return [label, shown, label.startsWith(title[0]) && label.includes(n.querySelector('.node-meta').textContent)];
             }).filter(x => !x[2])",
        )
        .await;
    assert_eq!(wrong, json!([]));
    b.goto("/dyads/CHN/USA").await;
    loaded(&b, "[data-card=pending] a").await;
    let names = b
        .eval("return [...document.querySelectorAll('[data-card=pending] a')].map(a => a.textContent)")
        .await;
    assert_eq!(
        names,
        json!([
            "China vows reciprocal action against US institutions and individuals over Xinjiang sanctions (10 Jul 2020)"
        ])
    );
    b.assert_no_console_errors().await;
}

/// /docs is a page people use, not only a file we serve: Swagger UI renders every operation
/// of the document, loads nothing from elsewhere, and "Try it out" on a documented example
/// reaches the API and shows its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_docs_render_and_try_an_example() {
    // Not 127.0.0.1 or localhost, where Swagger UI keeps to itself whatever it is told: a
    // server as users reach it (its validator badge asked swagger.io about the document).
    let dir = tempfile::Builder::new()
        .prefix("riposte-docs")
        .tempdir_in("/tmp")
        .unwrap();
    let base = format!("http://127.0.0.2:{}", free_port());
    let mut server = serve_on(
        &dir.path().join("data"),
        base.trim_start_matches("http://"),
        &["--seed", "xinjiang-2020"],
    );
    wait_ready(&reqwest::Client::new(), &base, &mut server).await;
    let b = Browser::desktop(&base).await;
    b.goto("/docs/").await;
    b.wait_for(".opblock", Duration::from_secs(20)).await;
    let doc: Value = reqwest::get(format!("{base}/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Operations of the paths and of the webhooks (OpenAPI 3.1), each drawn as one block.
    let operations: usize = ["paths", "webhooks"]
        .iter()
        .flat_map(|part| doc[part].as_object().unwrap().values())
        .map(|item| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .count()
        })
        .sum();
    let shown = eval_until(
        &b,
        "return document.querySelectorAll('.opblock').length",
        |v| v.as_u64() == Some(operations as u64),
    )
    .await;
    assert_eq!(shown, json!(operations), "operations drawn");

    // Open GET /v1/actors/{code}, try it with its documented example, run it.
    b.click("#operations-actors-getActor .opblock-summary-control")
        .await;
    b.click("#operations-actors-getActor .try-out__btn").await;
    b.set_value(
        "#operations-actors-getActor input[placeholder='actor']",
        "CHN",
    )
    .await;
    b.click("#operations-actors-getActor .execute").await;
    let code = b
        .wait_for_text(
            "#operations-actors-getActor .live-responses-table tbody .response-col_status",
            "200",
        )
        .await;
    assert!(code.contains("200"), "{code}");
    let body = b
        .text("#operations-actors-getActor .live-responses-table .microlight")
        .await;
    assert!(body.contains("\"code\": \"CHN\""), "{body}");
    b.assert_no_console_errors().await;
    // Everything the page loaded came from riposte itself.
    let foreign = b
        .eval(
            "return performance.getEntriesByType('resource').map(e => e.name)
               .filter(u => !u.startsWith(location.origin))",
        )
        .await;
    assert_eq!(foreign, json!([]));
    // Under the dashboard's policy: a script injected into the page would not run.
    let page = reqwest::get(format!("{base}/docs/")).await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self';"), "{policy}");
}

/// An action known only to the month or the year is listed as that month or year, never as
/// the first day of it (the dates lists showed, "1 Jan 2020", were days no source gave).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_known_to_the_month_or_year_are_shown_so() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    let month = post_action(
        &s,
        &write,
        json!({"title": "Dated to a month", "announced_on": "2019-05"}),
    )
    .await;
    post_action(
        &s,
        &write,
        json!({"title": "Dated to a year", "announced_on": "2018"}),
    )
    .await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/search?q=dated").await;
    loaded(&b, "[data-table=results]").await;
    let rows = texts(&b, "[data-table=results] tbody tr").await;
    let row = |title: &str| {
        rows.iter()
            .find(|r| r.contains(title))
            .cloned()
            .unwrap_or_default()
    };
    assert!(row("Dated to a month").contains("May 2019"), "{rows:?}");
    assert!(!row("Dated to a month").contains("1 May 2019"), "{rows:?}");
    assert!(row("Dated to a year").contains("2018"), "{rows:?}");
    // Types named as the Type filter names them.
    assert!(
        row("Dated to a month").contains("Visa restriction / entry ban"),
        "{rows:?}"
    );
    assert!(!row("Dated to a year").contains("Jan 2018"), "{rows:?}");
    b.goto(&format!("/actions/{}", month["id"].as_str().unwrap()))
        .await;
    loaded(&b, "dl.facts").await;
    let facts = b.text("dl.facts").await;
    assert!(
        facts.contains("May 2019") && !facts.contains("1 May 2019"),
        "{facts}"
    );
    assert!(facts.contains("Visa restriction / entry ban"), "{facts}");
    // The overview's feed names types so too.
    b.goto("/").await;
    loaded(&b, "#latest li").await;
    b.wait_for_text("#latest", "Visa restriction / entry ban")
        .await;
    b.goto(&format!("/actions/{}", month["id"].as_str().unwrap()))
        .await;
    loaded(&b, "dl.facts").await;
    // It answers nothing and nothing answers it: no chain of one to open.
    assert!(b.find_all("a.button[href$=\"/chain\"]").await.is_empty());
    b.assert_no_console_errors().await;
}

/// A search that includes deleted actions marks them, and opens one as the API shows it
/// (with show_deleted): it led to "Not found".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_action_found_by_search_opens_as_deleted() {
    let s = serve_seeded(&[]).await;
    let write = key(&s.dir.path().join("data"), "write");
    let resp = reqwest::Client::new()
        .delete(format!("{}/v1/actions/{DEMAND_10_JULY}", s.base))
        .bearer_auth(&write)
        .header("if-match", "*")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let b = Browser::desktop(&s.base).await;
    b.goto("/search?show_deleted=true").await;
    loaded(&b, "[data-table=results]").await;
    let row = format!("[data-table=results] tr[data-id=\"{DEMAND_10_JULY}\"]");
    b.wait_for_text(&row, "deleted").await;
    let live = b
        .text(&format!(
            "[data-table=results] tr[data-id=\"{VOW_10_JULY}\"]"
        ))
        .await;
    assert!(!live.contains("deleted"), "{live}");
    b.click(&format!("{row} a[href^=\"/actions/\"]")).await;
    loaded(&b, "h1").await;
    b.wait_for_text("h1", "China urges the US to withdraw")
        .await;
    b.wait_for_text("[data-deleted]", "Deleted on").await;
    assert!(b.find_all("a.button[href$=\"/chain\"]").await.is_empty());
    b.assert_no_console_errors().await;
}

/// "Skip to content" moves the focus to the view and nothing else: it reloaded the view (a
/// typed search gone) and added a history entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipping_to_the_content_keeps_the_page() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/search").await;
    loaded(&b, "form").await;
    b.type_into("#f-q", "visa").await;
    let before = b.eval("return history.length").await;
    b.eval("document.querySelector('a.skip').focus()").await;
    press(&b, fantoccini::key::Key::Enter).await;
    wait_js(&b, "return document.activeElement.id", json!("view")).await;
    assert_eq!(b.eval("return history.length").await, before);
    assert_eq!(
        b.eval("return document.getElementById('f-q').value").await,
        json!("visa")
    );
    assert_eq!(
        b.eval("return location.pathname + location.hash").await,
        json!("/search")
    );
    // The view, focused for screen readers, draws no ring round the whole page.
    assert_eq!(
        b.eval("return getComputedStyle(document.getElementById('view')).outlineStyle")
            .await,
        json!("none")
    );
    b.assert_no_console_errors().await;
}

/// A window or day the API refuses is said under the form that can mend it: the overview
/// and an actor's page became the error alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_window_or_day_keeps_its_form() {
    let s = serve_seeded(&[]).await;
    let b = Browser::desktop(&s.base).await;
    b.goto("/?from=2020-07-10&to=2020-07-01").await;
    loaded(&b, ".problem").await;
    b.wait_for_text(".problem", "after").await;
    assert_eq!(
        b.eval("return document.getElementById('from').value").await,
        json!("2020-07-10")
    );
    b.goto("/actors/chen-quanguo?as_of=2020-02-30").await;
    loaded(&b, ".problem").await;
    assert!(!b.find_all("#as-of").await.is_empty());
    b.wait_for_text("h1", "Chen Quanguo").await;
    let _ = b.console_errors().await; // the refused reads are logged as failed loads
}

/// On a phone the chain opens scrolled to its action, and each generation's label stays in
/// view at the box's left edge (they were left at the graph's, scrolled out of view).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_keeps_the_chain_generations_in_view() {
    let s = serve_seeded(&[]).await;
    let b = Browser::phone(&s.base).await;
    b.goto(&format!("/actions/{VISAS_9_JULY}/chain")).await;
    loaded(&b, ".chain-graph").await;
    let seen = eval_until(
        &b,
        "const box = document.querySelector('.graph-scroll'), b = box.getBoundingClientRect();
         if (box.scrollLeft === 0) return null;
         return [...box.querySelectorAll('.gen-label')].map(l => {
           const r = l.getBoundingClientRect(); return r.left >= b.left && r.right <= b.right; })",
        |v| !v.is_null(),
    )
    .await;
    assert!(!seen.is_null(), "the chain did not scroll to its action");
    assert_eq!(seen, json!([true, true]));
    b.assert_no_console_errors().await;
}
