//! On narrow screens the conversation list and the tree slide over the
//! page as drawers: which one is open, the buttons that open them, and the
//! backdrop that closes them (so do Escape and moving to another page).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// A panel that becomes a drawer on narrow screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drawer {
    Conversations,
    Tree,
}

/// Which drawer is open; provided by the `App`.
#[derive(Clone, Copy)]
pub struct Drawers {
    open: RwSignal<Option<Drawer>>,
    /// Whether the tree covers the whole page (Escape leaves it first).
    pub tree_full_screen: RwSignal<bool>,
}

impl Drawers {
    /// Creates the state and provides it as context.
    pub fn provide() -> Self {
        let drawers = Drawers {
            open: RwSignal::new(None),
            tree_full_screen: RwSignal::new(false),
        };
        provide_context(drawers);
        drawers
    }

    pub fn is_open(&self, drawer: Drawer) -> bool {
        self.open.get() == Some(drawer)
    }

    fn toggle(&self, drawer: Drawer) {
        self.open
            .update(|open| *open = (*open != Some(drawer)).then_some(drawer));
    }

    /// Closes any drawer and leaves full screen.
    pub fn close(&self) {
        self.open.set(None);
        self.tree_full_screen.set(false);
    }
}

/// The button that opens (or closes) `drawer`; shown on narrow screens only.
#[component]
pub fn DrawerToggle(drawer: Drawer) -> impl IntoView {
    let drawers = expect_context::<Drawers>();
    let (class, label, text, controls) = match drawer {
        Drawer::Conversations => (
            "drawer-toggle open-conversations",
            "Conversations",
            "☰",
            "sidebar",
        ),
        Drawer::Tree => ("drawer-toggle open-tree", "Tree", "Tree", "tree-panel"),
    };
    view! {
        <button
            class=class
            aria-label=label
            aria-controls=controls
            aria-expanded=move || drawers.is_open(drawer).to_string()
            on:click=move |_| drawers.toggle(drawer)
        >
            {text}
        </button>
    }
    .into_any()
}

/// Dims the page behind an open drawer; a click, Escape or a new page closes it.
#[component]
pub fn DrawerBackdrop() -> impl IntoView {
    let drawers = expect_context::<Drawers>();
    let location = use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|p| p != path) {
            drawers.close();
        }
        path
    });
    let _ = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            if drawers.tree_full_screen.get_untracked() {
                drawers.tree_full_screen.set(false);
            } else {
                drawers.close();
            }
        }
    });
    view! {
        <Show when=move || drawers.open.get().is_some()>
            <div class="drawer-backdrop" on:click=move |_| drawers.close()></div>
        </Show>
    }
    .into_any()
}
