//! UI pieces, one per file.

pub mod composer;
pub mod error_page;
pub mod generation_settings;
pub mod message;
pub mod sibling_nav;
pub mod sidebar;
pub mod system_prompt;
pub mod tree_panel;
