//! Conformance against charon's wire sequences (issue 10 §3): real `dkgd dkg` processes and
//! one scripted charon peer ([`charon_peer`], written from charon's Go source, sharing no
//! state machine with dkgd) in one ceremony over libp2p on 127.0.0.1.
//!
//! Each case: 4 operators, threshold 3, 1 validator; 3 dkgd processes and the scripted peer
//! playing charon vX. A conformant dkgd completes, exits 0 soon after it committed, writes a
//! data dir that `dkgd verify` accepts with the lock the scripted peer signed, and sends the
//! scripted peer its `shutdown = true` in the sequence that charon version expects.

mod support;

#[path = "support/charon_peer/mod.rs"]
mod charon_peer;

use charon_peer::harness::{
    assert_completed, assert_failed_naming, dkgd_has_compat_auto, run_case, Case, Compat, Reach,
};
use charon_peer::{CharonVersion, Fault};
use dkgd_formats::definition::Version;
use std::time::Duration;

// ---- 1. charon v1.7 – v1.11 peers complete with dkgd nodes ----

#[test]
fn v1_7_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_7)));
}

#[test]
fn v1_8_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_8)));
}

#[test]
fn v1_9_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_9)));
}

#[test]
fn v1_10_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_10)));
}

#[test]
fn v1_11_peer_completes_with_dkgd_nodes() {
    assert_completed(&run_case(Case::new(CharonVersion::V1_11)));
}

// ---- 2. who dials whom ----

#[test]
fn v1_7_peer_dials_dkgd_nodes_that_do_not_know_its_address() {
    let mut case = Case::new(CharonVersion::V1_7);
    case.dial = Reach::PeerDials;
    case.scripted = 0;
    assert_completed(&run_case(case));
}

#[test]
fn dkgd_nodes_dial_a_listening_v1_10_peer() {
    let mut case = Case::new(CharonVersion::V1_10);
    case.dial = Reach::WeDial;
    case.scripted = 0;
    assert_completed(&run_case(case));
}

/// The home setup: no listen addresses, everyone through a relay URL (charon resolves it
/// over HTTP; the smaller peer ID dials the larger through the circuit).
#[test]
fn v1_9_peer_meets_dkgd_nodes_through_a_relay() {
    let mut case = Case::new(CharonVersion::V1_9);
    case.dial = Reach::Relay;
    assert_completed(&run_case(case));
}

#[test]
fn v1_11_peer_meets_dkgd_nodes_through_a_relay() {
    let mut case = Case::new(CharonVersion::V1_11);
    case.dial = Reach::Relay;
    case.scripted = 0;
    assert_completed(&run_case(case));
}

// ---- 3. negative: version mismatch and charon error strings ----

#[test]
fn v1_7_peer_and_dkgd_speaking_v1_10_reject_each_other() {
    let mut case = Case::new(CharonVersion::V1_7);
    case.compat = Compat::Fixed("v1.10");
    let f = run_case(case);
    // Whichever rejection lands first ends the charon run: its server's (charon's text), or
    // a dkgd server's answer to its client.
    let why = f.outcome.as_ref().err().cloned().unwrap_or_default();
    let journal = f.journal.render();
    assert!(
        journal.contains("mismatching charon version; expect=v1.7, got=v1.10")
            || why.contains(
                "peer responded with error: mismatching charon version; expect=v1.10, got=v1.7"
            ),
        "the scripted v1.7 peer must fail on the version\n{}",
        f.dump()
    );
    assert_failed_naming(&f, &["v1.7"]);
}

#[test]
fn dkgd_with_compat_auto_follows_a_v1_7_peer() {
    assert!(
        dkgd_has_compat_auto(),
        "`dkgd dkg --compat auto` does not exist yet (issue 10 §2)"
    );
    let mut case = Case::new(CharonVersion::V1_7);
    case.compat = Compat::Auto;
    assert_completed(&run_case(case));
}

#[test]
fn dkgd_with_compat_auto_follows_v1_8_v1_9_and_v1_10_peers() {
    assert!(
        dkgd_has_compat_auto(),
        "`dkgd dkg --compat auto` does not exist yet (issue 10 §2)"
    );
    for v in [
        CharonVersion::V1_8,
        CharonVersion::V1_9,
        CharonVersion::V1_10,
    ] {
        let mut case = Case::new(v);
        case.compat = Compat::Auto;
        case.scripted = 1;
        assert_completed(&run_case(case));
    }
}

#[test]
fn dkgd_with_compat_auto_follows_a_v1_11_peer() {
    assert!(
        dkgd_has_compat_auto(),
        "`dkgd dkg --compat auto` does not exist yet (issue 10 §2)"
    );
    let mut case = Case::new(CharonVersion::V1_11);
    case.compat = Compat::Auto;
    assert_completed(&run_case(case));
}

/// charon v1.11 runs v1.6 – v1.11 definitions; dkgd's default profile for a v1.10 definition
/// is v1.10, so only `--compat v1.11` or `auto` meets such a cluster.
#[test]
fn v1_11_peer_with_a_v1_10_definition() {
    let mut case = Case::new(CharonVersion::V1_11);
    case.definition = Some(Version::V1_10);
    assert_completed(&run_case(case));
    if dkgd_has_compat_auto() {
        let mut case = Case::new(CharonVersion::V1_11);
        case.definition = Some(Version::V1_10);
        case.compat = Compat::Auto;
        assert_completed(&run_case(case));
    }
}

/// Older definitions change what is exchanged (v1.6/v1.7: one 32 ETH deposit, so only
/// parsigex slot 200; v1.6 locks have no node signatures and blank registrations).
#[test]
fn v1_7_peer_with_v1_6_v1_7_and_v1_8_definitions() {
    for def in [Version::V1_6, Version::V1_7, Version::V1_8] {
        let mut case = Case::new(CharonVersion::V1_7);
        case.definition = Some(def);
        assert_completed(&run_case(case));
    }
}

#[test]
fn a_charon_error_in_sync_responses_stops_dkgd_naming_it() {
    let text = "invalid definition hash signature";
    let mut case = Case::new(CharonVersion::V1_10);
    case.fault = Fault::SyncErrorResponse(text.to_owned());
    let f = run_case(case);
    assert!(
        f.outcome.is_err(),
        "the faulty scripted peer aborts\n{}",
        f.dump()
    );
    assert_failed_naming(&f, &[text]);
}

// ---- 4. charon behaviours dkgd must tolerate ----

/// charon clients always reconnect after a relay-style reset, even in v1.7 where reconnect is
/// otherwise off once everyone connected; the server keeps the peer's step across streams.
/// The old stream's end reaches dkgd after the new stream is up (as with a recycled relay
/// circuit). This found a dkgd bug, since fixed: the node driver keyed inbound sync streams
/// by peer, so the old stream's `Closed` dropped the new stream's writer and marked the peer
/// disconnected; later answers to the charon client were lost and its client, which has no
/// read deadline, blocked, while dkgd waited for it until its step timeout.
#[test]
fn v1_7_peer_resets_its_sync_streams_mid_ceremony() {
    let mut case = Case::new(CharonVersion::V1_7);
    case.fault = Fault::ResetSyncAt(2);
    assert_completed(&run_case(case));
}

#[test]
fn v1_11_peer_resets_its_sync_streams_mid_ceremony() {
    let mut case = Case::new(CharonVersion::V1_11);
    case.fault = Fault::ResetSyncAt(2);
    assert_completed(&run_case(case));
}

/// charon's step barriers have no bound (`AwaitAllAtStep` waits on the context only): a
/// charon node whose keystore writes are slow reaches the post-write barrier late.
/// dkgd used to bound this barrier by `--timeout` (its nodes exited non-zero after they
/// committed and answered the charon peer `aborted: …`); it now waits at least 10 min there.
#[test]
fn v1_10_peer_slow_to_reach_the_post_write_barrier() {
    let mut case = Case::new(CharonVersion::V1_10);
    case.fault = Fault::DelayBeforeStep(7, Duration::from_secs(8));
    case.extra = vec!["--timeout", "5"];
    assert_completed(&run_case(case));
}

/// The old bug, mirrored: a v1.7 peer that runs the v1.10 "shutdown ready" step waits at a
/// step 8 that v1.7 nodes never announce, while they wait for its shutdown message. The
/// harness must see this as a failure (it is what test 1 caught on the dkgd side).
#[test]
fn a_v1_7_peer_running_the_v1_10_shutdown_step_does_not_complete() {
    let mut case = Case::new(CharonVersion::V1_7);
    case.fault = Fault::ShutdownReadyStepAlways;
    let f = run_case(case);
    assert!(
        f.outcome.is_err(),
        "the mismatched shutdown must not complete\n{}",
        f.dump()
    );
    eprintln!("{}", f.dump());
}
