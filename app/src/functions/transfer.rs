//! What the import dialog asks the server before uploading (the upload
//! itself is a plain POST to [`IMPORT_URL`](crate::domain::transfer::IMPORT_URL),
//! which reports its progress).

use crate::domain::errors::AppError;
use leptos::prelude::*;
use server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::functions::run;

/// The largest file an import accepts, in bytes.
#[server(endpoint = "import_limit", input = Json)]
pub async fn import_limit() -> Result<u64, AppError> {
    run(|backend, _user| async move { Ok(backend.max_import_bytes()) }).await
}
