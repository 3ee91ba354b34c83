//! A real HTTP receiver for webhook tests: a plain tokio TCP server on 127.0.0.1 that
//! records every request and answers as scripted (fail, answer slowly, redirect, hold the
//! request open), and can go away and come back on the same port.
// Each test binary that includes this file uses part of it.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{KeyInit, Mac};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How to answer one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16),
    /// A 200, after this long (past the sender's timeout: it never sees it).
    Slow(Duration),
    /// A 302 to this URL.
    Redirect(String),
    /// Never answer; keep the connection open.
    Hold,
    /// This status with this `Retry-After`.
    RetryAfter(u16, String),
}

#[derive(Debug, Clone)]
pub struct Received {
    /// When the request arrived.
    pub at: std::time::Instant,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub answer: Answer,
}

/// The `webhook-id` a feed entry is sent with, as documented: `chg_<cursor>_<at in µs>`.
pub fn message_id(entry: &serde_json::Value) -> String {
    let at = chrono::DateTime::parse_from_rfc3339(entry["at"].as_str().unwrap()).unwrap();
    format!(
        "chg_{}_{}",
        entry["cursor"].as_str().unwrap(),
        at.timestamp_micros()
    )
}

impl Received {
    pub fn id(&self) -> &str {
        &self.headers["webhook-id"]
    }

    /// The change's cursor, from `webhook-id` (`chg_<cursor>_<at>`).
    pub fn seq(&self) -> i64 {
        let (seq, _) = self.id()["chg_".len()..].split_once('_').unwrap();
        seq.parse().unwrap()
    }

    /// Answered 2xx in time: the sender saw a success.
    pub fn delivered(&self) -> bool {
        matches!(self.answer, Answer::Status(s) if (200..300).contains(&s))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The feed entry the body carries: the body less the Standard Webhooks `type` and
    /// `timestamp`, which must agree with it (`{entity}.{kind}`, `at`).
    pub fn entry(&self) -> serde_json::Value {
        let mut body = self.json();
        let fields = body.as_object_mut().expect("a JSON object");
        let type_ = fields.remove("type").expect("a type");
        let timestamp = fields.remove("timestamp").expect("a timestamp");
        let (entity, kind) = (fields["entity"].as_str(), fields["kind"].as_str());
        assert_eq!(type_, format!("{}.{}", entity.unwrap(), kind.unwrap()));
        assert_eq!(timestamp, fields["at"]);
        body
    }

    /// Checks the Standard Webhooks signature with `secret`, computed here independently.
    pub fn signed_with(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
            .unwrap();
        let signed = format!(
            "{}.{}.{}",
            self.headers["webhook-id"], self.headers["webhook-timestamp"], self.body
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(signed.as_bytes());
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.headers["webhook-signature"]
            .split(' ')
            .any(|s| s == expected)
    }
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Answer>,
    otherwise: Option<Answer>,
    log: Vec<Received>,
}

pub struct Receiver {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// Listening on a free port; answers 200 unless scripted.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let task = Some(tokio::spawn(serve(listener, shared.clone())));
        Receiver { port, shared, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// The next requests get these answers, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.shared.lock().unwrap().script.extend(answers);
    }

    /// Requests beyond the script get this answer (200 by default).
    pub fn otherwise(&self, answer: Answer) {
        self.shared.lock().unwrap().otherwise = Some(answer);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().log.clone()
    }

    /// Stops listening (connections are refused) and drops open connections.
    pub fn go_away(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn come_back(&mut self) {
        self.go_away();
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.task = Some(tokio::spawn(serve(listener, self.shared.clone())));
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.go_away();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Mutex<Shared>>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((socket, _)) = listener.accept().await {
        connections.spawn(answer(socket, shared.clone()));
    }
}

async fn answer(mut socket: TcpStream, shared: Arc<Mutex<Shared>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).to_string();
    let answer = {
        let mut s = shared.lock().unwrap();
        let answer = s
            .script
            .pop_front()
            .or_else(|| s.otherwise.clone())
            .unwrap_or(Answer::Status(200));
        s.log.push(Received {
            at: std::time::Instant::now(),
            headers,
            body,
            answer: answer.clone(),
        });
        answer
    };
    let (status, extra) = match answer {
        Answer::Status(s) => (s, String::new()),
        Answer::Slow(d) => {
            tokio::time::sleep(d).await;
            (200, String::new())
        }
        Answer::Redirect(to) => (302, format!("location: {to}\r\n")),
        Answer::RetryAfter(s, after) => (s, format!("retry-after: {after}\r\n")),
        Answer::Hold => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
    };
    let response =
        format!("HTTP/1.1 {status} X\r\n{extra}content-length: 0\r\nconnection: close\r\n\r\n");
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}
