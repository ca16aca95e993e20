//! `dkgd pair CODE`: hands a pairing code to the running daemon over its status socket
//! (`POST /pair`), which checks it and starts resolving the cluster invite. The code is
//! checked here first, so a typo never reaches the daemon.

use super::status::{ask, bad_answer, socket_path};
use crate::cli::PairArgs;
use crate::exit::{Code, Failure};
use anyhow::anyhow;
use hyper::{Method, StatusCode};

/// Runs `dkgd pair`.
pub(crate) fn run(args: &PairArgs) -> Result<Code, Failure> {
    let text = args.code.join(" ");
    let code = dkgd_node::run::invite::parse_code_text(&text).map_err(|why| {
        Failure::new(
            Code::Usage,
            anyhow!("pairing code: {why}"),
            "copy the code again from where it was given (dkg1…, the launchpad link, or 0x<config hash> <network>)",
        )
    })?;
    let socket = socket_path(args.socket.as_ref());
    let answer = ask(&socket, Method::POST, "/pair", Some(code.encode()))?;
    let why = answer.error_text();
    match answer.code {
        StatusCode::ACCEPTED => {
            let network = code.network().map(|n| n.name).unwrap_or("unknown");
            println!(
                "paired: the daemon resolves cluster invite {} on {network} now",
                code.config_hash_hex()
            );
            println!("follow it with `dkgd status` (what the API says, who still has to accept)");
            Ok(Code::Ok)
        }
        StatusCode::BAD_REQUEST => Err(Failure::new(
            Code::Usage,
            anyhow!("the daemon refused the code: {why}"),
            "copy the code again from where it was given",
        )),
        StatusCode::CONFLICT => Err(Failure::new(
            Code::Failed,
            anyhow!("the daemon did not take the code: {why}"),
            "see `dkgd status` for what the box is doing",
        )),
        StatusCode::FORBIDDEN => Err(Failure::new(
            Code::NoPerm,
            anyhow!("{why}"),
            "run it with sudo, or as the daemon's user",
        )),
        other => Err(bad_answer(
            &socket,
            &format!("HTTP {}: {why}", other.as_u16()),
        )),
    }
}
