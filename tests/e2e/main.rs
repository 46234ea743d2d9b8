//! End-to-end tests: everything a user would meet on a network is real and on loopback.

mod cadence;
mod commands;
mod config_cli;
mod crash;
mod delivery;
mod email;
mod email_tls;
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
