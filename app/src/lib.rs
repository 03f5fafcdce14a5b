//! Arbor's browser application: pages and components, the data types the
//! browser and server share, pure tree logic, and the server functions.
//! Built twice: with `hydrate` into WASM for the browser, with `ssr` into
//! the server.

pub mod accounts;
pub mod app;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod branches;
pub mod code_highlight;
pub mod components;
pub mod errors;
pub mod functions;
pub mod markdown;
pub mod model;
pub mod model_context;
pub mod operations;
pub mod reading_window;
pub mod replay;
pub mod routes;
pub mod sampling;
pub mod search;
pub mod state;
#[cfg(feature = "hydrate")]
pub mod stream;
pub mod transfer;
pub mod tree;
pub mod tree_drawing;
pub mod tree_layout;
pub mod tree_nav;
pub mod tree_viewport;
pub mod word_diff;

pub use app::{shell, App};

/// Entry point of the WASM bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
