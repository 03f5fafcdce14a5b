//! Arbor's server: configuration, storage, conversation actors, model
//! providers and the HTTP routes. `main.rs` only reads the configuration
//! and calls [`serve`].

pub mod accounts;
pub mod api;
pub mod api_error;
pub mod caller;
pub mod catalog;
pub mod chat;
pub mod clock;
pub mod config;
pub mod config_access;
pub mod config_file;
pub mod cross_origin;
pub mod operations;
pub mod providers;
pub mod route_access;
pub mod router;
pub mod security_headers;
pub mod service;
pub mod sse;
pub mod storage;
pub mod telemetry;
pub mod transfer;
pub mod transfer_routes;
pub mod transfers;

use accounts::Accounts;
use api::Arbor;
use config::Config;
use leptos::config::{Env, LeptosOptions};
use std::sync::Arc;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Storage(#[from] storage::StorageError),
    #[error("cannot set up the model providers: {0}")]
    Provider(#[from] providers::ProviderError),
    #[error("bad config file: {0}")]
    ConfigFile(#[from] config_file::ConfigFileError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the database, recovers interrupted replies, and serves until
/// Ctrl-C or SIGTERM. Prints the URL once listening.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let metrics = telemetry::install_metrics();
    let database = storage::connect(&config.database_url).await?;
    let arbor = Arbor::open_with_store(&config, database.store).await?;
    let accounts = Arc::new(Accounts::new(database.accounts, config.access.clone()));

    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr()?;
    let options = LeptosOptions::builder()
        .output_name("arbor")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(Env::PROD)
        .build();
    let app = router::router(arbor.clone(), accounts, metrics, options);
    println!("Arbor is listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Event streams never end on their own; tell them to.
        arbor.begin_shutdown();
    })
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
