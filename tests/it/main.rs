//! Integration tests: the real `shipit` binary, the flyctl double and servers on 127.0.0.1.
#![allow(clippy::disallowed_methods)] // tests spawn shipit and the double
#![allow(clippy::pedantic, clippy::useless_format, unreachable_pub)] // test code: readability over pedantry
//! One test binary (one link) for the whole suite; each area is a module.

mod architecture;
mod baseline_cmd;
mod canary_config;
mod canary_pipeline;
mod cancel_stages;
mod check_cmd;
mod conditions;
mod config_errors;
mod cost_cmd;
mod db_backup;
mod db_gate;
mod db_migrations;
mod db_verify;
mod demo_cmd;
mod deploy_args;
mod drill_cmd;
mod evidence;
mod example;
mod fly_adapter;
mod github_io;
mod health_cmd;
mod hostile;
mod human_output;
mod init_cmd;
mod leak;
mod notify;
mod parity_cmd;
mod pipeline;
mod plan_cmd;
mod probe;
mod promote_cmd;
mod report_cmd;
mod rollback_cmd;
mod rollback_env;
mod runbook_cmd;
mod show_settings;
mod smoke_suite;
mod status_cmd;
mod store;
mod store_migrate;
mod support;
mod workflows;
