//! The browser tests: headless Chromium (through chromedriver) against a real
//! `riposte serve`. Needs `apt-get install -y chromium chromium-driver`; without them these
//! tests fail, saying so. For now they test the harness itself (tests/support/browser.rs).

#[path = "support/process.rs"]
mod process;
use process::{free_port, serve_with, wait_ready, Server};

#[path = "support/browser.rs"]
mod browser;
use browser::{find_tool, Browser, Viewport};

/// A `data:` URL holding `html`.
fn data_url(html: &str) -> String {
    let mut url = String::from("data:text/html;charset=utf-8,");
    for byte in html.bytes() {
        if byte.is_ascii_alphanumeric() || b" <>/=-_.:;'\"()!?".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// `riposte serve --seed xinjiang-2020` on a fresh data directory, ready.
struct Seeded {
    /// Killed when dropped, before `dir` (fields drop in order) is removed.
    _server: Server,
    _dir: tempfile::TempDir,
    base: String,
}

async fn serve_seeded() -> Seeded {
    let dir = tempfile::Builder::new()
        .prefix("riposte-browser")
        .tempdir_in("/tmp")
        .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve_with(&dir.path().join("data"), port, &["--seed", "xinjiang-2020"]);
    wait_ready(&reqwest::Client::new(), &base, &mut server).await;
    Seeded {
        _server: server,
        _dir: dir,
        base,
    }
}

#[test]
fn a_missing_browser_fails_saying_what_to_install() {
    let err = find_tool(
        "chromedriver",
        "RIPOSTE_TEST_NO_SUCH_VARIABLE",
        &["riposte-no-such-chromedriver", "/nonexistent/chromedriver"],
    )
    .unwrap_err();
    assert!(
        err.contains("apt-get install -y chromium chromium-driver"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_errors_and_uncaught_exceptions_are_caught() {
    let b = Browser::desktop("").await;
    b.goto(&data_url(
        "<p id=ok>fine</p><script>console.error('x'); throw new Error('boom')</script>",
    ))
    .await;
    assert_eq!(b.text("#ok").await, "fine");
    let errors = b.console_errors().await;
    let messages: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.source == "console-api" && e.message.contains("\"x\"")),
        "console.error('x') missing from {messages:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.source == "javascript" && e.message.contains("Uncaught Error: boom")),
        "the uncaught Error('boom') missing from {messages:?}"
    );
    // Reading empties the log: the next read sees only what happened since.
    assert_eq!(b.console_errors().await, vec![]);

    // A failed load is an error too, and errors raised later (in an event handler) count.
    b.goto(&data_url(
        "<input id=q><button id=go>go</button><p id=out></p>\
         <script>document.getElementById('go').onclick = () => {\
           document.getElementById('out').textContent = 'got ' + document.getElementById('q').value;\
           setTimeout(() => { throw new TypeError('later') }, 0) }</script>\
         <img src='http://127.0.0.1:9/missing.png'>",
    ))
    .await;
    b.set_value("#q", "riposte").await;
    b.click("#go").await;
    assert_eq!(b.wait_for_text("#out", "got").await, "got riposte");
    let deadline = std::time::Instant::now() + browser::WAIT;
    let mut errors = Vec::new();
    while !errors
        .iter()
        .any(|e: &browser::ConsoleMessage| e.message.contains("later"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the TypeError('later') never reached the log: {errors:?}"
        );
        errors.extend(b.console_errors().await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        errors.iter().any(|e| e.source == "network"),
        "the failed image load is missing from {errors:?}"
    );

    // A clean page has none.
    b.goto(&data_url("<p>quiet</p>")).await;
    b.assert_no_console_errors().await;

    // The desktop window lays pages out 1280 CSS pixels wide.
    assert_eq!(b.eval("return window.innerWidth").await, 1280);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_viewport_is_390_css_pixels_wide() {
    let b = Browser::phone("").await;
    assert_eq!(b.viewport(), Viewport::Phone);
    b.goto(&data_url(
        "<meta name=viewport content='width=device-width, initial-scale=1'><p>phone</p>",
    ))
    .await;
    let size = b
        .eval("return [window.innerWidth, window.innerHeight, matchMedia('(pointer: coarse)').matches]")
        .await;
    assert_eq!(size, serde_json::json!([390, 844, true]));
    b.assert_no_console_errors().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_can_be_browsed_and_screenshotted() {
    // The server (PostgreSQL, migrations, the seed) and the browser start together.
    let (server, mut b) = tokio::join!(serve_seeded(), Browser::desktop(""));
    b.set_base(&server.base);
    b.goto("/healthz").await;
    assert_eq!(b.current_url().await, format!("{}/healthz", server.base));
    // Chromium shows a JSON answer as text in a <pre>.
    let body: serde_json::Value = serde_json::from_str(&b.text("body").await).unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
    let shots = tempfile::tempdir().unwrap();
    let png = shots.path().join("nested/healthz.png");
    b.screenshot_to(&png).await;
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 100,
        "{} is not a PNG",
        png.display()
    );
    // The only error a JSON answer can cause: Chromium asks for /favicon.ico, and a 404 is
    // a console error (pages of the dashboard avoid it with a <link rel="icon">).
    let errors = b.console_errors().await;
    assert!(
        errors.iter().all(|e| e.message.contains("/favicon.ico")),
        "{errors:?}"
    );
}
