//! Identifiers in the shapes Fly.io hands out: release ids, image tags, machine ids and names.
//!
//! Ids for things the test wrote by hand (a release without `id`, a machine without
//! `instance_id`) are derived from a hash of what identifies them, so every command reports the
//! same id for the same object. Ids for things a deploy creates are random and then stored.

use std::sync::atomic::{AtomicU64, Ordering};

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const BASE32_LOWER: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// FNV-1a: stable across runs and platforms, which is all derived ids need.
pub fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A splitmix64 stream; good enough to keep ids from colliding between runs.
pub struct Rng(u64);

impl Rng {
    pub fn from_seed(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Seeded from the clock, the pid and a counter, so two deploys never share ids.
    pub fn fresh() -> Rng {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Rng(nanos ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn chars(&mut self, alphabet: &[u8; 32], n: usize) -> String {
        (0..n)
            .map(|_| char::from(alphabet[(self.next_u64() % 32) as usize]))
            .collect()
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[(self.next_u64() % 16) as usize]))
            .collect()
    }
}

/// A ULID (26 Crockford base32 characters), the suffix of `deployment-<ULID>` image tags.
pub fn ulid(time_ms: i64, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(26);
    let t = time_ms.max(0) as u64 & 0xffff_ffff_ffff;
    for i in (0..10).rev() {
        out.push(char::from(CROCKFORD[((t >> (i * 5)) & 31) as usize]));
    }
    out.push_str(&rng.chars(CROCKFORD, 16));
    out
}

/// A fresh release id: opaque, `rel_` plus base32.
pub fn release_id(rng: &mut Rng) -> String {
    format!("rel_{}", rng.chars(BASE32_LOWER, 20))
}

/// The id a hand-written release without one is reported under, stable across commands.
pub fn derived_release_id(app: &str, version: u64) -> String {
    let mut rng = Rng::from_seed(hash(&[app, &version.to_string(), "release"]));
    release_id(&mut rng)
}

/// A 14-hex-digit machine id like `148ed193b95089`.
pub fn machine_id(rng: &mut Rng) -> String {
    rng.hex(14)
}

/// A Fly-style machine name (`wispy-sound-1234`), derived from the machine id.
pub fn machine_name(id: &str) -> String {
    const ADJECTIVES: [&str; 8] = [
        "wispy",
        "billowing",
        "silent",
        "autumn",
        "purple",
        "weathered",
        "young",
        "falling",
    ];
    const NOUNS: [&str; 8] = [
        "sound",
        "water",
        "dew",
        "meadow",
        "snowflake",
        "river",
        "forest",
        "firefly",
    ];
    let h = hash(&[id, "name"]);
    format!(
        "{}-{}-{}",
        ADJECTIVES[(h % 8) as usize],
        NOUNS[((h >> 8) % 8) as usize],
        1000 + (h >> 16) % 9000
    )
}

/// A machine's `instance_id`/`version`: a ULID that changes whenever its config does.
pub fn instance_id(machine: &str, image: &str, release: u64) -> String {
    let seed = hash(&[machine, image, &release.to_string()]);
    let mut rng = Rng::from_seed(seed);
    format!("01{}", rng.chars(CROCKFORD, 24))
}

/// A 6PN address in the shape Fly assigns (`fdaa:0:1234:a7b:1f4:aaaa:bbbb:2`).
pub fn private_ip(machine: &str) -> String {
    let h = hash(&[machine, "ip"]);
    format!(
        "fdaa:0:1234:a7b:1f4:{:x}:{:x}:2",
        (h & 0xffff).max(0x1000),
        ((h >> 16) & 0xffff).max(0x1000)
    )
}

/// An image digest for images the state gives none for, the same for the same image string.
pub fn image_digest(image: &str) -> String {
    let mut rng = Rng::from_seed(hash(&[image, "digest"]));
    format!("sha256:{}", rng.hex(64))
}

/// The GraphQL id of an organization, derived from its slug.
pub fn org_id(slug: &str) -> String {
    const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = Rng::from_seed(hash(&[slug, "org"]));
    (0..30)
        .map(|_| char::from(ALNUM[(rng.next_u64() % 62) as usize]))
        .collect()
}

/// The id `image found: img_...` prints for a pre-built image.
pub fn image_id(image: &str) -> String {
    let mut rng = Rng::from_seed(hash(&[image, "img"]));
    format!("img_{}", rng.chars(BASE32_LOWER, 16))
}

/// A user id derived from the user's e-mail.
pub fn user_id(email: &str) -> String {
    let mut rng = Rng::from_seed(hash(&[email, "user"]));
    format!("U_{}", rng.chars(BASE32_LOWER, 12).to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulid_is_26_crockford_characters() {
        let id = ulid(1_724_241_605_000, &mut Rng::from_seed(1));
        assert_eq!(id.len(), 26);
        assert!(id.bytes().all(|b| CROCKFORD.contains(&b)));
        assert!(id.starts_with("01J"), "{id}");
    }

    #[test]
    fn derived_ids_are_stable() {
        assert_eq!(derived_release_id("a", 1), derived_release_id("a", 1));
        assert_ne!(derived_release_id("a", 1), derived_release_id("a", 2));
        assert_eq!(
            machine_name("148ed193b95089"),
            machine_name("148ed193b95089")
        );
    }
}
