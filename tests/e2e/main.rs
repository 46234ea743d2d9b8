//! End-to-end tests: everything a user would meet on a network is real and on loopback.

mod config_cli;
mod crash;
mod delivery;
mod pipeline;
mod support;
mod upstream_faults;
