//! Runs the official `aistore` Python SDK suite (`tests/e2e/python`) against the shared cluster.
//! `cargo xtask test` creates the venv and sets `AIS_PYTHON`; without it this test fails.

use ais_e2e::{run_pytest, shared};

#[test]
fn python_sdk_suite() {
    run_pytest("python", &[("AIS_ENDPOINT", &shared().endpoint)]);
}
