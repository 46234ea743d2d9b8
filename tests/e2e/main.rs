//! End-to-end tests: everything a user would meet on a network is real and on loopback.

mod admin_port;
mod cadence;
mod commands;
mod config_cli;
mod config_examples;
mod config_hints;
mod crash;
mod delivery;
mod email;
mod failures;
mod gathering;
mod operations;
mod pipeline;
mod queues;
mod queues_admin;
mod removals;
mod sink_faults;
mod sink_secrets;
mod slack;
mod smtp;
mod storage_faults;
mod support;
mod upstream_faults;
mod upstream_limits;
