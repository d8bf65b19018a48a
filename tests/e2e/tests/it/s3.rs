//! S3 API end to end with unmodified clients: boto3, awscli, s3cmd and rclone, run by the
//! pytest suite in `tests/e2e/s3` against the shared cluster (which requires SigV4 with the
//! test keys). `cargo xtask test` installs all of them.

use ais_e2e::{S3_ACCESS_KEY, S3_SECRET_KEY, run_pytest, shared};

#[test]
fn s3_clients_suite() {
    run_pytest(
        "s3",
        &[
            ("AIS_ENDPOINT", &shared().endpoint),
            ("AIS_S3_ACCESS_KEY", S3_ACCESS_KEY),
            ("AIS_S3_SECRET_KEY", S3_SECRET_KEY),
        ],
    );
}
