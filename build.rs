//! Compiles the gRPC contract in `proto/` with protox (pure Rust; no protoc install needed) and
//! generates the tonic/prost code. The encoded descriptor set is also written to OUT_DIR for
//! server reflection and for proto3-JSON parsing of claim files.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/claimscrub/v1/claim.proto",
        "proto/claimscrub/v1/scrub.proto",
        "proto/claimscrub/v1/admin.proto",
        "proto/claimscrub/v1/remit.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(protos, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out.join("claimscrub_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
