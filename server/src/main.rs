//! Starts Arbor: reads the configuration, sets up logging, serves.

use server::config::Config;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // TLS for remote model providers uses rustls with the ring backend.
    _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            // llama.cpp logs a hundred lines of detail while loading a model.
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,llama-cpp-2=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("arbor: {error}");
            return ExitCode::FAILURE;
        }
    };
    match config_flag(std::env::args().skip(1)) {
        Ok(Some(path)) => config.config_file = Some(path),
        Ok(None) => {}
        Err(message) => {
            eprintln!("arbor: {message}");
            return ExitCode::FAILURE;
        }
    }
    match server::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("arbor: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The `--config FILE` (or `--config=FILE`) flag, which wins over `ARBOR_CONFIG`.
fn config_flag(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<std::path::PathBuf>, String> {
    let mut path = None;
    while let Some(arg) = args.next() {
        if let Some(value) = arg.strip_prefix("--config=") {
            path = Some(value.into());
        } else if arg == "--config" {
            path = Some(args.next().ok_or("--config needs a file path")?.into());
        } else {
            return Err(format!(
                "unknown argument `{arg}` (usage: server [--config FILE])"
            ));
        }
    }
    Ok(path)
}
