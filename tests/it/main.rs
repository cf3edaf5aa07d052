//! Integration tests: the real `shipit` binary, the flyctl double and servers on 127.0.0.1.
#![allow(clippy::disallowed_methods)] // tests spawn shipit and the double
#![allow(clippy::pedantic, clippy::useless_format, unreachable_pub)] // test code: readability over pedantry
//! One test binary (one link) for the whole suite; each area is a module.

mod baseline_cmd;
mod check_cmd;
mod config_errors;
mod demo_cmd;
mod evidence;
mod example;
mod fly_adapter;
mod github_io;
mod health_cmd;
mod init_cmd;
mod leak;
mod notify;
mod pipeline;
mod plan_cmd;
mod probe;
mod smoke_suite;
mod status_cmd;
mod support;
mod workflows;
