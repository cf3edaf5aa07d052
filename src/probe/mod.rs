//! Outside probes: how shipit judges a release the way a user reaches it.

pub mod condition;
