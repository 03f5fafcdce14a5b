//! Server functions of the operators' dashboard.

use crate::domain::errors::AppError;
use leptos::prelude::*;
use server_fn::codec::Json;

/// Starts `count` test conversations on the offline model and broadcasts
/// `text` to them; returns at once (progress arrives with the dashboard's
/// live snapshots).
#[server(endpoint = "start_test_broadcast", input = Json)]
pub async fn start_test_broadcast(count: u32, text: String) -> Result<(), AppError> {
    use crate::domain::backend::SharedOperations;
    use crate::functions::{provided, run_admin};
    run_admin(|admin| async move {
        provided::<SharedOperations>("operations backend")?
            .start_test_broadcast(admin.id, count, text)
            .await
    })
    .await
}
