//! The one error type the browser sees, with the HTTP status each kind maps to.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// An error a server function (or the event stream) reports to the browser.
/// The message is meant for the user: clear, with nothing internal in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request itself is wrong (empty text, malformed id, wrong role...).
    #[error("{0}")]
    BadRequest(String),
    /// The thing named does not exist, or belongs to someone else.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with work in progress (a reply still streaming).
    #[error("{0}")]
    Busy(String),
    /// Nobody is signed in (or the session ended).
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but not allowed (an administrator's page, closed sign-up,
    /// a cross-site request).
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts in a short time; the message says when to retry.
    #[error("{0}")]
    TooManyRequests(String),
    /// The request (an upload) is larger than this Arbor accepts.
    #[error("{0}")]
    TooLarge(String),
    /// Something failed on the server; details are in the server log.
    #[error("something went wrong on the server ({0})")]
    Internal(String),
    /// The request never reached the function (network, encoding).
    #[error("request failed: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status code this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::NotFound(_) => 404,
            AppError::Busy(_) => 409,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::TooManyRequests(_) => 429,
            AppError::TooLarge(_) => 413,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server these mean the request's arguments could not be
            // read: the caller's mistake, answered 400.
            ServerFnErrorErr::Args(msg)
            | ServerFnErrorErr::MissingArg(msg)
            | ServerFnErrorErr::Deserialization(msg) => {
                AppError::BadRequest(format!("malformed request: {msg}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

/// Parses a textual id, naming what it was meant to identify when it is malformed.
pub fn parse_id(text: &str, what: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(text.trim())
        .map_err(|_| AppError::BadRequest(format!("malformed {what} id `{text}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_maps_to_its_status() {
        assert_eq!(AppError::BadRequest("x".into()).status_code(), 400);
        assert_eq!(AppError::NotFound("x".into()).status_code(), 404);
        assert_eq!(AppError::Busy("x".into()).status_code(), 409);
        assert_eq!(AppError::Unauthorized("x".into()).status_code(), 401);
        assert_eq!(AppError::Forbidden("x".into()).status_code(), 403);
        assert_eq!(AppError::TooManyRequests("x".into()).status_code(), 429);
        assert_eq!(AppError::Internal("x".into()).status_code(), 500);
    }

    #[test]
    fn malformed_ids_are_bad_requests_naming_the_kind() {
        let err = parse_id("nope", "conversation").expect_err("must fail");
        assert_eq!(
            err,
            AppError::BadRequest("malformed conversation id `nope`".into())
        );
        assert!(parse_id(&uuid::Uuid::nil().to_string(), "message").is_ok());
    }
}
