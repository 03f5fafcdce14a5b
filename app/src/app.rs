//! The document shell and the top-level component with its routes.

use crate::components::drawers::{Drawer, DrawerBackdrop, Drawers};
use crate::components::error_page::NotFoundPage;
use crate::components::sidebar::Sidebar;
use crate::routes::sign_in::{SignInPage, SignUpPage};
use crate::routes::{admin::AdminPage, chat::ChatPage, home::HomePage};
use crate::state::conversation_list::ConversationList;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Outlet, ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: the sign-in pages, and the signed-in pages inside the
/// layout (sidebar plus the routed page).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();
    view! {
        <Title text="Arbor"/>
        // Shown by the stylesheet only until the app has taken over, or
        // when scripts are off.
        <p class="app-note app-loading" role="status">
            "Loading: you can read and send now; the other buttons work in a moment."
        </p>
        <p class="app-note no-script">
            "Scripts are off: you can read and send messages; branches, the tree and the other buttons need JavaScript."
        </p>
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/login") view=SignInPage/>
                <Route path=path!("/signup") view=SignUpPage/>
                <ParentRoute path=path!("") view=SignedInLayout>
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/c/:id") view=ChatPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The frame of every signed-in page: the conversation list, the drawers,
/// and the page itself.
#[component]
fn SignedInLayout() -> impl IntoView {
    ConversationList::provide();
    let drawers = Drawers::provide();
    view! {
        <div
            class="layout"
            class:conversations-open=move || drawers.is_open(Drawer::Conversations)
            class:tree-open=move || drawers.is_open(Drawer::Tree)
        >
            <Sidebar/>
            <DrawerBackdrop/>
            <main class="main">
                <Outlet/>
            </main>
        </div>
    }
    .into_any()
}

/// Marks `<body data-hydrated>` once the WASM app has taken over the
/// server-rendered page, so browser tests can wait for a live page.
fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(body) = document().body() {
            _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
