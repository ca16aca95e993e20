//! Reading a passphrase: from the terminal with echo off (asked twice for a new backup), or
//! the first line of stdin when stdin is not a terminal. Never from argv or the environment.

use crate::exit::{Code, Failure};
use anyhow::anyhow;
use dkgd_backup::Passphrase;
use nix::sys::termios::{self, LocalFlags, SetArg};
use std::io::{BufRead, IsTerminal, Write};
use zeroize::Zeroizing;

/// Longest passphrase accepted.
const MAX_PASSPHRASE_BYTES: usize = 1024;

/// Reads the passphrase; `confirm` asks twice on a terminal (for export).
pub(super) fn read(confirm: bool) -> Result<Passphrase, Failure> {
    let stdin = std::io::stdin();
    let text = if stdin.is_terminal() {
        let first = prompt("Passphrase: ")?;
        if confirm {
            let again = prompt("Passphrase again: ")?;
            if *first != *again {
                return Err(usage("the two passphrases differ"));
            }
        }
        first
    } else {
        line(&mut stdin.lock())?
    };
    if text.is_empty() {
        return Err(usage("the passphrase is empty"));
    }
    Ok(Passphrase::new(text))
}

fn usage(what: &str) -> Failure {
    Failure::new(
        Code::Usage,
        anyhow!("{what}; nothing was written"),
        "type the passphrase at the prompt, or pipe it as the first line of stdin",
    )
}

/// Prompts on stderr and reads one line from the terminal with echo off (restored after).
fn prompt(text: &str) -> Result<Zeroizing<String>, Failure> {
    let stdin = std::io::stdin();
    eprint!("{text}");
    let _ = std::io::stderr().flush();
    let saved = termios::tcgetattr(&stdin).ok();
    if let Some(old) = &saved {
        let mut quiet = old.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        quiet.local_flags.insert(LocalFlags::ECHONL);
        let _ = termios::tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let read = line(&mut stdin.lock());
    if let Some(old) = &saved {
        let _ = termios::tcsetattr(&stdin, SetArg::TCSANOW, old);
    }
    read
}

/// One line (without its line ending), at most [`MAX_PASSPHRASE_BYTES`].
fn line(r: &mut impl BufRead) -> Result<Zeroizing<String>, Failure> {
    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_PASSPHRASE_BYTES + 2));
    let mut limited = std::io::Read::take(r, MAX_PASSPHRASE_BYTES as u64 + 2);
    limited
        .read_until(b'\n', &mut buf)
        .map_err(|e| usage(&format!("cannot read the passphrase: {e}")))?;
    while buf.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
        buf.pop();
    }
    if buf.len() > MAX_PASSPHRASE_BYTES {
        return Err(usage("the passphrase is longer than 1024 bytes"));
    }
    let text = std::str::from_utf8(&buf).map_err(|_| usage("the passphrase is not UTF-8"))?;
    Ok(Zeroizing::new(text.to_owned()))
}
