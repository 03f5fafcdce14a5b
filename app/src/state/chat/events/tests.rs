//! The event reducer, on plain state built from a snapshot (no browser).

use crate::domain::model::{
    ChatEvent, ConversationSettings, ConversationSummary, ConversationView, EffectiveModel,
    EventCursor, MessageNode, MessageStatus, NodeOutline, Role,
};
use crate::state::chat::ChatState;
use leptos::prelude::*;
use uuid::Uuid;

/// Runs `test` inside a reactive owner, as the page runs its state.
fn within(test: impl FnOnce()) {
    Owner::new().with(test);
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn node(
    n: u128,
    parent: Option<u128>,
    role: Role,
    text: &str,
    status: MessageStatus,
) -> MessageNode {
    MessageNode::new(id(n), parent.map(id), role, text, status, n as i64)
}

/// A snapshot holding `nodes`, showing the branch to `leaf`.
fn view(nodes: &[MessageNode], leaf: Option<u128>) -> ConversationView {
    ConversationView {
        summary: ConversationSummary {
            id: id(999),
            title: "Test".into(),
            created_at: 0,
            updated_at: 0,
        },
        outline: nodes.iter().map(NodeOutline::from).collect(),
        outline_complete: true,
        nodes: nodes.to_vec(),
        active_leaf_id: leaf.map(id),
        focus: None,
        cursor: EventCursor { epoch: 1, seq: 0 },
        model: EffectiveModel {
            key: "offline/arbor-offline".into(),
            offline: true,
            runs_here: false,
        },
        settings: ConversationSettings::default(),
        max_message_chars: 1000,
        system_prompt: String::new(),
        labels: Vec::new(),
        main_node_id: None,
        forked_from: None,
        replays: Vec::new(),
    }
}

/// A question (1) and its finished answer (2).
fn answered() -> ChatState {
    ChatState::new(&view(
        &[
            node(1, None, Role::User, "question", MessageStatus::Complete),
            node(
                2,
                Some(1),
                Role::Assistant,
                "answer",
                MessageStatus::Complete,
            ),
        ],
        Some(2),
    ))
}

fn text(state: &ChatState, n: u128) -> Option<String> {
    state.message(id(n)).map(|m| m.content.get_untracked())
}

fn status(state: &ChatState, n: u128) -> Option<MessageStatus> {
    state.message(id(n)).map(|m| m.status.get_untracked())
}

fn shown(state: &ChatState) -> Vec<Uuid> {
    untrack(|| state.path())
}

fn message(node: MessageNode) -> ChatEvent {
    ChatEvent::Message {
        node: Box::new(node),
    }
}

#[test]
fn a_message_below_the_shown_leaf_extends_the_shown_branch() {
    within(|| {
        let state = answered();
        state.apply(message(node(
            3,
            Some(2),
            Role::User,
            "more",
            MessageStatus::Complete,
        )));
        state.apply(message(node(
            4,
            Some(3),
            Role::Assistant,
            "",
            MessageStatus::Streaming,
        )));
        assert_eq!(shown(&state), vec![id(1), id(2), id(3), id(4)]);
        assert_eq!(status(&state, 4), Some(MessageStatus::Streaming));
    });
}

#[test]
fn a_message_elsewhere_joins_the_tree_without_moving_the_view() {
    within(|| {
        let state = answered();
        state.apply(message(node(
            3,
            Some(1),
            Role::Assistant,
            "other",
            MessageStatus::Complete,
        )));
        assert_eq!(shown(&state), vec![id(1), id(2)]);
        assert_eq!(state.tree.with_untracked(|t| t.siblings(id(2)).len()), 2);
    });
}

#[test]
fn deltas_append_in_order_and_done_ends_the_reply() {
    within(|| {
        let state = answered();
        state.apply(message(node(
            3,
            Some(2),
            Role::Assistant,
            "He",
            MessageStatus::Streaming,
        )));
        for piece in ["llo", ", ", "world"] {
            state.apply(ChatEvent::Delta {
                id: id(3),
                text: piece.into(),
            });
        }
        assert_eq!(text(&state, 3).as_deref(), Some("Hello, world"));
        state.apply(ChatEvent::Done {
            id: id(3),
            status: MessageStatus::Error,
            note: Some("the model failed".into()),
            usage: None,
            tool_calls: Vec::new(),
            highlighted_code: Vec::new(),
        });
        assert_eq!(status(&state, 3), Some(MessageStatus::Error));
        let note = state.message(id(3)).and_then(|m| m.note.get_untracked());
        assert_eq!(note.as_deref(), Some("the model failed"));
    });
}

#[test]
fn a_repeated_message_event_changes_nothing() {
    within(|| {
        let state = answered();
        state.apply(message(node(
            3,
            Some(2),
            Role::Assistant,
            "He",
            MessageStatus::Streaming,
        )));
        state.apply(ChatEvent::Delta {
            id: id(3),
            text: "llo".into(),
        });
        // A resumed stream may send the message again, with its first text.
        state.apply(message(node(
            3,
            Some(2),
            Role::Assistant,
            "He",
            MessageStatus::Streaming,
        )));
        assert_eq!(text(&state, 3).as_deref(), Some("Hello"));
        assert_eq!(state.tree.with_untracked(|t| t.len()), 3);
    });
}

#[test]
fn events_for_messages_the_page_does_not_know_are_ignored() {
    within(|| {
        let state = answered();
        state.apply(ChatEvent::Delta {
            id: id(7),
            text: "lost".into(),
        });
        state.apply(ChatEvent::Done {
            id: id(7),
            status: MessageStatus::Complete,
            note: None,
            usage: None,
            tool_calls: Vec::new(),
            highlighted_code: Vec::new(),
        });
        assert!(state.message(id(7)).is_none());
        // The message itself, arriving after, starts from its own text.
        state.apply(message(node(
            7,
            Some(2),
            Role::User,
            "late",
            MessageStatus::Complete,
        )));
        assert_eq!(text(&state, 7).as_deref(), Some("late"));
    });
}

#[test]
fn a_delta_for_a_text_not_loaded_yet_waits_for_the_load() {
    within(|| {
        let mut outline_only = view(
            &[
                node(1, None, Role::User, "question", MessageStatus::Complete),
                node(
                    2,
                    Some(1),
                    Role::Assistant,
                    "answer so far",
                    MessageStatus::Streaming,
                ),
            ],
            Some(2),
        );
        outline_only.nodes.retain(|n| n.id == id(1));
        let state = ChatState::new(&outline_only);
        state.apply(ChatEvent::Delta {
            id: id(2),
            text: " more".into(),
        });
        assert_eq!(
            text(&state, 2).as_deref(),
            Some(""),
            "nothing half-known is shown"
        );
        assert!(!state.is_loaded(id(2)));
    });
}

#[test]
fn pruned_nodes_leave_and_the_servers_leaf_is_shown() {
    within(|| {
        let state = answered();
        for (n, text) in [(3, "other"), (4, "newest")] {
            state.apply(message(node(
                n,
                Some(1),
                Role::Assistant,
                text,
                MessageStatus::Complete,
            )));
        }
        state.selected.set(Some(id(2)));
        state.apply(ChatEvent::Pruned {
            ids: vec![id(2)],
            active_leaf_id: Some(id(3)),
        });
        assert!(state.message(id(2)).is_none());
        // Not the newest sibling (4), where the page would go by itself.
        assert_eq!(shown(&state), vec![id(1), id(3)]);
        assert_eq!(
            state.selected.get_untracked(),
            None,
            "a pruned selection is dropped"
        );
        // Pruned twice (a repeated event): nothing more happens.
        state.apply(ChatEvent::Pruned {
            ids: vec![id(2)],
            active_leaf_id: Some(id(3)),
        });
        assert_eq!(shown(&state), vec![id(1), id(3)]);
    });
}

#[test]
fn restored_nodes_come_back_with_the_leaf_they_had() {
    within(|| {
        let state = answered();
        let reply = node(
            2,
            Some(1),
            Role::Assistant,
            "answer",
            MessageStatus::Complete,
        );
        state.apply(message(node(
            3,
            Some(1),
            Role::Assistant,
            "newer",
            MessageStatus::Complete,
        )));
        state.apply(ChatEvent::Pruned {
            ids: vec![id(2)],
            active_leaf_id: Some(id(3)),
        });
        assert_eq!(shown(&state), vec![id(1), id(3)]);
        state.apply(ChatEvent::Restored {
            nodes: vec![reply],
            active_leaf_id: Some(id(2)),
        });
        // The restored leaf, though 3 is newer and still there.
        assert_eq!(shown(&state), vec![id(1), id(2)]);
        assert_eq!(text(&state, 2).as_deref(), Some("answer"));
    });
}

#[test]
fn a_reset_takes_the_new_snapshot_and_keeps_the_messages_signals() {
    within(|| {
        let state = answered();
        let before = state.message(id(2)).map(|m| m.content).expect("the answer");
        let fresh = view(
            &[
                node(1, None, Role::User, "question", MessageStatus::Complete),
                node(
                    2,
                    Some(1),
                    Role::Assistant,
                    "answer",
                    MessageStatus::Complete,
                ),
                node(
                    5,
                    Some(1),
                    Role::Assistant,
                    "newer",
                    MessageStatus::Complete,
                ),
            ],
            Some(5),
        );
        state.replace_with(&fresh);
        assert_eq!(shown(&state), vec![id(1), id(5)]);
        assert_eq!(text(&state, 5).as_deref(), Some("newer"));
        // Components showing the answer hold its signal: it is still the one.
        before.set("seen through the old signal".into());
        assert_eq!(
            text(&state, 2).as_deref(),
            Some("seen through the old signal")
        );

        // A message gone from the new snapshot (pruned meanwhile) leaves.
        state.replace_with(&view(
            &[node(
                1,
                None,
                Role::User,
                "question",
                MessageStatus::Complete,
            )],
            Some(1),
        ));
        assert!(state.message(id(2)).is_none());
        assert_eq!(shown(&state), vec![id(1)]);
    });
}
