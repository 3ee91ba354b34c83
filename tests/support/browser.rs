//! Headless Chromium driven through chromedriver (WebDriver, via fantoccini), for tests of
//! the browser dashboard against a real `riposte serve`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium
//! chromium-driver`); `RIPOSTE_CHROMIUM` and `RIPOSTE_CHROMEDRIVER` name other binaries.
//! Without them [`Browser::start`] fails the test, saying what to install: the browser tests
//! are never skipped silently.
//!
//! Every [`Browser`] has its own chromedriver (on a free port, in its own process group) and
//! its own Chromium profile and `TMPDIR` in a temporary directory. Dropping it, also while a
//! failing test unwinds, kills chromedriver and every Chromium process it started, then
//! removes the directory. (A test process killed with SIGKILL leaves them running.)
// Each test binary that includes this file uses part of it.
#![allow(dead_code)]

use std::fmt;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::wd::{Capabilities, TimeoutConfiguration, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// How long the helpers wait for an element, a text or a click to succeed: generous, since
/// the browser tests share two cores with the rest of `cargo test`.
pub const WAIT: Duration = Duration::from_secs(20);

/// What to install when a binary is missing.
const INSTALL: &str = "install Chromium and its WebDriver: `apt-get install -y chromium \
                       chromium-driver` on Debian (or point RIPOSTE_CHROMIUM and \
                       RIPOSTE_CHROMEDRIVER at them)";

/// The size the page is laid out at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewport {
    /// A 1280x900 window (the page gets 1280 CSS pixels of width).
    Desktop,
    /// A phone: 390x844 CSS pixels at device pixel ratio 2, mobile and touch emulated
    /// (so the page's `<meta name="viewport">` is honoured, as on a real phone).
    Phone,
}

/// One message from the browser's console log, as Chromium reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleMessage {
    /// `SEVERE` for errors, `WARNING`, `INFO`, `DEBUG`.
    pub level: String,
    /// `console-api` (a `console.*` call), `javascript` (an uncaught exception), `network`
    /// (a failed load: a 404 for a script, say), `security`, ...
    pub source: String,
    /// Chromium's text: the page's URL, `line:column`, then the message.
    pub message: String,
}

impl fmt::Display for ConsoleMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} {}] {}", self.level, self.source, self.message)
    }
}

/// A headless Chromium session. See the module documentation.
pub struct Browser {
    client: Client,
    base: String,
    viewport: Viewport,
    driver: Driver,
    /// The Chromium profile and chromedriver's output; removed after `driver` is killed.
    dir: tempfile::TempDir,
}

/// chromedriver, the leader of a new process group that holds the Chromium it starts too.
/// Dropping it kills the whole group: killing only chromedriver would leave Chromium
/// running.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        unsafe {
            libc::killpg(self.0.id() as libc::pid_t, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// The path of a browser binary: `$env_var` when set, else the first of `candidates` (an
/// absolute path, or a name looked up in `PATH`) that exists.
pub fn find_tool(what: &str, env_var: &str, candidates: &[&str]) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(env_var) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{what}: {env_var}={} does not exist; {INSTALL}",
                path.display()
            ))
        };
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for candidate in candidates {
        let found = if candidate.starts_with('/') {
            Some(PathBuf::from(candidate)).filter(|p| p.is_file())
        } else {
            path_dirs
                .iter()
                .map(|dir| dir.join(candidate))
                .find(|p| p.is_file())
        };
        if let Some(path) = found {
            return Ok(path);
        }
    }
    Err(format!(
        "{what} not found (looked for {}); {INSTALL}",
        candidates.join(", ")
    ))
}

fn chromedriver_path() -> PathBuf {
    find_tool(
        "chromedriver",
        "RIPOSTE_CHROMEDRIVER",
        &["chromedriver", "/usr/lib/chromium/chromedriver"],
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn chromium_path() -> PathBuf {
    // Debian's /usr/bin/chromium is a shell script that adds flags from /etc/chromium.d;
    // the binary itself behaves the same everywhere.
    find_tool(
        "Chromium",
        "RIPOSTE_CHROMIUM",
        &[
            "/usr/lib/chromium/chromium",
            "chromium",
            "chromium-browser",
            "google-chrome",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver extension posted to the session: `se/log` (the log entries of a type
/// gathered since the last read; chromedriver empties its buffer as it answers) or
/// `goog/cdp/execute` (a Chrome DevTools Protocol command run in the session's page).
#[derive(Debug)]
struct SessionPost(&'static str, Value);

type UrlParseError = <reqwest::Url as FromStr>::Err;

impl WebDriverCompatibleCommand for SessionPost {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, UrlParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.expect("a WebDriver session"),
            self.0
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(self.1.to_string()))
    }
}

/// Whether `e` is worth retrying until the deadline (the page is still changing).
fn transient(e: &CmdError) -> bool {
    matches!(
        e,
        CmdError::Standard(w) if matches!(
            w.error,
            ErrorStatus::NoSuchElement
                | ErrorStatus::StaleElementReference
                | ErrorStatus::ElementNotInteractable
                | ErrorStatus::ElementClickIntercepted
        )
    )
}

impl Browser {
    /// A 1280x900 browser; paths given to [`goto`](Self::goto) are relative to `base`
    /// (`http://127.0.0.1:PORT`, or `""` for absolute URLs only).
    pub async fn desktop(base: &str) -> Browser {
        Browser::start(Viewport::Desktop, base).await
    }

    /// A phone-sized browser (390x844); see [`Viewport::Phone`].
    pub async fn phone(base: &str) -> Browser {
        Browser::start(Viewport::Phone, base).await
    }

    /// Starts chromedriver and a headless Chromium session. Panics (failing the test) when
    /// either is missing or does not start.
    pub async fn start(viewport: Viewport, base: &str) -> Browser {
        let chromedriver = chromedriver_path();
        let chromium = chromium_path();
        let dir = tempfile::Builder::new()
            .prefix("riposte-browser")
            .tempdir_in(std::env::temp_dir())
            .unwrap();
        let profile = dir.path().join("profile");
        let log_path = dir.path().join("chromedriver.log");
        // Chromium and chromedriver keep temporary files (sockets, scoped dirs) and crash
        // reports outside the profile; a killed Chromium would leave them behind.
        let scratch = dir.path().join("tmp");
        std::fs::create_dir(&scratch).unwrap();

        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--disable-extensions".to_string(),
            "--no-first-run".to_string(),
            "--hide-scrollbars".to_string(),
            "--lang=en-US".to_string(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut chrome_options = json!({ "binary": chromium, "args": [] });
        match viewport {
            Viewport::Desktop => args.push("--window-size=1280,900".to_string()),
            Viewport::Phone => {
                args.push("--window-size=500,1000".to_string());
                chrome_options["mobileEmulation"] = json!({
                    "deviceMetrics": {
                        "width": 390, "height": 844, "pixelRatio": 2.0,
                        "mobile": true, "touch": true,
                    }
                });
            }
        }
        chrome_options["args"] = json!(args);
        let capabilities: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": chrome_options,
            // Chromium's console (console.*, uncaught exceptions, failed loads) into
            // chromedriver's "browser" log, read by `console_errors`.
            "goog:loggingPrefs": { "browser": "ALL" },
        }))
        .unwrap();

        // A free port can be taken before chromedriver binds it: try a few.
        let mut last_failure = String::new();
        for _ in 0..3 {
            last_failure.clear();
            let port = free_port();
            let log = File::create(&log_path).unwrap();
            let mut driver = Driver(
                Command::new(&chromedriver)
                    .arg(format!("--port={port}"))
                    .env("TMPDIR", &scratch)
                    .env("XDG_CONFIG_HOME", &scratch)
                    .env("XDG_CACHE_HOME", &scratch)
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .process_group(0)
                    .spawn()
                    .unwrap_or_else(|e| {
                        panic!("cannot run {}: {e}; {INSTALL}", chromedriver.display())
                    }),
            );
            let chromedriver_said = || std::fs::read_to_string(&log_path).unwrap_or_default();
            let deadline = Instant::now() + WAIT;
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Ok(Some(status)) = driver.0.try_wait() {
                    last_failure = format!(
                        "chromedriver exited with {status}; it said:\n{}",
                        chromedriver_said()
                    );
                    break;
                }
                if Instant::now() > deadline {
                    last_failure = format!(
                        "chromedriver did not listen on port {port} within {WAIT:?}; it \
                         said:\n{}",
                        chromedriver_said()
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if !last_failure.is_empty() {
                continue; // `driver` is dropped: killed with its group
            }
            let connected = ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match connected {
                Ok(client) => {
                    let browser = Browser {
                        client,
                        base: base.trim_end_matches('/').to_string(),
                        viewport,
                        driver,
                        dir,
                    };
                    // Fail a hung page load within a minute rather than chromedriver's 300 s.
                    let timeouts = TimeoutConfiguration::new(
                        Some(Duration::from_secs(30)),
                        Some(Duration::from_secs(60)),
                        Some(Duration::ZERO),
                    );
                    browser.client.update_timeouts(timeouts).await.unwrap();
                    return browser;
                }
                Err(e) => {
                    last_failure = format!(
                        "could not open a Chromium session ({}): {e}\nchromedriver \
                         said:\n{}",
                        chromium.display(),
                        chromedriver_said()
                    );
                }
            }
        }
        panic!("{last_failure}");
    }

    /// The URL `path` names: `base` + `path` for a path starting with `/`, else `path`.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.base)
        } else {
            path.to_string()
        }
    }

    /// The server's base URL given at start.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Makes paths relative to `base` from now on.
    pub fn set_base(&mut self, base: &str) {
        self.base = base.trim_end_matches('/').to_string();
    }

    pub fn viewport(&self) -> Viewport {
        self.viewport
    }

    /// The fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Loads `path` (see [`url`](Self::url)) and waits for its `load` event.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("could not load {url}: {e}"));
    }

    /// The current URL.
    pub async fn current_url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// The first element matching `css`, waiting up to `timeout` for one to appear.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(e) if transient(&e) && Instant::now() < deadline => {}
                Err(e) => self.fail(&format!("no element matches `{css}`: {e}")).await,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// [`wait_for`](Self::wait_for) with the default [`WAIT`].
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for(css, WAIT).await
    }

    /// Every element matching `css` now (none is not an error).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find_all `{css}`: {e}"))
    }

    /// The rendered text of the first element matching `css` (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(e) if transient(&e) && Instant::now() < deadline => {}
                Err(e) => self.fail(&format!("text of `{css}`: {e}")).await,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to [`WAIT`]) until the first element matching `css` has a text containing
    /// `needle`; that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if text.contains(needle) {
                        return text;
                    }
                    last = Some(text);
                }
            }
            if Instant::now() > deadline {
                let seen = match last {
                    Some(text) => format!("its text was {text:?}"),
                    None => "no element matched".to_string(),
                };
                self.fail(&format!("`{css}` never contained {needle:?}: {seen}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the first element matching `css`, retrying while it is missing, covered or
    /// not yet interactable.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if transient(&e) && Instant::now() < deadline => {}
                Err(e) => self.fail(&format!("could not click `{css}`: {e}")).await,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Replaces the value of the input matching `css` with `value`, typed key by key (so the
    /// page sees `input` events).
    pub async fn set_value(&self, css: &str, value: &str) {
        let element = self.find(css).await;
        if let Err(e) = element.clear().await {
            self.fail(&format!("could not clear `{css}`: {e}")).await;
        }
        if let Err(e) = element.send_keys(value).await {
            self.fail(&format!("could not type into `{css}`: {e}"))
                .await;
        }
    }

    /// Types `keys` into the element matching `css` after what it holds. Special keys are
    /// `fantoccini::key::Key` as chars: `&format!("riposte{}", char::from(Key::Enter))`.
    pub async fn type_into(&self, css: &str, keys: &str) {
        if let Err(e) = self.find(css).await.send_keys(keys).await {
            self.fail(&format!("could not type into `{css}`: {e}"))
                .await;
        }
    }

    /// Runs `script` as a function body in the page (`return ...` gives the result).
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs the Chrome DevTools Protocol command `cmd` with `params`; its result.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(SessionPost(
                "goog/cdp/execute",
                json!({ "cmd": cmd, "params": params }),
            ))
            .await
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    /// Lays pages out as for a reader who prefers a dark (`true`) or light colour scheme.
    pub async fn prefer_dark(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": value }] }),
        )
        .await;
    }

    /// A PNG of the viewport, written to `docs/screenshots/NAME.png` in the repository.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/screenshots")
            .join(format!("{name}.png"));
        self.screenshot_to(&path).await;
        path
    }

    /// A PNG of the viewport, written to `path` (its directory is created).
    pub async fn screenshot_to(&self, path: &Path) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot failed: {e}"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Every console message Chromium logged since the previous call (on any page):
    /// `console.*` calls, uncaught exceptions, failed loads. Read from chromedriver's
    /// browser log, not from the page, so it also sees what happens before any script of
    /// the page runs.
    pub async fn console_messages(&self) -> Vec<ConsoleMessage> {
        let log = self
            .client
            .issue_cmd(SessionPost("se/log", json!({ "type": "browser" })))
            .await
            .unwrap_or_else(|e| panic!("could not read the browser's log: {e}"));
        log.as_array()
            .unwrap_or_else(|| panic!("the browser's log is not a list: {log}"))
            .iter()
            .map(|entry| {
                let field = |name| entry[name].as_str().unwrap_or_default().to_string();
                ConsoleMessage {
                    level: field("level"),
                    source: field("source"),
                    message: field("message"),
                }
            })
            .collect()
    }

    /// The console errors (level `SEVERE`: `console.error`, uncaught exceptions, failed
    /// loads) since the previous call to this or [`console_messages`](Self::console_messages).
    pub async fn console_errors(&self) -> Vec<ConsoleMessage> {
        self.console_messages()
            .await
            .into_iter()
            .filter(|m| m.level == "SEVERE")
            .collect()
    }

    /// Fails the test if the browser logged any console error since the previous read.
    pub async fn assert_no_console_errors(&self) {
        let errors = self.console_errors().await;
        if !errors.is_empty() {
            let url = self.current_url().await;
            let list: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
            panic!("console errors on {url}:\n{}", list.join("\n"));
        }
    }

    /// Ends the session cleanly (Chromium closes); dropping the browser kills it instead.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Panics with `what`, the current URL and the console errors.
    async fn fail(&self, what: &str) -> ! {
        let url = self.current_url().await;
        let errors: Vec<String> = self
            .console_errors()
            .await
            .iter()
            .map(|e| format!("\n  {e}"))
            .collect();
        let errors = if errors.is_empty() {
            " none".to_string()
        } else {
            errors.concat()
        };
        panic!("{what}\n(on {url}; console errors:{errors})");
    }
}
