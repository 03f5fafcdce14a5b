//! The tree panel's pure geometry, free of any UI framework: the grid
//! layout, the SVG paths, keyboard moves and the zoom/pan arithmetic.

pub mod drawing;
pub mod layout;
pub mod nav;
pub mod viewport;
