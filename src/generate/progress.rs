//! A progress bar on stderr, hand-rolled: redrawn a few times a second on a terminal, one
//! line per 10% otherwise (logs, CI).

use std::io::Write;
use std::time::{Duration, Instant};

pub struct Progress {
    tty: bool,
    label: String,
    total: u64,
    started: Instant,
    last_draw: Option<Instant>,
    next_tenth: u64,
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            // SAFETY: isatty only inspects the descriptor.
            tty: unsafe { libc::isatty(2) } == 1,
            label: String::new(),
            total: 0,
            started: Instant::now(),
            last_draw: None,
            next_tenth: 1,
        }
    }

    /// A line of its own (ends any bar in progress first).
    pub fn say(&self, message: &str) {
        eprintln!("{message}");
    }

    /// Starts a bar counting `total` actions.
    pub fn start(&mut self, label: &str, total: u64) {
        self.label = label.to_string();
        self.total = total.max(1);
        self.started = Instant::now();
        self.last_draw = None;
        self.next_tenth = 1;
    }

    fn line(&self, done: u64, with_bar: bool) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            done as f64 / elapsed
        } else {
            0.0
        };
        let eta = if rate > 0.0 {
            format!("{:.0}s", (self.total - done.min(self.total)) as f64 / rate)
        } else {
            "?".into()
        };
        let bar = if with_bar {
            const WIDTH: usize = 30;
            let filled = (done as f64 / self.total as f64 * WIDTH as f64) as usize;
            let filled = filled.min(WIDTH);
            let mut b = String::with_capacity(WIDTH + 2);
            b.push('[');
            b.push_str(&"=".repeat(filled));
            if filled < WIDTH {
                b.push('>');
                b.push_str(&" ".repeat(WIDTH - filled - 1));
            }
            b.push_str("] ");
            b
        } else {
            String::new()
        };
        format!(
            "{:<14} {bar}{}/{} actions  {}/s  ETA {eta}",
            self.label,
            thousands(done),
            thousands(self.total),
            thousands(rate as u64)
        )
    }

    pub fn update(&mut self, done: u64) {
        if self.tty {
            let due = self
                .last_draw
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(200));
            if due {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r{}\x1b[K", self.line(done, true));
                let _ = err.flush();
                self.last_draw = Some(Instant::now());
            }
        } else {
            let tenth = (done * 10 / self.total).min(10);
            if tenth >= self.next_tenth {
                eprintln!("{}", self.line(done, false));
                self.next_tenth = tenth + 1;
            }
        }
    }

    /// Ends the bar with its final state and how long it took.
    pub fn finish(&mut self, done: u64, note: &str) {
        let took = seconds(self.started.elapsed());
        if self.tty {
            eprintln!("\r{}  ({took}{note})\x1b[K", self.line(done, true));
        } else {
            self.update(done);
            eprintln!("{}: done in {took}{note}", self.label);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let mut p = Progress::new();
        p.start("actions", 1_000_000);
        let line = p.line(450_000, true);
        assert!(line.contains("[=============>                ] 450,000/1,000,000 actions"));
    }
}
