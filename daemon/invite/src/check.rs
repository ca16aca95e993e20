//! Checking a definition fetched from the (untrusted) API against the pairing code that named
//! it and the node that will run it. Sans-IO: bytes and keys in, a verdict out.
//!
//! ```text
//!  API bytes ─parse─▶ Definition ─┬─ config_hash recomputed = code's, stored = computed
//!                                 ├─ fork_version = code's, version runs a DKG
//!                                 ├─ creator and every present operator signature valid
//!                                 ├─ our place: operator with our ENR or our key's address
//!                                 └─ all signed? then every charon check passes too
//! ```
//!
//! Obol's DKG sidecar only checks that signatures are non-empty; here a signature that is
//! present must verify, and a definition that is not fully signed is "waiting", never "done".

use dkgd_crypto::k1::K1PublicKey;
use dkgd_formats::definition::{Definition, Operator, Version};
use dkgd_formats::eip712::{self, SigCheck};
use dkgd_formats::enr::Enr;
use dkgd_formats::network;
use dkgd_formats::pairing::PairingCode;
use dkgd_formats::verify::{verify_definition, Status};

/// Where one operator is in accepting the invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorState {
    /// ENR present and both signatures verify (or the whole definition is unsigned).
    Signed,
    /// ENR present, signatures are of a kind that cannot be checked offline (a contract
    /// wallet, v1.11); accepted as charon does with a note.
    SignedUnverifiable(String),
    /// Not accepted yet: no ENR.
    Pending,
}

/// One operator as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorView {
    /// Position in the definition.
    pub index: usize,
    /// The operator's wallet address, as written in the definition.
    pub address: String,
    /// The ENR, when present.
    pub enr: Option<String>,
    /// Accepted or not.
    pub state: OperatorState,
}

/// A definition that passed every check that can pass at its stage.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The parsed definition.
    pub definition: Definition,
    /// Every operator, in order.
    pub operators: Vec<OperatorView>,
    /// Our index among the operators; `None` while our operator has not added this box's ENR
    /// and does not use the box's key as wallet (we cannot tell which pending slot is ours).
    pub our_index: Option<usize>,
    /// Whether our operator slot is ours by address (the box's key is the operator's wallet):
    /// then the box can accept the invite itself.
    pub self_operated: bool,
    /// Whether our slot already carries our ENR.
    pub we_signed: bool,
}

impl Checked {
    /// Operators that accepted.
    pub fn signed(&self) -> usize {
        self.operators
            .iter()
            .filter(|o| o.state != OperatorState::Pending)
            .count()
    }

    /// Whether every operator accepted (the ceremony can run).
    pub fn is_complete(&self) -> bool {
        self.signed() == self.operators.len()
    }

    /// The operators still to accept.
    pub fn missing(&self) -> impl Iterator<Item = &OperatorView> {
        self.operators
            .iter()
            .filter(|o| o.state == OperatorState::Pending)
    }
}

/// Why a fetched definition is refused. The API (or whoever answers in its place) is not
/// trusted: each of these means "do not run this", and none changes anything on disk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InviteError {
    /// Not a cluster definition.
    #[error("the API's answer is not a cluster definition: {0}")]
    NotADefinition(String),
    /// The content hashes to another config hash than the code names.
    #[error("the API returned a definition whose content hashes to config hash {computed}, not the invite's {expected}: refusing it (the API or something in between is wrong)")]
    ConfigHashMismatch {
        /// The code's config hash.
        expected: String,
        /// What the content hashes to.
        computed: String,
    },
    /// The stored config hash is not what the content hashes to.
    #[error("the definition's stored config_hash {stored} is not what its content hashes to ({computed})")]
    StoredConfigHash {
        /// As stored.
        stored: String,
        /// As computed.
        computed: String,
    },
    /// Another network than the code's.
    #[error("the definition is for fork version {found}, the invite for {expected}")]
    ForkMismatch {
        /// The code's fork version.
        expected: String,
        /// The definition's.
        found: String,
    },
    /// A version dkgd cannot run a ceremony for.
    #[error("definition version {0} cannot run a DKG ceremony (dkgd runs v1.6.0 – v1.11.0)")]
    Unsupported(String),
    /// A signature that is present does not verify.
    #[error("{who}: {why} (a definition with a forged or broken signature is never run)")]
    BadSignature {
        /// e.g. `operators[2].enr_signature`.
        who: String,
        /// Why.
        why: String,
    },
    /// An ENR that does not parse, or two operators with one key.
    #[error("operators[{index}].enr: {why}")]
    BadEnr {
        /// The operator.
        index: usize,
        /// Why.
        why: String,
    },
    /// This node has no place in the definition.
    #[error("this box is not one of the cluster's {operators} operators: neither its ENR {enr} nor its address {address} is in the definition (the invite is for another operator; ask the cluster creator to add this box)")]
    NotOurs {
        /// Operator count.
        operators: usize,
        /// Our ENR.
        enr: String,
        /// Our key's Ethereum address.
        address: String,
    },
    /// Our address's slot carries another node's ENR, or we appear twice.
    #[error("operators[{index}]: {why}")]
    Conflict {
        /// The operator.
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// Fully signed, but a charon check still fails.
    #[error("the fully signed definition does not verify: {check}: {detail}")]
    DoesNotVerify {
        /// The failing check.
        check: String,
        /// Its detail.
        detail: String,
    },
}

/// Checks `json` (as the API returned it) against `code` for the node with ENR `our_enr`.
pub fn check_definition(
    json: &[u8],
    code: &PairingCode,
    our_enr: &Enr,
) -> Result<Checked, InviteError> {
    let def =
        Definition::from_json(json).map_err(|e| InviteError::NotADefinition(e.to_string()))?;
    hashes_and_network(&def, code)?;
    if !def.version.dkg_supported() {
        return Err(InviteError::Unsupported(def.version.as_str().to_owned()));
    }
    let chain_id = eip712::chain_id(&def.fork_version).map_err(|e| InviteError::ForkMismatch {
        expected: hex0x(&code.fork_version),
        found: e.to_string(),
    })?;
    creator_signature(&def, chain_id, &code.config_hash)?;
    let ops = def.operators();
    let all_unsigned = ops.iter().all(Operator::is_unsigned);
    let mut operators = Vec::with_capacity(ops.len());
    let mut keys: Vec<(usize, K1PublicKey)> = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let state = operator_state(&def, index, op, chain_id, &code.config_hash, all_unsigned)?;
        if !op.enr.is_empty() {
            let enr = Enr::parse(&op.enr).map_err(|e| InviteError::BadEnr {
                index,
                why: e.to_string(),
            })?;
            let key = enr.public_key();
            if let Some((first, _)) = keys.iter().find(|(_, k)| *k == key) {
                return Err(InviteError::BadEnr {
                    index,
                    why: format!("same node key as operators[{first}]"),
                });
            }
            keys.push((index, key));
        }
        operators.push(OperatorView {
            index,
            address: op.address.as_str().to_owned(),
            enr: (!op.enr.is_empty()).then(|| op.enr.clone()),
            state,
        });
    }
    let pending = operators.iter().any(|o| o.state == OperatorState::Pending);
    let (our_index, self_operated, we_signed) = match our_place(ops, &keys, our_enr) {
        Ok((i, s, w)) => (Some(i), s, w),
        // Not found while operators are pending: ours may be one of them.
        Err(InviteError::NotOurs { .. }) if pending => (None, false, false),
        Err(e) => return Err(e),
    };
    let checked = Checked {
        definition: def,
        operators,
        our_index,
        self_operated,
        we_signed,
    };
    if checked.is_complete() {
        let report = verify_definition(&checked.definition);
        if let Some(bad) = report.checks.iter().find(|c| c.status == Status::Fail) {
            return Err(InviteError::DoesNotVerify {
                check: bad.check.clone(),
                detail: bad.detail.clone(),
            });
        }
    }
    Ok(checked)
}

fn hashes_and_network(def: &Definition, code: &PairingCode) -> Result<(), InviteError> {
    let computed = def
        .compute_config_hash()
        .map_err(|e| InviteError::NotADefinition(format!("cannot hash it: {e}")))?;
    if computed != code.config_hash {
        return Err(InviteError::ConfigHashMismatch {
            expected: hex0x(&code.config_hash),
            computed: hex0x(&computed),
        });
    }
    match def.config_hash {
        Some(stored) if stored == computed => {}
        other => {
            return Err(InviteError::StoredConfigHash {
                stored: other.map_or_else(|| "(none)".to_owned(), |s| hex0x(&s)),
                computed: hex0x(&computed),
            })
        }
    }
    if def.fork_version != code.fork_version {
        return Err(InviteError::ForkMismatch {
            expected: hex0x(&code.fork_version),
            found: hex0x(&def.fork_version),
        });
    }
    network::by_fork_version(&def.fork_version).map_err(|e| InviteError::ForkMismatch {
        expected: hex0x(&code.fork_version),
        found: e.to_string(),
    })?;
    Ok(())
}

fn creator_signature(
    def: &Definition,
    chain_id: u64,
    config_hash: &[u8; 32],
) -> Result<(), InviteError> {
    if def.version < Version::V1_4 {
        return Ok(());
    }
    let c = &def.creator;
    match c.address.bytes() {
        None if c.config_signature.is_empty() => Ok(()),
        None => Err(InviteError::BadSignature {
            who: "creator.config_signature".into(),
            why: "a signature without a creator address".into(),
        }),
        Some(addr) => verify(
            "creator.config_signature",
            &eip712::creator_config_hash_digest(chain_id, config_hash),
            &addr,
            &c.config_signature,
        )
        .map(|_| ()),
    }
}

fn operator_state(
    def: &Definition,
    index: usize,
    op: &Operator,
    chain_id: u64,
    config_hash: &[u8; 32],
    all_unsigned: bool,
) -> Result<OperatorState, InviteError> {
    if op.enr.is_empty() {
        if !op.enr_signature.is_empty() {
            return Err(InviteError::BadSignature {
                who: format!("operators[{index}].enr_signature"),
                why: "an ENR signature without an ENR".into(),
            });
        }
        return Ok(OperatorState::Pending);
    }
    if all_unsigned || def.version < Version::V1_3 {
        return Ok(OperatorState::Signed);
    }
    let Some(addr) = op.address.bytes() else {
        return Err(InviteError::BadSignature {
            who: format!("operators[{index}].address"),
            why: "a signed operator without an address".into(),
        });
    };
    let cfg = verify(
        &format!("operators[{index}].config_signature"),
        &eip712::operator_config_hash_digest(def.version.as_str(), chain_id, config_hash),
        &addr,
        &op.config_signature,
    )?;
    let enr = verify(
        &format!("operators[{index}].enr_signature"),
        &eip712::enr_digest(chain_id, &op.enr),
        &addr,
        &op.enr_signature,
    )?;
    Ok(match cfg.or(enr) {
        Some(note) => OperatorState::SignedUnverifiable(note),
        None => OperatorState::Signed,
    })
}

/// `Ok(None)` valid, `Ok(Some(note))` not verifiable offline, `Err` missing or invalid.
fn verify(
    who: &str,
    digest: &[u8; 32],
    addr: &[u8; 20],
    sig: &[u8],
) -> Result<Option<String>, InviteError> {
    let bad = |why: String| InviteError::BadSignature {
        who: who.to_owned(),
        why,
    };
    if sig.is_empty() {
        return Err(bad("missing".into()));
    }
    match eip712::check_signature(digest, addr, sig) {
        SigCheck::Valid => Ok(None),
        SigCheck::Invalid(e) => Err(bad(e.to_string())),
        SigCheck::NotVerifiableOffline(e) => Ok(Some(format!("{who}: {e}"))),
    }
}

fn our_place(
    ops: &[Operator],
    keys: &[(usize, K1PublicKey)],
    our_enr: &Enr,
) -> Result<(usize, bool, bool), InviteError> {
    let our_key = our_enr.public_key();
    let our_address = our_key.eth_address();
    let by_enr = keys.iter().find(|(_, k)| *k == our_key).map(|(i, _)| *i);
    let mut by_address = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.address.bytes() == Some(our_address))
        .map(|(i, _)| i);
    let first_by_address = by_address.next();
    if let Some(second) = by_address.next() {
        return Err(InviteError::Conflict {
            index: second,
            why: "this box's address is named by two operators".into(),
        });
    }
    match (by_enr, first_by_address) {
        (Some(e), Some(a)) if e != a => Err(InviteError::Conflict {
            index: a,
            why: format!("this box's address is here but its ENR is at operators[{e}]"),
        }),
        (Some(e), a) => Ok((e, a.is_some(), true)),
        (None, Some(a)) => {
            let enr = ops.get(a).map(|o| o.enr.as_str()).unwrap_or_default();
            if enr.is_empty() {
                Ok((a, true, false))
            } else {
                Err(InviteError::Conflict {
                    index: a,
                    why: format!(
                        "this box's address accepted the invite with another node's ENR ({enr}); \
                         this box cannot take part unless the operator re-invites it"
                    ),
                })
            }
        }
        (None, None) => Err(InviteError::NotOurs {
            operators: ops.len(),
            enr: our_enr.to_text().to_owned(),
            address: dkgd_crypto::k1::eip55_checksum(&our_address),
        }),
    }
}

/// `0x` + lower-case hex.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}
