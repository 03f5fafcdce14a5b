//! UI pieces, one per file.

pub mod account_menu;
pub mod branch_bar;
pub mod branch_list;
pub mod compare_view;
pub mod composer;
pub mod context_view;
pub mod drawers;
pub mod error_page;
pub mod export_menu;
pub mod generation_settings;
pub mod import_dialog;
pub mod message;
pub mod modal;
pub mod prune;
#[cfg(feature = "hydrate")]
pub mod reading_place;
pub mod replay;
pub mod search_box;
pub mod sibling_nav;
pub mod sidebar;
pub mod system_prompt;
pub mod tree_canvas;
pub mod tree_panel;
pub mod typed_text;
pub mod user_admin;
pub mod when_loaded;
