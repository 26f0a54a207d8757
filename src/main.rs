//! `claimscrub` binary: parse the command line, set up logging, hand over to the library.

use std::process::ExitCode;

use claimscrub::cli::{Cli, Command, RulesCommand, check, health, rules_cmd, tables_cmd};
use claimscrub::{App, telemetry};
use clap::Parser;

/// mimalloc instead of the system allocator: rule evaluation allocates many small, short-lived
/// values (script strings, arrays, maps), often freed on another thread than the one that made
/// them; glibc's allocator spent about 12% of the server's CPU there under load
/// (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(&args),
        Command::Check(args) => check::run(&args),
        Command::Tables(args) => tables_cmd::run(&args),
        Command::Health(args) => health::run(&args),
        Command::Loadgen(args) => claimscrub::cli::loadgen::run(args),
        Command::Remits { command } => claimscrub::cli::remits_cmd::run(&command),
        Command::Calibration(args) => claimscrub::cli::calibration_cmd::run(&args),
        Command::Rules { command } => match command {
            RulesCommand::Check(args) => rules_cmd::check(&args),
            RulesCommand::Test(args) => rules_cmd::test(&args),
            RulesCommand::Import(args) => rules_cmd::import(&args),
            RulesCommand::Export(args) => rules_cmd::export(&args),
            RulesCommand::Remote(cmd) => claimscrub::cli::admin_cmd::run(&cmd),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("claimscrub: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn serve(args: &claimscrub::config::ServeArgs) -> anyhow::Result<ExitCode> {
    telemetry::init(args.log.log_format);
    let config = args.config()?;
    if let Some(addr) = args.metrics_addr()? {
        claimscrub::telemetry::metrics::install(addr).map_err(anyhow::Error::msg)?;
        tracing::info!(addr = %addr, "metrics on http://{addr}/metrics");
    }
    // Rules load before the port is bound: a broken rules directory is a startup error.
    let app = App::load(config.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        claimscrub::serve(app, listener, shutdown_signal()).await?;
        Ok(ExitCode::SUCCESS)
    });
    // A rule compile or reload still running on a blocking thread does not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
