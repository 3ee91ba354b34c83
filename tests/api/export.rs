//! Bulk export: the filters of the list, one snapshot, NDJSON and CSV, gzip when asked.

use std::io::Read;

use reqwest::Method;
use serde_json::{json, Value};

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::helpers::{id_of, TestApp};

async fn raw(app: &TestApp, path: &str, gzip: bool) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = app.client.get(format!("{}{path}", app.base));
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn ndjson_export_is_the_documents_of_the_list_with_the_same_filters() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for (i, initiator) in ["USA", "USA", "GBR"].iter().enumerate() {
        app.action(
            json!({"title": format!("Measure {i}"), "initiator": initiator,
            "announced_on": format!("2020-0{}-01", i + 1)}),
        )
        .await;
    }
    let (status, headers, body) = raw(&app, "/v1/actions/export?initiator=USA", false).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let listed = app.get("/v1/actions?initiator=USA").await;
    assert_eq!(&lines, listed.body["items"].as_array().unwrap());
    assert_eq!(lines.len(), 2);

    // gzip when asked, the same bytes inside.
    let (_, headers, zipped) = raw(&app, "/v1/actions/export?initiator=USA", true).await;
    assert_eq!(headers["content-encoding"], "gzip");
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain.lines().count(), 2);

    // What does not apply to an export, and bad formats, are 400s.
    for (query, field) in [
        ("format=xml", "format"),
        ("limit=5", "limit"),
        ("page_token=x", "page_token"),
        ("include_total=true", "include_total"),
        ("initiator=XXX", "initiator"),
        ("bogus=1", "bogus"),
    ] {
        app.request(
            Method::GET,
            &format!("/v1/actions/export?{query}"),
            None,
            &[],
        )
        .await
        .assert_problem(400, Some(field));
    }
}

/// A copy made from an export is kept up to date from the feed after the export's
/// `Riposte-Feed-Cursor`: the changes made after the export are there, those it holds are
/// not (nothing said where an export stood in the feed).
#[tokio::test]
async fn an_export_says_where_the_feed_goes_on_from() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let before = app.action(json!({"title": "In the export"})).await;
    let (status, headers, body) = raw(&app, "/v1/actions/export", false).await;
    assert_eq!(status, 200);
    let cursor = headers["riposte-feed-cursor"].to_str().unwrap().to_string();
    assert!(String::from_utf8(body)
        .unwrap()
        .contains(id_of(&before).as_str()));
    let after = app.action(json!({"title": "After the export"})).await;

    let feed = app.get(&format!("/v1/changes?after={cursor}")).await;
    feed.assert_status(200);
    let ids: Vec<&str> = feed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id_of(&after).as_str()], "{}", feed.body);
    assert_eq!(feed.body["caught_up"], true);
}

#[tokio::test]
async fn csv_export_is_flat_with_documented_columns() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let first = app
        .action(
            json!({"title": "Tariffs, \"reciprocal\"", "tags": ["a", "b"],
            "designations": [{"actor": "chen-quanguo"}, {"actor": "xinjiang-psb"}],
            "sources": [{"url": "https://example.org/1"}, {"url": "https://example.org/2"}]}),
        )
        .await;
    app.action(
        json!({"announced_on": "2020-08-01", "initiator": "CHN", "target": "USA",
        "responds_to": [{"action": id_of(&first), "relation": "retaliates"}]}),
    )
    .await;
    let (status, headers, body) = raw(
        &app,
        "/v1/actions/export?format=csv&sort=announced_on",
        false,
    )
    .await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(&body[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, riposte::export::CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let col = |row: &csv::StringRecord, name: &str| {
        row[header.iter().position(|h| h == name).unwrap()].to_string()
    };
    assert_eq!(col(&rows[0], "title"), "Tariffs, \"reciprocal\"");
    assert_eq!(col(&rows[0], "tags"), "a;b");
    // In the document's order (by actor id).
    let mut designations: Vec<String> = col(&rows[0], "designations")
        .split(';')
        .map(String::from)
        .collect();
    designations.sort();
    assert_eq!(designations, ["chen-quanguo", "xinjiang-psb"]);
    assert_eq!(
        col(&rows[0], "sources"),
        "https://example.org/1 https://example.org/2"
    );
    assert_eq!(col(&rows[0], "announced_on"), "2020-07-09");
    assert_eq!(
        col(&rows[1], "responds_to"),
        format!("{}:retaliates", id_of(&first))
    );
    assert_eq!(col(&rows[1], "initiator"), "CHN");
    // Times as the documents write them.
    assert_eq!(
        col(&rows[0], "created_at"),
        first["created_at"].as_str().unwrap()
    );
    assert_eq!(
        col(&rows[0], "updated_at"),
        first["updated_at"].as_str().unwrap()
    );
}

/// Text a spreadsheet would run as a formula is exported as text (a leading `'`); numbers
/// stay numbers, and NDJSON keeps the text as written.
#[tokio::test]
async fn csv_export_does_not_hand_spreadsheets_formulas() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let title = "=HYPERLINK(\"https://evil.example/\",\"open\")";
    app.action(
        json!({"title": title, "tags": ["-cmd", "b"], "summary": "@SUM(A1)",
        "program": "-2+3", "legal_basis": "\tx", "severity": -8}),
    )
    .await;
    let (status, _, body) = raw(&app, "/v1/actions/export?format=csv", false).await;
    assert_eq!(status, 200);
    let mut reader = csv::Reader::from_reader(&body[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let row = reader.records().next().unwrap().unwrap();
    let col = |name: &str| row[header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(col("title"), format!("'{title}"));
    assert_eq!(col("tags"), "'-cmd;b");
    assert_eq!(col("summary"), "'@SUM(A1)");
    assert_eq!(col("program"), "'-2+3");
    assert_eq!(col("legal_basis"), "'\tx");
    assert_eq!(col("severity"), "-8");
    let (_, _, body) = raw(&app, "/v1/actions/export", false).await;
    let doc: Value = serde_json::from_slice(body.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(doc["title"], title);
}

/// A NUL in any text parameter is a 400 naming it, from the list and from the export alike:
/// the export must refuse before its 200, not cut the download after it.
#[tokio::test]
async fn a_nul_in_any_filter_is_a_400_naming_it_before_the_export_starts() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let params = [
        ("initiator", "U%00SA"),
        ("target", "%00"),
        ("designated", "a%00"),
        ("dyad", "USA,C%00HN"),
        ("type", "visa%00_ban"),
        ("category", "%00"),
        ("status", "in%00_force"),
        ("tag", "x%00"),
        ("tag", "%00"),
        ("q", "a%00b"),
        ("q", "%00"),
        ("updated_since", "2020%00"),
    ];
    for path in [
        "/v1/actions",
        "/v1/actions/export",
        "/v1/actions/export?format=csv",
    ] {
        for (param, value) in params {
            let sep = if path.contains('?') { '&' } else { '?' };
            app.get(&format!("{path}{sep}{param}={value}"))
                .await
                .assert_problem(400, Some(param));
        }
    }
}

/// An export reads one snapshot: actions written while it streams are not in it, and none is
/// repeated or lost across its batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_reads_one_snapshot_while_writes_go_on() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.with_basics().await;
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let app = app.clone();
            tokio::spawn(async move {
                for i in 0..300 {
                    let day = 1 + (i % 28);
                    app.action(json!({"title": format!("t{t} a{i}"),
                        "announced_on": format!("2021-03-{day:02}")}))
                        .await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Batch by batch as the handler streams it, with writes between the batches (over HTTP
    // the socket's buffers could take the whole file before the writes).
    let conn = app.state.pool.get().await.unwrap();
    let mut export = riposte::export::Export::begin(
        conn,
        riposte::export::Request {
            filter: Default::default(),
            sort: riposte::models::enums::ActionSort::NewestFirst,
            format: riposte::export::Format::Ndjson,
            include_actors: false,
            include_history: false,
        },
        riposte::state::duration(riposte::export::DEFAULT_IDLE_TIMEOUT),
    )
    .await
    .unwrap();
    let mut body = export.next().await.unwrap().unwrap();
    // Written after the export began, dated so that they would sort into its last batches.
    let mut late = Vec::new();
    for i in 0..20 {
        late.push(id_of(
            &app.action(json!({"title": format!("late {i}"), "announced_on": "2000-01-01"}))
                .await,
        ));
    }
    // And the initiator of every action renamed: the snapshot keeps the old name.
    app.patch("/v1/actors/USA", &json!({"name": "Renamed States"}))
        .await
        .assert_status(200);
    while let Some(chunk) = export.next().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    let lines: Vec<Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .all(|a| a["initiator"]["name"] == "United States"),
        "an actor's name changed within one export"
    );
    let ids: Vec<String> = lines
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 1200, "every action of the snapshot once");
    assert_eq!(unique.len(), 1200);
    assert!(late.iter().all(|id| !unique.contains(id)));
    // Over HTTP the whole export is there too.
    let (_, _, all) = raw(&app, "/v1/actions/export", false).await;
    assert_eq!(String::from_utf8(all).unwrap().lines().count(), 1220);
}

/// A test app whose database holds `actions` generated actions (about 1.4 KB each as NDJSON).
async fn app_with_actions(config: riposte::state::Config, actions: u64) -> TestApp {
    let app = TestApp::spawn_with(config).await;
    riposte::generate::run(&app.db_url, riposte::generate::Options { actions, seed: 1 })
        .await
        .expect("generate");
    app
}

/// Sends `GET path` on a socket of its own, and reads nothing; `small` gives the socket a
/// small receive buffer (for a client that will never read: with one, a client reading
/// small pieces would wait on TCP's zero-window probes).
async fn open_unread(app: &TestApp, path: &str, small: bool) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if small {
        socket.set_recv_buffer_size(4096).unwrap();
    }
    let addr = app.base.trim_start_matches("http://").parse().unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    stream
}

/// Reads a response of `open_unread` to its end, `step` bytes at a time with `pause` between
/// reads: its status, its body (de-chunked) and whether the body ended as a complete chunked
/// body does (else the server cut it short).
async fn read_paced(
    stream: &mut tokio::net::TcpStream,
    step: usize,
    pause: Duration,
) -> (u16, Vec<u8>, bool) {
    let mut raw = Vec::new();
    let mut buf = vec![0; step];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let mut rest = &raw[head_end..];
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return (status, body, false);
        };
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap(), 16).unwrap();
        rest = &rest[eol + 2..];
        if size == 0 {
            return (status, body, rest.starts_with(b"\r\n"));
        }
        if rest.len() < size + 2 {
            return (status, body, false);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Waits until `cond` holds, for up to 10 s.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Exports that their clients do not read hold their slots, never the whole pool: one more
/// export is refused at once with 503 and `Retry-After`, while the rest of the API answers;
/// once they are closed, exports work again.
#[tokio::test]
async fn exports_beyond_their_slots_get_503_and_the_api_keeps_answering() {
    let app = app_with_actions(
        riposte::state::Config {
            rate_limits: Default::default(),
            ..Default::default()
        },
        4000,
    )
    .await;
    // The test app's pool has 8 connections: a quarter of them.
    let slots = riposte::export::default_slots(8);
    assert_eq!(slots, 2);
    let mut held = Vec::new();
    for _ in 0..slots {
        held.push(open_unread(&app, "/v1/actions/export", true).await);
    }
    eventually("the held exports took every slot", || {
        app.state.exports.available_permits() == 0
    })
    .await;
    // The files are larger than what the sockets buffer: the held exports stay stuck.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.state.exports.available_permits(), 0);

    let started = Instant::now();
    let busy = app.get("/v1/actions/export");
    let busy = busy.await;
    busy.assert_problem(503, None);
    assert_eq!(busy.header("retry-after"), Some("5"));
    assert!(
        busy.body["detail"].as_str().unwrap().contains("export"),
        "{}",
        busy.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );

    // The rest of the API has its connections.
    for path in ["/v1/actions?limit=1", "/readyz"] {
        let started = Instant::now();
        app.get(path).await.assert_status(200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    app.action(serde_json::json!({"initiator": "USA", "target": "CHN"}))
        .await;

    // Closed, they give their slots back, and an export runs to its end.
    drop(held);
    eventually("the closed exports gave their slots back", || {
        app.state.exports.available_permits() == slots
    })
    .await;
    let (status, _, body) = raw(&app, "/v1/actions/export", false).await;
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 4001);
}

/// The idle bound counts the time since the client last accepted bytes, not the length of
/// the download: a client that keeps reading gets the whole file, however long it takes, and
/// one that stops reading is cut off and gives its slot back. (Over loopback the kernel's
/// send buffer grows to megabytes and the socket only takes more once a third of it is
/// drained, so the reader here is not very slow: it still takes several idle bounds.)
#[tokio::test]
async fn a_slow_reader_gets_the_whole_export_and_a_stalled_one_is_cut_off() {
    let idle = Duration::from_secs(1);
    let app = app_with_actions(
        riposte::state::Config {
            rate_limits: Default::default(),
            export_idle: idle,
            ..Default::default()
        },
        4000,
    )
    .await;
    let slots = app.state.exports.available_permits();

    // About 5.6 MB, 16 KB every 6 ms or so.
    let started = Instant::now();
    let mut slow = open_unread(&app, "/v1/actions/export", false).await;
    let (status, body, complete) = read_paced(&mut slow, 16 * 1024, Duration::from_millis(6)).await;
    assert_eq!(status, 200);
    assert!(complete, "the export was cut short");
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 4000);
    assert!(started.elapsed() > idle, "{:?}", started.elapsed());

    // A client that stops reading is cut off after the idle bound, and its slot is free.
    let mut stalled = open_unread(&app, "/v1/actions/export", true).await;
    eventually("the export started", || {
        app.state.exports.available_permits() < slots
    })
    .await;
    eventually("the stalled export gave its slot back", || {
        app.state.exports.available_permits() == slots
    })
    .await;
    let (status, body, complete) = read_paced(&mut stalled, 64 * 1024, Duration::ZERO).await;
    assert_eq!(status, 200);
    assert!(!complete, "a stalled export ends short");
    assert!(String::from_utf8_lossy(&body).lines().count() < 4000);
}
