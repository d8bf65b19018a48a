//! S3 API end to end with unmodified clients: boto3, awscli, s3cmd and rclone, run by the
//! pytest suite in `tests/e2e/s3` against the shared cluster (which requires SigV4 with the
//! test keys). `cargo xtask test` installs all of them.

use ais_e2e::{S3_ACCESS_KEY, S3_SECRET_KEY, shared};
use std::path::Path;
use std::process::Command;

#[test]
fn s3_clients_suite() {
    let python = std::env::var("AIS_PYTHON").unwrap_or_else(|_| {
        panic!("AIS_PYTHON is not set: run the tests with `cargo xtask test` (it installs boto3, awscli, s3cmd and rclone)")
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("s3");
    let bin = Path::new(&python)
        .parent()
        .expect("venv bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short"])
        .arg(&dir)
        .env("AIS_ENDPOINT", &shared().endpoint)
        .env("AIS_S3_ACCESS_KEY", S3_ACCESS_KEY)
        .env("AIS_S3_SECRET_KEY", S3_SECRET_KEY)
        .env("PATH", path)
        .current_dir(&dir)
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "S3 client suite failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("passed"), "pytest ran no tests:\n{stdout}");
    assert!(
        !stdout.contains("skipped"),
        "some S3 tests were skipped:\n{stdout}"
    );
}
