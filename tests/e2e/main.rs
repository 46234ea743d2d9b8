//! End-to-end tests: everything a user would meet on a network is real and on loopback.

mod commands;
mod config_cli;
mod crash;
mod delivery;
mod email;
mod operations;
mod pipeline;
mod slack;
mod smtp;
mod support;
mod upstream_faults;
