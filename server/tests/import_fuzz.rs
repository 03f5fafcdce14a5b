//! Property tests of every importer: arbitrary bytes and mutated valid
//! files (each app's fixture, and an Arbor archive) never panic, and every
//! conversation they yield is stored whole in a real database (SQLite or PostgreSQL), or
//! not at all.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use server::storage::Database;
use server::transfer::{decode, ImportLimits};
use std::collections::HashSet;
use uuid::Uuid;

const LIMITS: ImportLimits = ImportLimits {
    max_unpacked_bytes: 16 << 20,
};

const FIXTURES: [&str; 7] = [
    "chatgpt_conversations.json",
    "chatgpt_export.zip",
    "open_webui_chats.json",
    "librechat_recursive.json",
    "librechat_flat.json",
    "anthropic_messages.json",
    "openai_messages.json",
];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/import/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A small Arbor archive with a branch, a name, a main branch and a shown leaf.
fn arbor_archive() -> Value {
    let [a, b, c] = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    let node = |id: Uuid, parent: Option<Uuid>, role: &str, at: i64| {
        serde_json::json!({"id": id, "parent_id": parent, "role": role, "content": format!("text {at}"),
            "status": "complete", "model": null, "note": null, "last_active_at": null, "usage": null, "created_at": at})
    };
    serde_json::json!({"format": "arbor", "version": 1, "kind": "conversation", "exported_at": 1,
        "conversations": [{"id": Uuid::now_v7(), "title": "t", "created_at": 1, "updated_at": 3,
            "active_leaf_id": c, "main_node_id": b, "labels": [{"node_id": b, "name": "main"}],
            "messages": [node(a, None, "user", 1), node(b, Some(a), "assistant", 2), node(c, Some(a), "assistant", 3)]}]})
}

/// A deterministic generator of choices from one seed (xorshift).
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Some value somewhere in `value` (the root when it has no children).
fn somewhere<'a>(value: &'a mut Value, choices: &mut Choices) -> &'a mut Value {
    let depth = choices.below(12);
    let mut current = value;
    for _ in 0..depth {
        let len = match &*current {
            Value::Array(items) => items.len(),
            Value::Object(fields) => fields.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let pick = choices.below(len);
        current = match current {
            Value::Array(items) => &mut items[pick],
            Value::Object(fields) => fields.values_mut().nth(pick).expect("in range"),
            other => other,
        };
    }
    current
}

/// One change a broken export might have: a field removed, retyped,
/// emptied, or an id (or any value) copied over another.
fn mutate(value: &mut Value, choices: &mut Choices) {
    let donor = somewhere(value, choices).clone();
    let target = somewhere(value, choices);
    match choices.below(6) {
        0 => {
            if let Value::Object(fields) = target {
                let keys: Vec<String> = fields.keys().cloned().collect();
                if !keys.is_empty() {
                    fields.remove(&keys[choices.below(keys.len())]);
                }
            }
        }
        1 => *target = Value::Null,
        2 => *target = Value::from(-1.5e300),
        3 => *target = Value::from("x"),
        4 => *target = Value::Array(Vec::new()),
        _ => *target = donor,
    }
}

struct Sink {
    runtime: tokio::runtime::Runtime,
    database: Database,
    owner: Uuid,
    _dir: tempfile::TempDir,
    /// Messages of every conversation stored so far.
    stored_messages: std::cell::Cell<usize>,
}

impl Sink {
    fn new() -> Sink {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let url = runtime
            .block_on(common::database::TestDatabase::for_folder(dir.path()))
            .url();
        let database = runtime
            .block_on(server::storage::connect(&url))
            .expect("the database opens");
        let owner = runtime
            .block_on(database.store.local_user())
            .expect("the local user");
        Sink {
            runtime,
            database,
            owner,
            _dir: dir,
            stored_messages: std::cell::Cell::new(0),
        }
    }

    /// Imports `bytes` as the server does; every valid conversation must be
    /// stored whole.
    fn import(&self, bytes: &[u8]) -> Result<(), TestCaseError> {
        let Ok(decoded) = decode(bytes, LIMITS, 0) else {
            return Ok(());
        };
        for conversation in decoded.conversations.into_iter().flatten() {
            let count = conversation.messages.len();
            let store = self.database.store.clone();
            let (summary, _) = self
                .runtime
                .block_on(store.import_conversation(self.owner, conversation))
                .map_err(|e| {
                    TestCaseError::fail(format!("a valid conversation was refused: {e}"))
                })?;
            let stored = self
                .runtime
                .block_on(store.messages(summary.id))
                .expect("readable");
            prop_assert_eq!(stored.len(), count);
            let ids: HashSet<Uuid> = stored.iter().map(|m| m.node.id).collect();
            prop_assert!(stored
                .iter()
                .all(|m| m.node.parent_id.is_none_or(|p| ids.contains(&p))));
            self.stored_messages.set(self.stored_messages.get() + count);
        }
        Ok(())
    }

    /// No message is stored beyond those of whole conversations.
    fn assert_nothing_partial(&self) {
        let store = self.database.store.clone();
        let total: usize = self.runtime.block_on(async {
            let mut total = 0;
            for conversation in store.list_conversations(self.owner).await.expect("listed") {
                total += store
                    .messages(conversation.id)
                    .await
                    .expect("readable")
                    .len();
            }
            total
        });
        assert_eq!(total, self.stored_messages.get());
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn arbitrary_bytes_never_panic() {
    let prefixes: [&[u8]; 5] = [
        b"",
        b"\x1f\x8b",
        b"PK\x03\x04",
        b"{\"format\":\"arbor\",\"version\":1,",
        b"[{\"mapping\":",
    ];
    let sink = Sink::new();
    runner(256)
        .run(
            &(
                0..prefixes.len(),
                proptest::collection::vec(any::<u8>(), 0..2048),
            ),
            |(prefix, tail)| {
                let mut bytes = prefixes[prefix].to_vec();
                bytes.extend(tail);
                sink.import(&bytes)
            },
        )
        .expect("no case fails");
    sink.assert_nothing_partial();
}

#[test]
fn mutated_valid_files_never_panic_and_are_stored_whole_or_not_at_all() {
    let mut files: Vec<Value> = FIXTURES
        .iter()
        .filter(|name| name.ends_with(".json"))
        .map(|name| serde_json::from_slice(&fixture(name)).expect("a fixture is JSON"))
        .collect();
    files.push(arbor_archive());
    let sink = Sink::new();
    runner(384)
        .run(
            &(0..files.len(), any::<u64>(), 1..8usize),
            |(which, seed, changes)| {
                let mut value = files[which].clone();
                let mut choices = Choices(seed | 1);
                for _ in 0..changes {
                    mutate(&mut value, &mut choices);
                }
                sink.import(&serde_json::to_vec(&value).expect("serializes"))
            },
        )
        .expect("no case fails");
    sink.assert_nothing_partial();
    assert!(
        sink.stored_messages.get() > 0,
        "some mutated files still import"
    );
}

#[test]
fn corrupted_bytes_of_every_fixture_never_panic() {
    let files: Vec<Vec<u8>> = FIXTURES.iter().map(|name| fixture(name)).collect();
    let sink = Sink::new();
    runner(256)
        .run(
            &(0..files.len(), any::<u64>(), 1..16usize),
            |(which, seed, flips)| {
                let mut bytes = files[which].clone();
                let mut choices = Choices(seed | 1);
                for _ in 0..flips {
                    let at = choices.below(bytes.len());
                    bytes[at] = choices.below(256) as u8;
                }
                if choices.below(4) == 0 {
                    bytes.truncate(choices.below(bytes.len()));
                }
                sink.import(&bytes)
            },
        )
        .expect("no case fails");
    sink.assert_nothing_partial();
}
