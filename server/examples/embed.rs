//! Arbor embedded in a program: every call of the programmatic API
//! (`server::api::Arbor`), on a temporary SQLite file and the offline
//! model. Run it with `cargo run -p server --example embed`; `scripts/test.sh`
//! runs it too, so this example keeps working.

use app::domain::errors::AppError;
use server::api::Arbor;
use server::chat::actor::Parent;
use server::config::Config;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let database = dir.path().join("arbor.db").display().to_string();
    // Any ARBOR_* setting can be given here; the rest take their defaults.
    let config = Config::from_lookup(|name| match name {
        "ARBOR_DATABASE_URL" => Some(database.clone()),
        "ARBOR_OFFLINE_TOKEN_MS" => Some("0".into()),
        _ => None,
    })?;
    let arbor = Arbor::open(&config).await?;

    // One conversation: send a message and wait for the whole reply.
    let conversation = arbor.start_conversation().await?;
    let reply = arbor.ask(conversation, "What is a tree?").await?;
    println!("reply ({:?}): {}", reply.status, first_line(&reply.content));

    // Branch: a second reply to the same message, then a new root thread.
    let sibling = arbor.regenerate(conversation, reply.id).await?;
    arbor
        .wait_for_reply(conversation, sibling.assistant.id)
        .await?;
    let other = arbor
        .send_under(conversation, Parent::Root, "Another topic")
        .await?;
    arbor
        .wait_for_reply(conversation, other.assistant.id)
        .await?;

    // The shown branch, root first, and the conversation's figures.
    let branch = arbor.history(conversation, None).await?;
    println!("shown branch: {} messages", branch.len());
    let stats = arbor.stats(conversation).await?;
    println!(
        "stats: {} messages, {} branches, {} completion tokens, {} running",
        stats.messages, stats.branches, stats.completion_tokens, stats.running
    );

    // Many conversations at once: start them, broadcast, collect.
    let many = arbor.start_conversations(50).await?;
    let results = arbor.broadcast(&many, "Hello, all of you").await;
    let complete = results.iter().filter(|r| r.reply.is_ok()).count();
    println!("broadcast: {complete}/{} replies", results.len());
    println!("active conversations: {}", arbor.active_count());
    let listed = arbor.list().await?;
    let busy = listed.iter().filter(|c| c.is_busy()).count();
    println!("listed: {} conversations, {busy} busy", listed.len());

    // Interrupt a reply, and close a conversation (refused while busy).
    let slow = arbor.send(conversation, "One more").await?;
    match arbor.close(conversation).await {
        Err(AppError::Busy(why)) => println!("close refused: {why}"),
        other => println!("close: {other:?}"),
    }
    arbor.interrupt(conversation, slow.assistant.id).await?;
    arbor.close(conversation).await?;
    println!("closed; active conversations: {}", arbor.active_count());
    Ok(())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
