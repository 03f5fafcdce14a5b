//! Serving Arbor over HTTP: binds the address, builds the router, and
//! runs until Ctrl-C or SIGTERM.

use super::router::router;
use crate::accounts::Accounts;
use crate::api::Arbor;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::error::ServeError;
use crate::{storage, telemetry};
use leptos::config::{Env, LeptosOptions};
use std::net::SocketAddr;
use std::sync::Arc;

/// Opens the database, recovers interrupted replies, joins the other nodes
/// on a shared (PostgreSQL) database, and serves until Ctrl-C or SIGTERM.
/// Prints the URL once listening.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let metrics = telemetry::install_metrics();
    let database = storage::connect(&config.database_url).await?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr()?;
    let cluster = match database.leases {
        Some(leases) => {
            let address = node_address(&config, addr);
            Some(Cluster::join(leases, &address, config.lease).await?)
        }
        None => None,
    };
    let arbor = Arbor::open_in_cluster(&config, database.store, cluster.clone()).await?;
    let accounts = Arc::new(Accounts::new(database.accounts, config.access.clone()));

    let options = LeptosOptions::builder()
        .output_name("arbor")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(Env::PROD)
        .hash_files(crate::http::bundle::named_by_content())
        .build();
    let app = router(arbor.clone(), accounts, metrics, options);
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
    if let Some(cluster) = cluster {
        cluster.leave().await;
    }
    Ok(())
}

/// Where the other nodes reach this one: `ARBOR_NODE_URL`, else the bound
/// address (loopback for an unspecified one, so nodes on one machine need
/// no setting).
fn node_address(config: &Config, bound: SocketAddr) -> String {
    if let Some(url) = &config.node_url {
        return url.clone();
    }
    let mut reachable = bound;
    if reachable.ip().is_unspecified() {
        reachable.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{reachable}")
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
