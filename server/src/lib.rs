//! Arbor's server: configuration, storage, conversation actors, model
//! providers and the HTTP routes. `main.rs` only reads the configuration
//! and calls [`serve`].

pub mod catalog;
pub mod chat;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod providers;
pub mod router;
pub mod service;
pub mod sse;
pub mod storage;

use catalog::Catalog;
use chat::actor::{ActorContext, INTERRUPTED_NOTE};
use config::Config;
use leptos::config::{Env, LeptosOptions};
use service::{ChatService, Limits};
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
    let store = storage::connect(&config.database_url).await?;
    let interrupted = store
        .interrupt_streaming(INTERRUPTED_NOTE, clock::now_ms())
        .await?;
    if interrupted > 0 {
        tracing::warn!(
            count = interrupted,
            "marked replies left streaming by a crash as interrupted"
        );
    }
    let file = config
        .config_file
        .as_deref()
        .map(config_file::ConfigFile::load)
        .transpose()?;
    let catalog = Catalog::build(&config, file.as_ref(), |name| std::env::var(name).ok())?;
    let default = catalog.effective_model(&Default::default());
    tracing::info!(model = %default.key, offline = default.offline, "default model");
    let context = ActorContext {
        store,
        catalog: Arc::new(catalog),
        idle_timeout: config.actor_idle,
        checkpoint_every: config.checkpoint_every,
        replay_capacity: 4096,
        stream_idle_timeout: config.stream_idle_timeout,
    };
    let limits = Limits {
        max_message_chars: config.max_message_chars,
    };
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let chat = Arc::new(ChatService::new(context, limits, closing).await?);

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
    let app = router::router(chat, options);
    println!("Arbor is listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Event streams never end on their own; tell them to.
            _ = closing_tx.send(true);
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
