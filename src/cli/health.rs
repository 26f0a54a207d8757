//! `claimscrub health --addr HOST:PORT`: a gRPC health probe (grpc.health.v1) for container
//! HEALTHCHECKs and scripts, since a scratch image has no shell, curl or grpc_health_probe.
//! Exit status 0 when SERVING, 1 otherwise (not serving, unreachable, timeout).

use std::process::ExitCode;
use std::time::Duration;

use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// `claimscrub health` arguments.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Address of the server to probe.
    #[arg(
        long,
        env = "CLAIMSCRUB_HEALTH_ADDR",
        default_value = "127.0.0.1:50051"
    )]
    pub addr: String,
    /// Service to ask about ("" = the whole server).
    #[arg(long, default_value = "")]
    pub service: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3)]
    pub timeout_secs: u64,
    #[command(flatten)]
    pub tls: super::tls::ClientTls,
}

async fn probe(args: &HealthArgs) -> Result<i32, String> {
    let url = super::tls::server_url(&args.addr, &args.tls);
    let channel = args.tls.connect(&url).await.map_err(|e| format!("{e:#}"))?;
    let resp = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: args.service.clone(),
        })
        .await
        .map_err(|s| format!("health check failed: {} {}", s.code(), s.message()))?;
    Ok(resp.into_inner().status)
}

/// Runs the probe.
pub fn run(args: &HealthArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let result = runtime.block_on(async { tokio::time::timeout(timeout, probe(args)).await });
    Ok(match result {
        Ok(Ok(1)) => {
            println!("SERVING");
            ExitCode::SUCCESS
        }
        Ok(Ok(status)) => {
            let name = match status {
                2 => "NOT_SERVING",
                3 => "SERVICE_UNKNOWN",
                _ => "UNKNOWN",
            };
            println!("{name}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("claimscrub health: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "claimscrub health: no answer from {} within {:?}",
                args.addr, timeout
            );
            ExitCode::FAILURE
        }
    })
}
