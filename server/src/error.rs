//! Why Arbor could not start, or stopped with an error.

use crate::{config, providers, storage};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Storage(#[from] storage::StorageError),
    #[error("cannot set up the model providers: {0}")]
    Provider(#[from] providers::ProviderError),
    #[error("bad config file: {0}")]
    ConfigFile(#[from] config::file::ConfigFileError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}
