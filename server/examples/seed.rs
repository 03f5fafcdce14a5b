//! Fills a database (a SQLite file, or a `postgres://` URL) with one large conversation, for browser tests of big
//! trees and for the long-conversation benchmark. Writes through Arbor's
//! own storage layer (migrations included) and prints the new
//! conversation's id.
//!
//! ```sh
//! cargo run -p server --example seed -- DATABASE NODES [bushy|line] [TITLE]
//! ```
//!
//! Message `i` (0-based) says `Message #i`; roles alternate by depth, user
//! first. `line` is one branch of `NODES` messages. `bushy` is runs of
//! eight messages, each new run starting under an earlier message picked by
//! a fixed hash, so the tree is the same every time. The last message is
//! the shown branch's end.

use app::domain::model::{MessageNode, MessageStatus, Role};
use server::storage::StoredMessage;
use std::process::ExitCode;
use uuid::Uuid;

/// Which message each message is a reply to.
fn parent_index(i: usize, bushy: bool) -> Option<usize> {
    match i {
        0 => None,
        _ if !bushy || !i.is_multiple_of(8) => Some(i - 1),
        // A multiplicative hash: spread over every earlier message.
        _ => Some(((i as u64).wrapping_mul(2_654_435_761) >> 8) as usize % i),
    }
}

async fn seed(url: &str, count: usize, bushy: bool, title: &str) -> Result<Uuid, String> {
    let store = server::storage::connect(url)
        .await
        .map_err(|e| e.to_string())?
        .store;
    let owner = store.local_user().await.map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    let conversation = store
        .create_conversation(owner, now)
        .await
        .map_err(|e| e.to_string())?;
    store
        .rename_conversation(owner, conversation.id, title)
        .await
        .map_err(|e| e.to_string())?;
    let mut ids = Vec::with_capacity(count);
    let mut depths = Vec::with_capacity(count);
    let mut messages = Vec::with_capacity(count);
    for i in 0..count {
        let parent = parent_index(i, bushy);
        let depth = parent.map_or(0, |p| depths[p] + 1);
        let role = if depth % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        let id = Uuid::now_v7();
        let mut node = MessageNode::new(
            id,
            parent.map(|p| ids[p]),
            role,
            format!("Message #{i}"),
            MessageStatus::Complete,
            now - (count - i) as i64,
        );
        if role == Role::Assistant {
            node.model = Some("seed".into());
        }
        ids.push(id);
        depths.push(depth);
        messages.push(StoredMessage {
            node,
            client_id: None,
        });
    }
    // Batches keep each transaction bounded; the last batch's last
    // message ends up as the shown branch's end.
    for batch in messages.chunks(2_000) {
        let Some(shown) = batch.last().map(|m| m.node.id) else {
            continue;
        };
        store
            .insert_messages(conversation.id, batch, shown)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(conversation.id)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: seed DATABASE NODES [bushy|line] [TITLE]";
    let (Some(url), Some(count)) = (args.first(), args.get(1).and_then(|n| n.parse().ok())) else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let bushy = match args.get(2).map(String::as_str) {
        None | Some("bushy") => true,
        Some("line") => false,
        Some(other) => {
            eprintln!("unknown shape `{other}`; {usage}");
            return ExitCode::FAILURE;
        }
    };
    let title = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| format!("{count} messages"));
    match seed(url, count, bushy, &title).await {
        Ok(id) => {
            println!("{id}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("seed: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parent_index;

    #[test]
    fn every_parent_comes_before_its_child() {
        for i in 1..10_000 {
            assert!(parent_index(i, true).is_some_and(|p| p < i));
        }
        assert_eq!(parent_index(0, true), None);
        assert_eq!(parent_index(9, false), Some(8));
    }
}
