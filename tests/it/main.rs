//! Integration tests: the real `shipit` binary, the flyctl double and servers on 127.0.0.1.
#![allow(clippy::disallowed_methods)] // tests spawn shipit and the double
//! One test binary (one link) for the whole suite; each area is a module.

mod support;
mod init_cmd;
mod workflows;
