//! ENR text → `Enr::parse`. Input starting with `enr:` is used as the text; any other input is
//! taken as the raw record (RLP) and base64-encoded first, so mutations reach the RLP decoder.

#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use dkgd_formats::enr::Enr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = match data.strip_prefix(b"enr:") {
        Some(_) => match std::str::from_utf8(data) {
            Ok(t) => t.to_string(),
            Err(_) => return,
        },
        None => format!("enr:{}", URL_SAFE_NO_PAD.encode(data)),
    };
    let Ok(enr) = Enr::parse(&text) else {
        return;
    };
    assert_eq!(enr.to_text(), text);
    let _ = (enr.seq(), enr.ip(), enr.tcp(), enr.udp());
    let _ = enr.peer_id().to_string();
    assert_eq!(Enr::parse(enr.to_text()).expect("re-parses"), enr);
});
