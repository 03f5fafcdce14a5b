//! The importers on realistic files written in each app's own format
//! (`tests/fixtures/import/`, described in its README): every branch kept,
//! hidden nodes left out, the shown branch, odd content kept as text.

use app::domain::model::{MessageNode, MessageStatus, Role};
use server::transfer::archive::ArchivedConversation;
use server::transfer::{decode, ImportLimits, SourceFormat};

const LIMITS: ImportLimits = ImportLimits {
    max_unpacked_bytes: 64 << 20,
};

fn read(file: &str) -> (SourceFormat, Vec<ArchivedConversation>) {
    let path = format!(
        "{}/tests/fixtures/import/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let decoded = decode(&bytes, LIMITS, 1_000).unwrap_or_else(|e| panic!("{file}: {e}"));
    let conversations = decoded
        .conversations
        .into_iter()
        .map(|c| c.unwrap_or_else(|e| panic!("{file}: {} {}", e.conversation, e.reason)))
        .collect();
    (decoded.format, conversations)
}

fn titled<'a>(conversations: &'a [ArchivedConversation], title: &str) -> &'a ArchivedConversation {
    conversations
        .iter()
        .find(|c| c.title == title)
        .unwrap_or_else(|| panic!("no conversation titled {title}"))
}

/// The message whose text contains `text` (exactly one must).
fn node<'a>(conversation: &'a ArchivedConversation, text: &str) -> &'a MessageNode {
    let found: Vec<&MessageNode> = conversation
        .messages
        .iter()
        .filter(|m| m.content.contains(text) || m.note.as_deref().is_some_and(|n| n.contains(text)))
        .collect();
    assert_eq!(found.len(), 1, "messages containing {text:?}");
    found[0]
}

fn parent<'a>(
    conversation: &'a ArchivedConversation,
    child: &MessageNode,
) -> Option<&'a MessageNode> {
    let id = child.parent_id?;
    conversation.messages.iter().find(|m| m.id == id)
}

fn assert_child_of(conversation: &ArchivedConversation, child: &str, parent_text: &str) {
    let child = node(conversation, child);
    let parent = parent(conversation, child).expect("has a parent");
    assert!(
        parent.content.contains(parent_text),
        "{:?} is under {:?}",
        child.content,
        parent.content
    );
}

fn shown(conversation: &ArchivedConversation) -> &MessageNode {
    let id = conversation.active_leaf_id.expect("a shown leaf");
    conversation
        .messages
        .iter()
        .find(|m| m.id == id)
        .expect("the shown leaf exists")
}

fn assert_shape(
    conversation: &ArchivedConversation,
    messages: usize,
    leaves: usize,
    shown_starts: &str,
) {
    assert_eq!(
        conversation.messages.len(),
        messages,
        "{}: messages",
        conversation.title
    );
    assert_eq!(
        conversation.leaf_count(),
        leaves,
        "{}: leaves",
        conversation.title
    );
    assert!(
        shown(conversation).content.starts_with(shown_starts),
        "{}: shown {:?}",
        conversation.title,
        shown(conversation).content
    );
}

fn check_chatgpt(conversations: &[ArchivedConversation]) {
    assert_eq!(conversations.len(), 2);
    let lisbon = titled(conversations, "Trip to Lisbon");
    assert_shape(lisbon, 15, 3, "Lisbon with kids is a great idea! Here a");
    let roots: Vec<&MessageNode> = lisbon
        .messages
        .iter()
        .filter(|m| m.parent_id.is_none())
        .collect();
    assert_eq!(roots.len(), 2, "the edited first question: two roots");
    assert_eq!(shown(lisbon).model.as_deref(), Some("chatgpt/gpt-4o-mini"));
    assert_child_of(
        lisbon,
        "Lisbon with kids is a great idea!",
        "for 3 days in June",
    );
    assert_child_of(lisbon, "Great choice! A kid-friendly", "for 3 days in June");
    let image = node(lisbon, "This is our hotel (pin on the map).");
    assert!(
        image.content.contains("[image: file-service://file-abc123"),
        "{}",
        image.content
    );
    assert!(
        !image.content.contains("asset_pointer"),
        "the image is named, not dumped"
    );
    let thoughts = node(lisbon, "Estimating the walk from the hotel pin");
    assert!(thoughts.content.contains("haversine formula"));
    assert_eq!(thoughts.model.as_deref(), Some("chatgpt/o3"));
    node(lisbon, "Thought for 9 seconds");
    let code = node(lisbon, "def haversine(lat1, lon1, lat2, lon2):");
    assert!(
        code.content.starts_with("**To python:**"),
        "{}",
        code.content
    );
    let output = node(lisbon, "(1.02, 18)");
    assert_eq!(
        (output.role, output.model.as_deref()),
        (Role::Tool, Some("python"))
    );
    // The empty assistant placeholder between them was left out.
    assert_child_of(
        lisbon,
        "search(\"Oceanário de Lisboa opening hours June 2025\")",
        "(1.02, 18)",
    );
    let browsing = node(lisbon, "Open every day from 10:00 to 20:00");
    assert_eq!(browsing.model.as_deref(), Some("browser"));
    assert!(
        lisbon.messages.iter().all(|m| m.role != Role::System),
        "hidden system nodes left out"
    );
    assert!(
        lisbon.created_at > 1_600_000_000_000,
        "times kept in milliseconds"
    );
    let regex = titled(conversations, "Regex for ISO 8601 dates");
    assert_shape(regex, 4, 1, "No. A regex only checks the shape of the");
    assert_eq!(shown(regex).model.as_deref(), Some("chatgpt/gpt-4"));
}

#[test]
fn chatgpt_conversations_json_keeps_every_branch_and_the_current_node() {
    let (format, conversations) = read("chatgpt_conversations.json");
    assert_eq!(format, SourceFormat::ChatGpt);
    check_chatgpt(&conversations);
}

#[test]
fn chatgpt_export_zip_is_read_through_its_conversations_json() {
    let (format, conversations) = read("chatgpt_export.zip");
    assert_eq!(format, SourceFormat::ChatGpt);
    check_chatgpt(&conversations);
}

#[test]
fn open_webui_chats_keep_edits_model_siblings_and_errors() {
    let (format, conversations) = read("open_webui_chats.json");
    assert_eq!(format, SourceFormat::OpenWebUi);
    assert_eq!(conversations.len(), 2);
    let sourdough = titled(&conversations, "Sourdough Starter Troubleshooting");
    // The failed reply is kept, as an error with Open WebUI's message.
    assert_shape(sourdough, 8, 4, "Around 24 °C is a comfortable temperatur");
    let failed = node(sourdough, "Ollama: 500");
    assert_eq!(failed.status, MessageStatus::Error);
    assert!(failed.content.is_empty());
    assert_child_of(
        sourdough,
        "At 24 °C a starter usually peaks",
        "How often should I feed it at 24°C?",
    );
    assert_eq!(
        shown(sourdough).model.as_deref(),
        Some("open-webui/qwen2.5:14b")
    );
    let docker = titled(&conversations, "Docker Compose Postgres Healthcheck");
    assert_shape(docker, 4, 1, "Use the long form of `depends_on` with a");
}

#[test]
fn librechat_nested_export_keeps_branches_parts_and_unfinished_replies() {
    let (format, conversations) = read("librechat_recursive.json");
    assert_eq!(format, SourceFormat::LibreChat);
    let [flaky] = conversations.as_slice() else {
        panic!("one conversation")
    };
    assert_eq!(flaky.title, "Flaky Postgres pytest fixture in CI");
    assert_shape(flaky, 9, 3, "One failure in five points to a race wit");
    assert!(
        flaky
            .messages
            .iter()
            .any(|m| m.content.contains("> **Thinking**")),
        "think parts kept"
    );
    assert!(
        flaky
            .messages
            .iter()
            .any(|m| m.content.contains("**Tool call:")),
        "tool calls kept"
    );
    assert!(flaky
        .messages
        .iter()
        .any(|m| m.status == MessageStatus::Interrupted));
}

#[test]
fn librechat_flat_export_shows_the_newest_leaf() {
    let (format, conversations) = read("librechat_flat.json");
    assert_eq!(format, SourceFormat::LibreChat);
    let [hike] = conversations.as_slice() else {
        panic!("one conversation")
    };
    assert_eq!(hike.title, "Dolomites Hut Hike Packing List");
    assert_shape(hike, 7, 2, "Only if your route includes a via ferrat");
}

#[test]
fn anthropic_transcript_is_one_branch_with_tool_use_and_results() {
    let (format, conversations) = read("anthropic_messages.json");
    assert_eq!(format, SourceFormat::AnthropicMessages);
    let [chat] = conversations.as_slice() else {
        panic!("one conversation")
    };
    assert!(
        !chat.system_prompt.is_empty(),
        "`system` becomes the system prompt"
    );
    assert_shape(chat, 8, 1, "Rain until about 15:00, then just cloudy");
    let call = chat
        .messages
        .iter()
        .find(|m| m.tool_calls.iter().any(|c| c.name == "find_cafes"));
    let call = call.expect("the tool_use block is a tool call");
    let result = chat
        .messages
        .iter()
        .find(|m| {
            m.role == Role::Tool
                && m.tool_call_id.as_deref() == Some(call.tool_calls[0].id.as_str())
        })
        .expect("its tool_result follows");
    assert_eq!(result.model.as_deref(), Some("find_cafes"));
}

#[test]
fn openai_messages_are_one_branch_with_tool_calls() {
    let (format, conversations) = read("openai_messages.json");
    assert_eq!(format, SourceFormat::OpenAiMessages);
    let [chat] = conversations.as_slice() else {
        panic!("one conversation")
    };
    assert!(!chat.system_prompt.is_empty());
    assert_shape(chat, 7, 1, "- The jacket in your photo is a light sh");
    let names: Vec<&str> = chat
        .messages
        .iter()
        .flat_map(|m| &m.tool_calls)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, vec!["get_weather", "convert_currency"]);
    assert!(
        chat.messages.iter().any(|m| m.content.contains("[image: ")),
        "image parts named"
    );
}
