//! Arbor's browser application: what the browser and server share
//! ([`domain`]), the server functions ([`functions`]), page state
//! ([`state`]), pages and components, and pure helpers for the tree panel
//! ([`tree_view`]) and for text ([`text`]).
//! Built twice: with `hydrate` into WASM for the browser, with `ssr` into
//! the server.

pub mod app;
pub mod components;
pub mod domain;
pub mod functions;
pub mod routes;
pub mod state;
#[cfg(feature = "hydrate")]
pub mod stream;
pub mod text;
pub mod tree_view;

pub use app::{shell, App};

/// Entry point of the WASM bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
