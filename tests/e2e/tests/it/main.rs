//! End-to-end tests against a real cluster (1 proxy, 3 targets, 2 mountpaths each) shared by
//! all tests; each test works in its own bucket, so they run in parallel.

mod aisloader;
mod cli;
mod cloud;
mod cluster;
mod ec;
mod errors;
mod jobs;
mod membership;
mod metrics;
mod mirror;
mod objects;
mod python_sdk;
mod rebalance;
mod resilver;
mod s3;
