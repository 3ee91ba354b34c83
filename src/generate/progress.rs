//! Progress on stderr: an `indicatif` bar on a terminal, one line per 10% otherwise (logs,
//! CI, where a redrawn bar would only be noise).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    /// An `indicatif` bar on a terminal; None elsewhere (logs, CI), where a line per 10%
    /// is written instead.
    bar: Option<ProgressBar>,
    tty: bool,
    label: String,
    total: u64,
    started: Instant,
    next_tenth: u64,
}

/// A count of work done without a known total (a spinner on a terminal, nothing elsewhere).
pub fn counter(label: &str) -> ProgressBar {
    spinner(label, "{spinner} {prefix} {human_pos} actions  {per_sec}")
}

/// Bytes copied without a known total (a spinner on a terminal, nothing elsewhere).
pub fn bytes_spinner(label: &str) -> ProgressBar {
    spinner(label, "{spinner} {prefix} {bytes}  {bytes_per_sec}")
}

fn spinner(label: &str, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
    bar.set_prefix(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    crate::logging::above(&bar);
    bar
}

/// Bytes of a file read, of `total` (a bar on a terminal, nothing elsewhere).
pub fn bytes_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}  {msg}",
        )
        .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    crate::logging::above(&bar);
    bar
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
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
            bar: None,
            tty: std::io::stderr().is_terminal(),
            label: String::new(),
            total: 0,
            started: Instant::now(),
            next_tenth: 1,
        }
    }

    /// A line of its own (above any bar in progress).
    pub fn say(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => crate::logging::say(message),
        }
    }

    /// Starts a bar counting `total` actions.
    pub fn start(&mut self, label: &str, total: u64) {
        self.label = label.to_string();
        self.total = total.max(1);
        self.started = Instant::now();
        self.next_tenth = 1;
        self.bar = self.tty.then(|| {
            let bar = ProgressBar::new(self.total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:<14} [{bar:30}] {human_pos}/{human_len} actions  {per_sec}  ETA {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            crate::logging::above(&bar);
            bar
        });
    }

    /// The plain line written for each tenth where there is no terminal.
    fn line(&self, done: u64) -> String {
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
        format!(
            "{:<14} {}/{} actions  {}/s  ETA {eta}",
            self.label,
            thousands(done),
            thousands(self.total),
            thousands(rate as u64)
        )
    }

    pub fn update(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        let tenth = (done * 10 / self.total).min(10);
        if tenth >= self.next_tenth {
            crate::logging::say(&self.line(done));
            self.next_tenth = tenth + 1;
        }
    }

    /// Ends the bar with its final state and how long it took.
    pub fn finish(&mut self, done: u64, note: &str) {
        let took = seconds(self.started.elapsed());
        match self.bar.take() {
            Some(bar) => {
                bar.set_position(done);
                bar.finish_with_message(String::new());
                // The finished bar stays on screen; the line goes below it.
                drop(bar);
                crate::logging::say(&format!("{}: done in {took}{note}", self.label));
            }
            None => {
                self.update(done);
                crate::logging::say(&format!("{}: done in {took}{note}", self.label));
            }
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
        p.tty = false;
        p.start("actions", 1_000_000);
        assert!(p.bar.is_none());
        let line = p.line(450_000);
        assert!(line.contains("450,000/1,000,000 actions"), "{line}");
    }
}
