//! Seeded fault sweeps: each seed picks one fault and the network's latency, runs a whole
//! four-node ceremony, and checks what must hold whatever happened:
//!
//! 1. the ceremony ends (no panic, no livelock, no wait without a bound);
//! 2. if any node published, every node of the cluster staged the artifacts (nobody is left
//!    without keys), and every honest node published or kept them aside after staging;
//! 3. every staged lock is byte-identical;
//! 4. a node that aborted did not publish (unless only the final goodbye failed);
//! 5. blame is fair: an honest node that names a culprit names a node the fault touched,
//!    and the kind of its failure fits (never internal; local only where the disk failed);
//! 6. without a fault every node completes; with a wrong definition or version, or a node
//!    that cannot stage, nobody publishes.
//!
//! A failing seed is reported with its scenario; add it to the test's regression list.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use dkgd_ceremony::definition::LocalClusterConfig;
use dkgd_ceremony::wire::profile::{V1_10, V1_11};
use dkgd_ceremony::wire::{Instant, Profile};
use dkgd_ceremony::{ErrorKind, Event, Step};
use dkgd_crypto::k1::K1SecretKey;
use dkgd_formats::definition::{Definition, Version};
use dkgd_formats::network::HOODI;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::links::SeededLinks;
use crate::net::{Action, Net};
use crate::SeededTamper;

/// Nodes in a sweep's cluster.
pub const N: usize = 4;

/// The one fault a seed injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// None, and no latency either.
    None,
    /// Up to 300 ms of latency on every frame.
    SlowNetwork,
    /// The link loses about one frame in 40 (each a stream reset or a failed send).
    Lossy {
        /// The sender.
        from: usize,
        /// The receiver.
        to: usize,
    },
    /// The sender sends about one frame in 10 twice on this link.
    Duplicating {
        /// The sender.
        from: usize,
        /// The receiver.
        to: usize,
    },
    /// Frames between `node` and the others wait from `start` until `heal`.
    Partition {
        /// The node cut off.
        node: usize,
        /// When the cut starts.
        start: Duration,
        /// When it heals.
        heal: Duration,
    },
    /// The process dies at `at`.
    Crash {
        /// The node.
        node: usize,
        /// When.
        at: Duration,
    },
    /// The process dies at `at` and starts again `after` later.
    CrashRestart {
        /// The node.
        node: usize,
        /// When it dies.
        at: Duration,
        /// How long it stays down.
        after: Duration,
    },
    /// The node has another definition.
    OtherDefinition {
        /// The node.
        node: usize,
    },
    /// The node runs another charon version's protocols.
    OtherVersion {
        /// The node.
        node: usize,
    },
    /// The frames from `from` to `to` are tampered with.
    Tamper {
        /// The sender.
        from: usize,
        /// The receiver.
        to: usize,
    },
    /// The node cannot stage its artifacts (a full disk).
    CannotStage {
        /// The node.
        node: usize,
    },
}

impl Fault {
    /// The nodes that are not honest (their own outcome is not checked).
    fn faulty(&self) -> BTreeSet<usize> {
        match *self {
            Fault::Duplicating { from, .. } | Fault::Tamper { from, .. } => [from].into(),
            Fault::Crash { node, .. }
            | Fault::CrashRestart { node, .. }
            | Fault::OtherDefinition { node }
            | Fault::OtherVersion { node } => [node].into(),
            _ => BTreeSet::new(),
        }
    }

    /// Whom honest node `i` may blame.
    fn blameable(&self, i: usize) -> BTreeSet<usize> {
        match *self {
            Fault::None | Fault::SlowNetwork => BTreeSet::new(),
            Fault::Lossy { from, to } => [from, to].into(),
            Fault::Partition { .. } => (0..N).collect(),
            Fault::Tamper { from, to } if i != to => [from, to].into(),
            _ => self.faulty().into_iter().chain(self.stager()).collect(),
        }
    }

    fn stager(&self) -> Option<usize> {
        match *self {
            Fault::CannotStage { node } => Some(node),
            _ => None,
        }
    }
}

/// What one seed did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// Its fault.
    pub fault: Fault,
    /// Whether any node published.
    pub published: bool,
    /// Virtual time at the end.
    pub ended_at: Duration,
    /// The step node 0 had reached when the fault struck (crashes only).
    pub struck_at: Option<Step>,
}

/// An invariant that did not hold.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The seed.
    pub seed: u64,
    /// Its fault.
    pub fault: Fault,
    /// What went wrong.
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {} ({:?}): {}", self.seed, self.fault, self.what)
    }
}

/// The cluster every seed runs: keys, the definition and a second one (another name).
pub struct Fixture {
    ops: Vec<K1SecretKey>,
    def: Definition,
    other: Definition,
}

impl Fixture {
    /// Four operators, one validator, a v1.10 definition on Hoodi.
    pub fn new() -> Result<Self, dkgd_ceremony::Error> {
        let (ops, creator) = crate::keys(N, 1);
        let mut config = LocalClusterConfig::new(Version::V1_10, &HOODI, 1);
        config.name = "sweep".to_string();
        config.timestamp = "2026-01-02T03:04:05Z".to_string();
        let def = crate::definition(&config, &ops, &creator)?;
        config.name = "sweep, another".to_string();
        let other = crate::definition(&config, &ops, &creator)?;
        Ok(Fixture { ops, def, other })
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// The fault and network of `seed`.
pub fn scenario(seed: u64) -> (Fault, SeededLinks) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5eed_f417);
    let mut pick = |n: u64| rng.next_u64() % n;
    let node = usize::try_from(pick(N as u64)).unwrap_or(0);
    let other = (node + 1 + usize::try_from(pick(N as u64 - 1)).unwrap_or(0)) % N;
    let fault = match seed % 11 {
        0 => Fault::None,
        1 => Fault::SlowNetwork,
        2 => Fault::Lossy {
            from: node,
            to: other,
        },
        3 => Fault::Duplicating {
            from: node,
            to: other,
        },
        4 => {
            let start = ms(pick(600));
            Fault::Partition {
                node,
                start,
                heal: start + ms(100 + pick(6000)),
            }
        }
        5 => Fault::Crash {
            node,
            at: ms(pick(600)),
        },
        6 => Fault::CrashRestart {
            node,
            at: ms(pick(600)),
            after: ms(pick(3000)),
        },
        7 => Fault::OtherDefinition { node },
        8 => Fault::OtherVersion { node },
        9 => Fault::Tamper {
            from: node,
            to: other,
        },
        _ => Fault::CannotStage { node },
    };
    let latency = match fault {
        Fault::None => Duration::ZERO,
        Fault::SlowNetwork => ms(300),
        _ => ms(pick(50)),
    };
    let mut links = SeededLinks::new(seed, latency);
    match fault {
        Fault::Lossy { from, to } => {
            links.faulty = Some((from, to));
            links.loss_ppm = 25_000;
        }
        Fault::Duplicating { from, to } => {
            links.faulty = Some((from, to));
            links.duplicate_ppm = 100_000;
        }
        Fault::Partition { node, start, heal } => {
            links.side = [node].into();
            links.cut = Some((Instant::from_elapsed(start), Instant::from_elapsed(heal)));
        }
        _ => {}
    }
    (fault, links)
}

/// Runs `seed` on `fx` and checks the invariants (module docs).
pub fn run_seed(fx: &Fixture, seed: u64) -> Result<Outcome, Violation> {
    let (fault, _) = scenario(seed);
    let fail = |what: String| Violation { seed, fault, what };
    let (net, struck_at) = run_net(fx, seed)?;
    check(&net, fault).map_err(fail)?;
    Ok(Outcome {
        seed,
        fault,
        published: net.published_at.iter().any(Option::is_some),
        ended_at: net.now.elapsed(),
        struck_at,
    })
}

/// Runs `seed` on `fx` until every node finished; returns the network (to look at what
/// each node saw) and, for crashes, the step node 0 was in when the fault struck.
pub fn run_net(fx: &Fixture, seed: u64) -> Result<(Net, Option<Step>), Violation> {
    let (fault, links) = scenario(seed);
    let fail = |what: String| Violation { seed, fault, what };
    let mut defs = vec![fx.def.clone(); N];
    let mut profiles: Vec<&'static Profile> = vec![&V1_10; N];
    match fault {
        Fault::OtherDefinition { node } => defs[node] = fx.other.clone(),
        Fault::OtherVersion { node } => profiles[node] = &V1_11,
        _ => {}
    }
    let net_seed = u8::try_from(seed % 251).unwrap_or(0);
    let mut net =
        Net::new(&fx.ops, &defs, &profiles, net_seed).map_err(|e| fail(format!("set-up: {e}")))?;
    net.links = Some(Box::new(links));
    match fault {
        Fault::Crash { node, at } => {
            net.schedule
                .push((Instant::from_elapsed(at), Action::Crash(node)));
        }
        Fault::CrashRestart { node, at, after } => {
            net.schedule
                .push((Instant::from_elapsed(at), Action::Crash(node)));
            let back = Instant::from_elapsed(at + after);
            net.schedule.push((back, Action::Restart(node)));
        }
        Fault::Tamper { from, to } => {
            net.tamper = Some((from, to, Box::new(SeededTamper::new(seed))));
        }
        Fault::CannotStage { node } => {
            net.cannot_stage.insert(node);
        }
        _ => {}
    }
    let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut struck_at = None;
        if let Fault::Crash { at, .. } | Fault::CrashRestart { at, .. } = fault {
            let at = Instant::from_elapsed(at);
            net.run_until(|net| net.now >= at || (0..N).all(|i| net.finished(i)));
            struck_at = Some(net.nodes[0].step());
        }
        (net.run(), struck_at)
    }));
    match ended {
        Ok((true, struck_at)) => Ok((net, struck_at)),
        Ok((false, _)) => Err(fail("the cluster stalled: nothing left to do".into())),
        Err(_) => Err(fail("panicked (livelock or a machine's panic)".into())),
    }
}

/// Invariants 2–6 of the module docs.
fn check(net: &Net, fault: Fault) -> Result<(), String> {
    let faulty = fault.faulty();
    let honest: Vec<usize> = (0..N).filter(|i| !faulty.contains(i)).collect();
    let published: Vec<bool> = (0..N).map(|i| net.published_at[i].is_some()).collect();
    let any = published.iter().any(|p| *p);
    let members = match fault {
        Fault::OtherDefinition { node } | Fault::OtherVersion { node } => {
            (0..N).filter(|i| *i != node).collect()
        }
        _ => (0..N).collect::<Vec<_>>(),
    };
    if any {
        if let Some(i) = members.iter().find(|i| net.committed_at[**i].is_none()) {
            return Err(format!("a node published while node {i} never staged"));
        }
    }
    for &i in &honest {
        let kept_aside = net.committed_at[i].is_some()
            && net.abort(i).is_some_and(|e| e.step() == Step::Committed);
        if published[i] != any && !kept_aside {
            return Err(format!(
                "node {i} published={} while another did {any}",
                published[i]
            ));
        }
        // Published, then the goodbye with a peer failed: complete here, unconfirmed.
        if published[i] && net.abort(i).is_some_and(|e| e.step() != Step::Shutdown) {
            return Err(format!(
                "node {i} published and aborted: {:?}",
                net.abort(i)
            ));
        }
        if let Some(e) = net.abort(i) {
            // The kind of failure fits the fault: nothing is ever a bug, and only a node that
            // could not write fails locally.
            let kind = e.kind();
            let local_ok = fault.stager() == Some(i);
            if kind == ErrorKind::Internal || (kind == ErrorKind::Local && !local_ok) {
                return Err(format!("node {i} failed with kind {kind:?}: {e}"));
            }
            if let Fault::OtherDefinition { .. } | Fault::OtherVersion { .. } = fault {
                if !matches!(kind, ErrorKind::PeerIncompatible | ErrorKind::PeerAborted) {
                    return Err(format!("node {i} failed with kind {kind:?}: {e}"));
                }
            }
            let ok = fault.blameable(i);
            if let Some(c) = e.culprit() {
                if !ok.contains(&c.as_usize()) {
                    return Err(format!("node {i} blames {c}: {e}"));
                }
            }
        }
    }
    let locks: Vec<&Vec<u8>> = net.staged_locks.iter().flatten().collect();
    if locks.windows(2).any(|w| w[0] != w[1]) {
        return Err("staged locks differ".into());
    }
    match fault {
        Fault::None | Fault::SlowNetwork => {
            if let Some(i) = (0..N).find(|i| net.done_at[*i].is_none()) {
                return Err(format!("node {i} did not complete: {:?}", net.abort(i)));
            }
        }
        Fault::OtherDefinition { .. } | Fault::OtherVersion { .. } | Fault::CannotStage { .. }
            if any =>
        {
            return Err("a node published".into());
        }
        _ => {}
    }
    if net
        .events
        .iter()
        .flatten()
        .any(|e| matches!(e, Event::Done))
        && !any
    {
        return Err("Done without a publication".into());
    }
    Ok(())
}
