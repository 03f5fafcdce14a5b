//! The drawing of the conversation tree inside its frame. The frame is the
//! one focusable element (an ARIA tree whose active descendant is the node
//! under the keyboard cursor): arrow keys move, Enter shows the node's
//! branch, Space collapses or expands it; the wheel pans (with Ctrl, zooms),
//! dragging pans, a click shows the branch of the node under the pointer,
//! and hovering previews a node's text.

use crate::components::drawers::Drawers;
use crate::components::message::scroll_message_into_view;
use crate::domain::model::{MessageStatus, Role};
use crate::state::chat::{use_chat, ChatState};
use crate::text::preview::preview;
use crate::tree_view::drawing::{
    branch_paths, centre, node_at, size, Drawing, MARKED_STATUSES, RADIUS, ROLES,
};
use crate::tree_view::layout::Layout;
use crate::tree_view::nav::{step, TreeMove};
use crate::tree_view::viewport::Viewport;
use leptos::html::Div;
use leptos::prelude::*;
use std::collections::HashSet;
use uuid::Uuid;

/// How far (in screen pixels) a pointer may move before a press becomes a drag.
const DRAG_THRESHOLD: f64 = 4.0;

/// What the tree view shows and where: shared by the toolbar and the drawing.
#[derive(Clone, Copy)]
pub struct TreeView {
    pub viewport: RwSignal<Viewport>,
    /// Nodes whose subtrees are folded away.
    pub collapsed: RwSignal<HashSet<Uuid>>,
    /// The node the keyboard moved to (`None`: the displayed branch's end).
    pub cursor: RwSignal<Option<Uuid>>,
    /// The drawn nodes.
    pub layout: Memo<Layout>,
    /// The node the cursor is on, or its nearest drawn ancestor.
    pub current: Memo<Option<Uuid>>,
    /// The nodes of the displayed branch.
    pub on_branch: Memo<HashSet<Uuid>>,
    /// The frame's last measured width and height.
    pub frame_size: RwSignal<(f64, f64)>,
    pub full_screen: RwSignal<bool>,
    pub frame: NodeRef<Div>,
}

impl TreeView {
    pub fn new(state: ChatState) -> Self {
        let collapsed = RwSignal::new(HashSet::new());
        let cursor = RwSignal::new(None);
        let layout = Memo::new(move |_| {
            collapsed.with(|c| state.tree.with(|tree| Layout::with_collapsed(tree, c)))
        });
        let current = Memo::new(move |_| {
            let wanted = cursor.get().or(state.active_leaf.get())?;
            state
                .tree
                .with(|tree| layout.with(|l| l.nearest_shown(tree, wanted)))
        });
        TreeView {
            viewport: RwSignal::new(Viewport::default()),
            collapsed,
            cursor,
            layout,
            current,
            on_branch: Memo::new(move |_| state.path().into_iter().collect()),
            frame_size: RwSignal::new((300.0, 400.0)),
            full_screen: expect_context::<Drawers>().tree_full_screen,
            frame: NodeRef::new(),
        }
    }

    fn measure(&self) -> (f64, f64) {
        if let Some(size) = dom::frame_size(self.frame) {
            self.frame_size.set(size);
        }
        self.frame_size.get_untracked()
    }

    /// Zooms by `factor` about the middle of the frame.
    pub fn zoom(&self, factor: f64) {
        let (width, height) = self.measure();
        self.viewport
            .update(|v| *v = v.zoomed(factor, (width / 2.0, height / 2.0)));
    }

    /// Shows the whole tree.
    pub fn fit(&self) {
        let frame = self.measure();
        let content = self.layout.with_untracked(size);
        self.viewport.set(Viewport::fitting(content, frame));
    }

    /// Pans until `id` is well inside the frame.
    pub fn reveal(&self, id: Uuid) {
        let Some(point) = self.layout.with_untracked(|l| l.placement(id).map(centre)) else {
            return;
        };
        let frame = self.measure();
        let margin = 40.0 * self.viewport.get_untracked().scale.max(0.5);
        self.viewport
            .update(|v| *v = v.revealing(point, frame, margin));
    }

    /// Folds or unfolds the subtree below `id`.
    pub fn toggle_collapsed(&self, id: Uuid) {
        self.collapsed.update(|c| {
            if !c.remove(&id) {
                c.insert(id);
            }
        });
        self.cursor.set(Some(id));
    }

    /// Enters or leaves full screen, then shows the whole tree.
    pub fn toggle_full_screen(&self) {
        self.full_screen.update(|f| *f = !*f);
        let view = *self;
        dom::after_layout(move || view.fit());
    }
}

/// A press on the drawing that may become a drag.
#[derive(Clone, Copy)]
struct Press {
    start: (f64, f64),
    from: Viewport,
    moved: bool,
}

/// The frame with the drawing, the keyboard cursor and the preview.
#[component]
pub fn TreeCanvas(view: TreeView) -> impl IntoView {
    let state = use_chat();
    let drawing = Memo::new(move |_| view.layout.with(|l| Drawing::of(l, |id| state.look(id))));
    let branch = Memo::new(move |_| {
        view.on_branch
            .with(|on_branch| view.layout.with(|l| branch_paths(l, on_branch)))
    });
    let hovered = RwSignal::new(None::<Uuid>);
    let focused = RwSignal::new(false);
    let press = StoredValue::new(None::<Press>);
    let was_drag = StoredValue::new(false);

    // A branch switched elsewhere (the chat's `< >`, a new reply) moves
    // the cursor to the new branch's end unless it is on that branch.
    Effect::new(move |_| {
        let off_branch = view
            .cursor
            .get_untracked()
            .is_some_and(|c| !view.on_branch.with(|b| b.contains(&c)));
        if off_branch {
            view.cursor.set(None);
        }
    });
    // Keep the cursor in sight.
    Effect::new(move |_| {
        if let Some(id) = view.current.get() {
            view.reveal(id);
        }
    });

    let node_under = move |client: (f64, f64)| -> Option<Uuid> {
        let point = dom::frame_point(view.frame, client)?;
        let viewport = view.viewport.get_untracked();
        let reach = (RADIUS + 4.0).max(10.0 / viewport.scale);
        view.layout
            .with_untracked(|l| node_at(l, viewport.to_drawing(point), reach))
    };
    let pick = move |id: Uuid| {
        state.selected.set(Some(id));
        view.cursor.set(Some(id));
        state.reveal(id);
        scroll_message_into_view(id);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let key = ev.key();
        let current = view.current.get_untracked();
        if let Some(movement) = TreeMove::from_key(&key) {
            ev.prevent_default();
            let next = current.and_then(|from| {
                state
                    .tree
                    .with_untracked(|t| view.layout.with_untracked(|l| step(t, l, from, movement)))
            });
            if let Some(next) = next {
                view.cursor.set(Some(next));
            }
            return;
        }
        match (key.as_str(), current) {
            ("Enter", Some(id)) => pick(id),
            (" ", Some(id)) => view.toggle_collapsed(id),
            ("+" | "=", _) => view.zoom(1.25),
            ("-" | "_", _) => view.zoom(0.8),
            ("0", _) => view.fit(),
            ("f" | "F", _) => view.toggle_full_screen(),
            _ => return,
        }
        ev.prevent_default();
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        let Some(point) =
            dom::frame_point(view.frame, (ev.client_x() as f64, ev.client_y() as f64))
        else {
            return;
        };
        ev.prevent_default();
        // Lines (Firefox) or pixels.
        let unit = if ev.delta_mode() == 1 { 16.0 } else { 1.0 };
        let (dx, dy) = (ev.delta_x() * unit, ev.delta_y() * unit);
        if ev.ctrl_key() || ev.meta_key() {
            view.viewport
                .update(|v| *v = v.zoomed((-dy * 0.002).exp(), point));
        } else if ev.shift_key() {
            view.viewport.update(|v| *v = v.panned(-dy, -dx));
        } else {
            view.viewport.update(|v| *v = v.panned(-dx, -dy));
        }
    };
    let on_pointer_down = move |ev: leptos::ev::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        press.set_value(Some(Press {
            start: (ev.client_x() as f64, ev.client_y() as f64),
            from: view.viewport.get_untracked(),
            moved: false,
        }));
        dom::capture_pointer(view.frame, ev.pointer_id());
    };
    let on_pointer_move = move |ev: leptos::ev::PointerEvent| {
        let client = (ev.client_x() as f64, ev.client_y() as f64);
        let Some(mut held) = press.get_value() else {
            let under = node_under(client);
            if hovered.get_untracked() != under {
                hovered.set(under);
            }
            return;
        };
        let (dx, dy) = (client.0 - held.start.0, client.1 - held.start.1);
        if held.moved || dx.hypot(dy) > DRAG_THRESHOLD {
            held.moved = true;
            press.set_value(Some(held));
            hovered.set(None);
            view.viewport.set(held.from.panned(dx, dy));
        }
    };
    let on_pointer_up = move |_: leptos::ev::PointerEvent| {
        if let Some(held) = press.get_value() {
            was_drag.set_value(held.moved);
        }
        press.set_value(None);
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if was_drag.get_value() {
            was_drag.set_value(false);
            return;
        }
        if let Some(id) = node_under((ev.client_x() as f64, ev.client_y() as f64)) {
            pick(id);
        }
    };
    let on_double_click = move |ev: leptos::ev::MouseEvent| {
        if let Some(id) = node_under((ev.client_x() as f64, ev.client_y() as f64)) {
            view.toggle_collapsed(id);
        }
    };

    let active_id = move || view.current.get().map(|id| format!("tree-node-{id}"));
    view! {
        <div
            class="tree-frame"
            node_ref=view.frame
            tabindex="0"
            role="tree"
            aria-label="Messages as a tree"
            aria-describedby="tree-keys"
            aria-activedescendant=active_id
            on:keydown=on_key
            on:wheel=on_wheel
            on:pointerdown=on_pointer_down
            on:pointermove=on_pointer_move
            on:pointerup=on_pointer_up
            on:pointercancel=on_pointer_up
            on:pointerleave=move |_| hovered.set(None)
            on:click=on_click
            on:dblclick=on_double_click
            on:focus=move |_| focused.set(true)
            on:blur=move |_| focused.set(false)
        >
            <svg class="tree" width="100%" height="100%">
                <g class="tree-world" transform=move || view.viewport.get().transform()>
                    <path class="edges" d=move || drawing.with(|d| d.edges.clone())></path>
                    <path class="edges on-path" d=move || branch.with(|b| b.0.clone())></path>
                    {ROLES
                        .iter()
                        .enumerate()
                        .map(|(i, role)| {
                            view! {
                                <path
                                    class=format!("dots {}", role.as_str())
                                    d=move || drawing.with(|d| d.dots[i].clone())
                                ></path>
                            }
                        })
                        .collect_view()}
                    {MARKED_STATUSES
                        .iter()
                        .enumerate()
                        .map(|(i, status)| {
                            view! {
                                <path
                                    class=format!("status-ring {}", status.as_str())
                                    d=move || drawing.with(|d| d.status_rings[i].clone())
                                ></path>
                            }
                        })
                        .collect_view()}
                    <path class="branch-rings" d=move || branch.with(|b| b.1.clone())></path>
                    <CollapsedMarks view/>
                    <SelectedRing view state/>
                    <Cursor view state focused/>
                </g>
            </svg>
            <Preview view state hovered focused/>
        </div>
    }
    .into_any()
}

/// "+N" beside each collapsed node.
#[component]
fn CollapsedMarks(view: TreeView) -> impl IntoView {
    move || {
        view.layout.with(|l| {
            l.nodes
                .iter()
                .filter(|p| p.hidden > 0)
                .map(|p| {
                    let (x, y) = centre(p);
                    view! {
                        <circle class="collapsed" cx=x cy=y r=RADIUS + 3.0></circle>
                        <text class="hidden-count" x=x + RADIUS + 5.0 y=y + 4.0>
                            {format!("+{}", p.hidden)}
                        </text>
                    }
                })
                .collect_view()
        })
    }
}

/// A ring around the picked node (or the displayed branch's end).
#[component]
fn SelectedRing(view: TreeView, state: ChatState) -> impl IntoView {
    let spot = move || {
        let id = state.selected.get().or(state.active_leaf.get())?;
        view.layout.with(|l| l.placement(id).map(centre))
    };
    move || {
        spot().map(|(x, y)| {
            view! { <circle class="selected-ring" cx=x cy=y r=RADIUS + 5.5></circle> }
        })
    }
}

/// The keyboard cursor: the tree's active descendant, labelled for screen readers.
#[component]
fn Cursor(view: TreeView, state: ChatState, focused: RwSignal<bool>) -> impl IntoView {
    move || {
        let id = view.current.get()?;
        let placement = view.layout.with(|l| l.placement(id).copied())?;
        let (x, y) = centre(&placement);
        let (position, siblings) = state
            .tree
            .with(|t| t.sibling_position(id))
            .unwrap_or((1, 1));
        let has_children = state.tree.with(|t| !t.children(Some(id)).is_empty());
        let on_branch = view.on_branch.with(|b| b.contains(&id));
        let label = describe(state, id, on_branch, placement.hidden);
        Some(view! {
            <g
                class="tree-cursor"
                class:focused=move || focused.get()
                id=format!("tree-node-{id}")
                data-node-id=id.to_string()
                role="treeitem"
                aria-label=label
                aria-level=placement.row + 1
                aria-posinset=position
                aria-setsize=siblings
                aria-expanded=has_children.then(|| (placement.hidden == 0).to_string())
                aria-selected=on_branch.to_string()
                transform=format!("translate({x} {y})")
            >
                <circle r=RADIUS + 6.0></circle>
            </g>
        })
    }
}

/// What a screen reader says for a node.
fn describe(state: ChatState, id: Uuid, on_branch: bool, hidden: usize) -> String {
    let Some(message) = state.message(id) else {
        return String::new();
    };
    let role = match message.role {
        Role::System => "System",
        Role::User => "User",
        Role::Assistant => "Assistant",
        Role::Tool => "Tool",
    };
    let status = message.status.get();
    // Said again once the text arrives, not at every streamed word.
    message.loaded.track();
    let mut label = format!(
        "{role} message: {}",
        preview(&message.content.get_untracked(), 80)
    );
    if status != MessageStatus::Complete {
        label.push_str(&format!(" ({})", status.as_str()));
    }
    if on_branch {
        label.push_str(", on the shown branch");
    }
    if hidden > 0 {
        label.push_str(&format!(", collapsed, {hidden} hidden"));
    }
    label
}

/// The text of the node under the pointer (or, while the tree has focus,
/// under the cursor), beside it.
#[component]
fn Preview(
    view: TreeView,
    state: ChatState,
    hovered: RwSignal<Option<Uuid>>,
    focused: RwSignal<bool>,
) -> impl IntoView {
    move || {
        let id = hovered
            .get()
            .or_else(|| focused.get().then(|| view.current.get()).flatten())?;
        let point = view.layout.with(|l| l.placement(id).map(centre))?;
        let message = state.message(id)?;
        if !message.loaded.get_untracked() {
            state.spawn(async move { state.load(&[id]).await });
        }
        let (x, y) = view.viewport.get().to_screen(point);
        let (width, _) = view.frame_size.get();
        // Set through the style object (not a `style` attribute), which the
        // Content-Security-Policy allows.
        let (left, right) = if x > width / 2.0 {
            (None, Some(format!("{:.0}px", width - x + 14.0)))
        } else {
            (Some(format!("{:.0}px", x + 14.0)), None)
        };
        let role = message.role.as_str();
        let content = message.content;
        Some(view! {
            <div
                class=format!("tree-preview {role}")
                role="tooltip"
                style:left=left
                style:right=right
                style:top=format!("{:.0}px", y + 10.0)
            >
                <strong>{role}</strong>
                " "
                {move || preview(&content.get(), 160)}
            </div>
        })
    }
}

/// Measuring the frame and the page around it (browser only).
#[cfg(feature = "hydrate")]
mod dom {
    use leptos::html::Div;
    use leptos::prelude::*;

    pub fn frame_size(frame: NodeRef<Div>) -> Option<(f64, f64)> {
        let element = frame.get_untracked()?;
        Some((
            element.client_width() as f64,
            element.client_height() as f64,
        ))
    }

    /// A viewport point relative to the frame's top left corner.
    pub fn frame_point(frame: NodeRef<Div>, client: (f64, f64)) -> Option<(f64, f64)> {
        let rect = frame.get_untracked()?.get_bounding_client_rect();
        Some((client.0 - rect.left(), client.1 - rect.top()))
    }

    pub fn capture_pointer(frame: NodeRef<Div>, pointer: i32) {
        if let Some(element) = frame.get_untracked() {
            _ = element.set_pointer_capture(pointer);
        }
    }

    /// Runs `f` once the page has been laid out again.
    pub fn after_layout(f: impl FnOnce() + 'static) {
        request_animation_frame(f);
    }
}

#[cfg(not(feature = "hydrate"))]
mod dom {
    use leptos::html::Div;
    use leptos::prelude::*;

    pub fn frame_size(_: NodeRef<Div>) -> Option<(f64, f64)> {
        None
    }
    pub fn frame_point(_: NodeRef<Div>, _: (f64, f64)) -> Option<(f64, f64)> {
        None
    }
    pub fn capture_pointer(_: NodeRef<Div>, _: i32) {}
    pub fn after_layout(_: impl FnOnce() + 'static) {}
}
