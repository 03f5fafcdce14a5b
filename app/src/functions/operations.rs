//! Server functions of the operators' dashboard.

use crate::errors::AppError;
use leptos::prelude::*;
use server_fn::codec::Json;

/// Starts `count` test conversations on the offline model and broadcasts
/// `text` to them; returns at once (progress arrives with the dashboard's
/// live snapshots).
#[server(endpoint = "start_test_broadcast", input = Json)]
pub async fn start_test_broadcast(count: u32, text: String) -> Result<(), AppError> {
    use crate::backend::{CurrentUser, SharedOperations};
    let operations = use_context::<SharedOperations>().zip(use_context::<CurrentUser>());
    let result = match operations {
        Some((operations, user)) => operations.start_test_broadcast(user.0, count, text).await,
        None => Err(AppError::Internal("operations are not configured".into())),
    };
    crate::functions::with_status(result)
}
