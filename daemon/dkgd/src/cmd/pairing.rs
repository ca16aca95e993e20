//! `dkgd pairing-code`: the short, typo-proof code naming one cluster invite (README
//! "Joining a cluster from a pairing code").

use crate::cli::PairingCodeArgs;
use crate::exit::{Code, Failure};
use dkgd_formats::definition::Definition;
use dkgd_formats::network;
use dkgd_formats::pairing::{parse_invite, PairingCode};

/// Prints a code (from a config hash or a definition) or what a code names (`--show`).
pub(crate) fn run(args: &PairingCodeArgs) -> Result<Code, Failure> {
    let usage = |e: String, hint: &str| Failure::new(Code::Usage, anyhow::anyhow!(e), hint);
    let net = match &args.network {
        Some(name) => Some(
            network::by_name(name)
                .map_err(|e| usage(e.to_string(), "name one of the networks listed"))?,
        ),
        None => None,
    };
    if let Some(text) = &args.show {
        let code = parse_invite(text, net)
            .map_err(|e| usage(e.to_string(), "copy the code again from where it was given"))?;
        let name = code.network().map(|n| n.name).unwrap_or("unknown");
        println!("pairing code  {}", code.encode());
        println!("config hash   {}", code.config_hash_hex());
        println!("network       {name}");
        return Ok(Code::Ok);
    }
    let code = if let Some(path) = &args.definition {
        let bytes = super::input::read_capped(path)?;
        let def = Definition::from_json(&bytes).map_err(|e| {
            usage(
                format!("{}: not a cluster definition: {e}", path.display()),
                "give a cluster-definition.json",
            )
        })?;
        let hash = def.compute_config_hash().map_err(|e| {
            usage(
                format!("{}: cannot hash it: {e}", path.display()),
                "check the file with `dkgd verify`",
            )
        })?;
        let net = network::by_fork_version(&def.fork_version).map_err(|e| {
            usage(
                e.to_string(),
                "the definition's network must be a known one",
            )
        })?;
        PairingCode::new(net, hash)
    } else {
        let text = args.config_hash.as_deref().unwrap_or_default();
        parse_invite(text, net).map_err(|e| {
            usage(
                e.to_string(),
                "give --config-hash 0x… with --network NAME, or a launchpad invite link",
            )
        })?
    };
    println!("{}", code.encode());
    Ok(Code::Ok)
}
