//! A terminal for the REPL tests: the real `kql` binary in a pseudo-terminal (expectrl),
//! its output fed to a terminal emulator (vt100) so tests assert on what the screen shows.
//! The emulator answers the cursor-position queries a line editor sends, as a terminal does.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::process::unix::{PtyStream, UnixProcess, WaitStatus};
use expectrl::Session;

pub const COLS: u16 = 120;
pub const ROWS: u16 = 100;
/// How long a step may take before the test fails (generous: the machine is shared).
pub const STEP: Duration = Duration::from_secs(30);

pub struct Term {
    session: Session<UnixProcess, PtyStream>,
    parser: vt100::Parser,
    /// The tail of the last read, in case a query was cut between two reads.
    carry: Vec<u8>,
    /// Every byte kql wrote, escape codes and all.
    pub transcript: Vec<u8>,
    /// Where the transcript was when a key was last sent.
    mark: usize,
}

impl Term {
    /// Starts the shell in `dir` with its history in `history`.
    pub fn start(dir: &Path, history: &Path) -> Term {
        Term::command(dir, &[], &[("KQL_HISTORY", history.to_str().unwrap())])
    }

    /// Starts `kql args...` in `dir`.
    pub fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Term {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kql"));
        cmd.current_dir(dir)
            .args(args)
            .env("TERM", "xterm-256color")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut session = Session::spawn(cmd).expect("kql starts in a pty");
        session
            .get_process_mut()
            .set_window_size(COLS, ROWS)
            .expect("the pty is resized");
        Term {
            session,
            parser: vt100::Parser::new(
                std::num::NonZeroU16::new(ROWS).unwrap(),
                std::num::NonZeroU16::new(COLS).unwrap(),
                0,
            ),
            carry: Vec::new(),
            transcript: Vec::new(),
            mark: 0,
        }
    }

    /// Reads what is there (not blocking); true if anything came.
    fn pump(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        match self.session.try_read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.feed(&buf[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(_) => false, // the process ended (EIO on Linux)
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.transcript.extend_from_slice(bytes);
        const DSR: &[u8] = b"\x1b[6n";
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(bytes);
        let mut rest = &data[..];
        while let Some(at) = rest.windows(DSR.len()).position(|w| w == DSR) {
            self.parser.process(&rest[..at]);
            let (row, col) = self.parser.screen().cursor_position();
            let answer = format!("\x1b[{};{}R", row + 1, col + 1);
            self.session.write_all(answer.as_bytes()).unwrap();
            self.session.flush().unwrap();
            rest = &rest[at + DSR.len()..];
        }
        // Keep a possible start of a query for the next read.
        let keep = (1..DSR.len())
            .rev()
            .find(|&k| rest.len() >= k && rest.ends_with(&DSR[..k]))
            .unwrap_or(0);
        self.parser.process(&rest[..rest.len() - keep]);
        self.carry = rest[rest.len() - keep..].to_vec();
    }

    /// The screen as text, trailing blanks trimmed.
    pub fn screen(&self) -> String {
        self.parser
            .screen()
            .contents()
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_string()
    }

    /// Reads until the screen satisfies `ok`, or fails the test showing the screen.
    pub fn wait(&mut self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let got = self.pump();
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen shows:\n{screen}");
            }
            if !got {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Waits until the screen shows `text`.
    pub fn expect(&mut self, text: &str) -> String {
        self.wait(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Waits until the shell reads a new entry: since the last key sent, the line editor
    /// has started again (it asks where the cursor is first) and shows the prompt `kql> `.
    pub fn ready(&mut self) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let got = self.pump();
            let started = self.transcript[self.mark..]
                .windows(4)
                .any(|w| w == b"\x1b[6n");
            let screen = self.screen();
            if started && screen.lines().last() == Some("kql>") {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for the prompt; the screen shows:\n{screen}");
            }
            if !got {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    pub fn send(&mut self, keys: &str) {
        self.pump();
        self.mark = self.transcript.len();
        self.session.write_all(keys.as_bytes()).unwrap();
        self.session.flush().unwrap();
    }

    /// Types a line, waits until the editor shows it, and presses Enter.
    pub fn line(&mut self, text: &str) {
        self.send(text);
        let last = text.lines().last().unwrap_or("").to_string();
        self.wait(&format!("the echo of {last:?}"), |s| s.contains(&last));
        self.send("\r");
    }

    /// Waits for the process to end; its exit code.
    pub fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + STEP;
        loop {
            self.pump();
            match self.session.get_process().status() {
                Ok(WaitStatus::Exited(_, code)) => {
                    // What it wrote last may still be in the pty.
                    let mut quiet = 0;
                    while quiet < 5 {
                        if self.pump() {
                            quiet = 0;
                        } else {
                            quiet += 1;
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                    return code;
                }
                Ok(WaitStatus::StillAlive) | Err(_) => {}
                Ok(other) => panic!("kql ended with {other:?}"),
            }
            if Instant::now() > deadline {
                panic!("kql did not exit; the screen shows:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.session.get_process_mut().exit(true);
    }
}
