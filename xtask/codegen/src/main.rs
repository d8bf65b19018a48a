//! `ais-codegen`: compiles `crates/ais-metasync/proto/*.proto` with the pure-Rust `protox` and
//! writes the prost messages and tonic client/server into `crates/ais-metasync/src/pb/`.
//! The output is committed, so building the workspace needs neither `protoc` nor this tool.
//!
//! Usage: `cargo xtask codegen [--check]` (or `cargo run -p ais-codegen -- [OUT_DIR]`).

use anyhow::{Context, Result};
use std::path::PathBuf;

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto_dir = root.join("crates/ais-metasync/proto");
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("crates/ais-metasync/src/pb"));
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    let fds = protox::compile([proto_dir.join("metasync.proto")], [&proto_dir])
        .context("compile proto")?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .out_dir(&out)
        .compile_fds(fds)
        .context("generate code")?;
    Ok(())
}
