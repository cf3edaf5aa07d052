//! Random ids from the system's secure generator: message ids, output delimiters, temporary
//! names. A leaf: it uses nothing of shipit.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Random hex digits from the system's secure generator: message ids, output delimiters.
pub(crate) fn hex(bytes: usize) -> String {
    use ring::rand::SecureRandom as _;
    let mut buf = vec![0u8; bytes];
    if ring::rand::SystemRandom::new().fill(&mut buf).is_err() {
        // No system randomness (a broken sandbox): time and pid still make a collision unlikely
        // enough for ids and delimiters.
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            ^ u128::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
        }
    }
    buf.iter()
        .fold(String::with_capacity(bytes * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
