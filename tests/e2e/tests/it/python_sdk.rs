//! Runs the official `aistore` Python SDK suite (`tests/e2e/python`) against the shared cluster.
//! `cargo xtask test` creates the venv and sets `AIS_PYTHON`; without it this test fails.

use ais_e2e::shared;
use std::path::Path;
use std::process::Command;

#[test]
fn python_sdk_suite() {
    let python = std::env::var("AIS_PYTHON").unwrap_or_else(|_| {
        panic!("AIS_PYTHON is not set: run the tests with `cargo xtask test` (it creates the Python venv with the pinned aistore SDK)")
    });
    assert!(
        Path::new(&python).exists(),
        "AIS_PYTHON={python} does not exist"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short"])
        .arg(&dir)
        .env("AIS_ENDPOINT", &shared().endpoint)
        .current_dir(&dir)
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Python SDK suite failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("passed"), "pytest ran no tests:\n{stdout}");
    assert!(
        !stdout.contains("skipped"),
        "some SDK tests were skipped:\n{stdout}"
    );
}
