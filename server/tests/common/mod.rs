//! Test harness: starts the real `server` binary on a free loopback port
//! with its own database (a SQLite file, or a new PostgreSQL database: see
//! [`database`]), talks to it over HTTP (server functions and
//! Server-Sent Events), and kills it when dropped.

#![allow(dead_code)] // each test file uses a different part of the harness

pub mod database;
pub mod fake_anthropic;
pub mod fake_openai;
pub mod fake_server;
pub mod postgres;

use app::domain::model::{
    ChatEvent, ConversationSummary, ConversationView, MessageNode, SendReceipt, StreamReader,
};
use database::TestDatabase;
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

/// The longest any single wait in a test may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The administrator every [`TestServer::start`] signs up first.
pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin password";

/// A running Arbor server, and a session signed in as [`ADMIN`] (or none,
/// with [`TestServer::start_without_accounts`]) that its helper methods use.
pub struct TestServer {
    child: Child,
    pub database: TestDatabase,
    pub session: Session,
    /// Everything the server has written to stderr so far (its log).
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl std::ops::Deref for TestServer {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

/// An error answer from the server: status and decoded body.
#[derive(Debug)]
pub struct Failure {
    pub status: u16,
    pub body: Value,
}

impl TestServer {
    /// Starts a server on the database in `dir` (made if new) with extra
    /// environment variables, and signs up its first account ([`ADMIN`]),
    /// or signs it in if the database has it. Sending is not rate limited
    /// unless `env` sets limits.
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> TestServer {
        let mut server = TestServer::start_without_accounts(dir, env).await;
        let session = match server.signed_in("sign_up", ADMIN, ADMIN_PASSWORD).await {
            Ok(session) => session,
            Err(_) => server
                .signed_in("log_in", ADMIN, ADMIN_PASSWORD)
                .await
                .expect("the administrator signs in"),
        };
        server.session = session;
        server
    }

    /// A session of `username` (created by the administrator) on this server.
    pub async fn new_user(&self, username: &str) -> Session {
        let password = format!("{username} password");
        let _: Value = self
            .call(
                "create_account",
                json!({ "username": username, "password": password, "is_admin": false }),
            )
            .await
            .expect("the administrator creates the account");
        Session::new(&self.base, None)
            .signed_in("log_in", username, &password)
            .await
            .expect("the new user signs in")
    }

    /// Like [`TestServer::start`], with nobody signed up (a first run).
    pub async fn start_without_accounts(dir: &Path, env: &[(&str, &str)]) -> TestServer {
        let database = TestDatabase::for_folder(dir).await;
        TestServer::start_on(dir, database, env).await
    }

    /// Starts a server on `database` (several may share one PostgreSQL
    /// database, as the nodes of a cluster), without signing anybody in.
    pub async fn start_on(dir: &Path, database: TestDatabase, env: &[(&str, &str)]) -> TestServer {
        // reqwest is built with rustls and no default crypto backend.
        _ = rustls::crypto::ring::default_provider().install_default();
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .env("ARBOR_ADDR", "127.0.0.1:0")
            .env("ARBOR_DATABASE_URL", database.url())
            .env("ARBOR_SITE_ROOT", dir.join("site"))
            .env("ARBOR_OFFLINE_TOKEN_MS", "0")
            // The deterministic offline model answers unless a test names
            // a model file (the fetched one may be in the cache folder).
            .env("ARBOR_LOCAL_MODEL", "off")
            .env("RUST_LOG", "warn")
            .env("ARBOR_SENDS_PER_MINUTE", "1000000")
            .env("ARBOR_SENDS_PER_MINUTE_PER_IP", "1000000")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the server binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let announced = tokio::time::timeout(PATIENCE, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("Arbor is listening on ") {
                    return Some(url.trim().to_string());
                }
            }
            None
        })
        .await;
        let base = match announced {
            Ok(Some(url)) => url,
            _ => {
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        err.read_to_string(&mut stderr),
                    )
                    .await;
                }
                panic!("the server did not announce its address; stderr:\n{stderr}");
            }
        };
        // Keep reading the log, so a chatty server never blocks on a full pipe.
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(mut log) = log.lock() {
                        log.push_str(&line);
                        log.push('\n');
                    }
                }
            });
        }
        TestServer {
            child,
            database,
            session: Session::new(&base, None),
            log,
        }
    }

    /// Runs the server with `args` and `env`, expecting it to refuse to
    /// start; returns what it wrote to stderr.
    pub async fn fails_to_start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .args(args)
            .env("ARBOR_ADDR", "127.0.0.1:0")
            .env(
                "ARBOR_DATABASE_URL",
                TestDatabase::for_folder(dir).await.url(),
            )
            .env("ARBOR_SITE_ROOT", dir.join("site"))
            .env("ARBOR_LOCAL_MODEL", "off")
            .envs(env.iter().copied())
            .kill_on_drop(true);
        let output = tokio::time::timeout(PATIENCE, command.output())
            .await
            .expect("the server exits in time")
            .expect("the server binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "the server started: {stdout}");
        assert!(!stdout.contains("listening"), "it never listened");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// Kills the process at once (SIGKILL), like a crash.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("the server can be killed");
    }

    /// Asks the process to stop (SIGTERM) and waits for it to exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("the server is running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM delivered");
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the server exits in time")
            .expect("exit status")
    }

    /// Polls the conversation until `message` is no longer streaming and
    /// every write its ending sets off has landed (see [`Self::settle`]),
    /// then checks that the database file holds exactly what the server
    /// shows.
    pub async fn wait_until_finished(&self, conversation: Uuid, message: Uuid) -> MessageNode {
        let node = tokio::time::timeout(PATIENCE, async {
            loop {
                let nodes: Vec<MessageNode> = self
                    .call(
                        "get_messages",
                        json!({ "conversation_id": conversation, "ids": [message] }),
                    )
                    .await
                    .expect("get_messages succeeds");
                let [node] = <[MessageNode; 1]>::try_from(nodes).expect("the message exists");
                if node.status != app::domain::model::MessageStatus::Streaming {
                    return node;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the reply finishes in time");
        self.settle(conversation, &node).await;
        let row = self.stored(conversation, message).await;
        assert_eq!(
            (
                row.content.as_str(),
                row.status.as_str(),
                row.note.as_deref(),
                row.usage
            ),
            (
                node.content.as_str(),
                node.status.as_str(),
                node.note.as_deref(),
                node.usage
            ),
            "the database holds what the server shows"
        );
        node
    }

    /// Waits for the background writes a finished reply sets off: the
    /// server names an untitled conversation after its first complete
    /// answer (one that calls no tool), by asking the model in a task of
    /// its own, so the title can land after the reply is seen finished.
    /// A test that snapshots or counts rows must not race it.
    async fn settle(&self, conversation: Uuid, reply: &MessageNode) {
        let answered = reply.role == app::domain::model::Role::Assistant
            && reply.status == app::domain::model::MessageStatus::Complete
            && reply.tool_calls.is_empty();
        if answered {
            self.wait_for_title(conversation).await;
        }
    }
}

/// One browser's view of a server: its address and, once signed in, the
/// session cookie every request carries.
#[derive(Debug)]
pub struct Session {
    pub base: String,
    cookie: Option<String>,
    http: reqwest::Client,
}

impl Session {
    /// The `Cookie` value this session sends (none: signed out).
    pub fn cookie(&self) -> Option<String> {
        self.cookie.clone()
    }

    /// A client of `base`, signed in with `cookie` (`arbor_session=…`) if given.
    pub fn new(base: &str, cookie: Option<&str>) -> Session {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(cookie) = cookie {
            headers.insert(
                reqwest::header::COOKIE,
                cookie.parse().expect("a cookie header value"),
            );
        }
        Session {
            base: base.to_string(),
            cookie: cookie.map(str::to_string),
            http: reqwest::Client::builder()
                .default_headers(headers)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
        }
    }

    /// Posts `fields` as a form body to `path`, as a browser form does.
    async fn send_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .expect("the server answers")
    }

    /// Posts a form to server function `name` (as a browser form does);
    /// answers the status, the `Set-Cookie` pair (`arbor_session=…`) if
    /// one was set, and the body.
    pub async fn post_form(
        &self,
        name: &str,
        fields: &[(&str, &str)],
    ) -> (u16, Option<String>, String) {
        let response = self.send_form(&format!("/api/{name}"), fields).await;
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("arbor_session="))
            .and_then(|v| v.split(';').next())
            .map(str::to_string);
        (
            status,
            cookie,
            response.text().await.expect("a readable body"),
        )
    }

    /// Signs up (or in, with `log_in`) and answers a session as that user.
    pub async fn signed_in(
        &self,
        endpoint: &str,
        username: &str,
        password: &str,
    ) -> Result<Session, Failure> {
        let (status, cookie, body) = self
            .post_form(endpoint, &[("username", username), ("password", password)])
            .await;
        match cookie {
            Some(cookie) if status < 400 && !cookie.ends_with('=') => {
                Ok(Session::new(&self.base, Some(&cookie)))
            }
            _ => Err(Failure {
                status,
                body: serde_json::from_str(&body).unwrap_or(Value::String(body)),
            }),
        }
    }

    /// Calls server function `name` with JSON arguments.
    pub async fn call<T: DeserializeOwned>(&self, name: &str, args: Value) -> Result<T, Failure> {
        let response = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .json(&args)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a readable body");
        if status == 200 {
            Ok(serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name} returned unexpected JSON ({e}): {text}")))
        } else {
            Err(Failure {
                status,
                body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            })
        }
    }

    /// Posts a form to a page route (as a browser does with scripts off);
    /// answers the status, the `Location` it redirects to, and the body.
    pub async fn post_page(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, Option<String>, String) {
        let response = self.send_form(path, fields).await;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (
            status,
            location,
            response.text().await.expect("a readable body"),
        )
    }

    /// GETs a page and returns its status and body.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a readable body"))
    }

    pub async fn create_conversation(&self) -> ConversationSummary {
        self.call("create_conversation", json!({}))
            .await
            .expect("create_conversation succeeds")
    }

    /// The conversation with every message's text, fetched as the page
    /// does: `get_conversation` (the outline and the newest messages of the
    /// shown branch), then `get_messages` for the rest. Its `nodes` are
    /// every message, in the outline's order.
    pub async fn conversation(&self, id: Uuid) -> ConversationView {
        let mut view = self.conversation_page(id).await;
        if !view.outline_complete {
            view.outline = self
                .call("get_outline", json!({ "conversation_id": id }))
                .await
                .expect("get_outline succeeds");
            view.outline_complete = true;
        }
        let have: std::collections::HashSet<Uuid> = view.nodes.iter().map(|n| n.id).collect();
        let outline: Vec<Uuid> = view.outline.iter().map(|o| o.id).collect();
        for batch in app::domain::reading_window::to_fetch(&outline, |id| have.contains(&id)) {
            let nodes: Vec<MessageNode> = self
                .call(
                    "get_messages",
                    json!({ "conversation_id": id, "ids": batch }),
                )
                .await
                .expect("get_messages succeeds");
            view.nodes.extend(nodes);
        }
        let order: std::collections::HashMap<Uuid, usize> = view
            .outline
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id, i))
            .collect();
        view.nodes
            .sort_by_key(|n| order.get(&n.id).copied().unwrap_or(usize::MAX));
        view
    }

    /// What `get_conversation` answers, as the chat page gets it.
    pub async fn conversation_page(&self, id: Uuid) -> ConversationView {
        self.call("get_conversation", json!({ "id": id }))
            .await
            .expect("get_conversation succeeds")
    }

    pub async fn send(&self, conversation: Uuid, parent: Option<Uuid>, text: &str) -> SendReceipt {
        self.try_send(conversation, parent, &client_id(), text)
            .await
            .expect("send_message succeeds")
    }

    pub async fn try_send(
        &self,
        conversation: Uuid,
        parent: Option<Uuid>,
        client_id: &str,
        text: &str,
    ) -> Result<SendReceipt, Failure> {
        self.call(
            "send_message",
            json!({
                "conversation_id": conversation,
                "parent_id": parent,
                "client_id": client_id,
                "text": text,
            }),
        )
        .await
    }

    pub async fn regenerate(
        &self,
        conversation: Uuid,
        message: Uuid,
    ) -> Result<SendReceipt, Failure> {
        self.call(
            "regenerate",
            json!({ "conversation_id": conversation, "message_id": message }),
        )
        .await
    }

    pub async fn continue_reply(
        &self,
        conversation: Uuid,
        message: Uuid,
    ) -> Result<SendReceipt, Failure> {
        self.call(
            "continue_reply",
            json!({ "conversation_id": conversation, "message_id": message }),
        )
        .await
    }

    pub async fn stop(&self, conversation: Uuid, message: Uuid) -> Result<(), Failure> {
        self.call(
            "stop_generation",
            json!({ "conversation_id": conversation, "message_id": message }),
        )
        .await
    }

    /// Opens the conversation's event stream, resuming after `after` (a
    /// `Last-Event-ID` header when `as_header`, else the `?after=` query).
    pub async fn events(
        &self,
        conversation: Uuid,
        after: Option<&str>,
        as_header: bool,
    ) -> EventStream {
        let mut url = format!("{}/api/conversations/{conversation}/events", self.base);
        let mut request = self.http.get(&url).header("accept", "text/event-stream");
        if let Some(after) = after {
            if as_header {
                request = request.header("last-event-id", after);
            } else {
                url.push_str(&format!("?after={after}"));
                request = self.http.get(&url).header("accept", "text/event-stream");
            }
        }
        open_event_stream(request).await
    }

    /// Opens any Server-Sent Events route.
    pub async fn event_stream(&self, path: &str) -> EventStream {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept", "text/event-stream");
        open_event_stream(request).await
    }

    /// POSTs `body` as is (a file upload) and returns the whole response.
    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await
            .expect("the server answers")
    }

    /// GETs a path and returns the whole response.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the server answers")
    }

    /// Creates a conversation and subscribes to its events from its first
    /// snapshot, as the chat page does.
    pub async fn watched_conversation(&self) -> (Uuid, EventStream) {
        let conversation = self.create_conversation().await.id;
        let start = self.conversation(conversation).await.cursor.to_string();
        let events = self.events(conversation, Some(&start), false).await;
        (conversation, events)
    }

    /// Polls the conversation until it has a title.
    pub async fn wait_for_title(&self, conversation: Uuid) -> String {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let title = self.conversation_page(conversation).await.summary.title;
                if !title.is_empty() {
                    return title;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the conversation gets a title in time")
    }
}

/// A stream of parsed Server-Sent Events.
/// Sends `request` and follows its answer as Server-Sent Events.
async fn open_event_stream(request: reqwest::RequestBuilder) -> EventStream {
    let response = request.send().await.expect("the event stream opens");
    assert_eq!(response.status().as_u16(), 200, "event stream status");
    EventStream {
        inner: Box::pin(
            response
                .bytes_stream()
                .eventsource()
                .map(|e| e.expect("well-formed SSE")),
        ),
    }
}

pub struct EventStream {
    inner: Pin<Box<dyn Stream<Item = Event> + Send>>,
}

impl EventStream {
    /// The next event, failing the test if none comes in time.
    pub async fn next(&mut self) -> Event {
        tokio::time::timeout(PATIENCE, self.inner.next())
            .await
            .expect("an event arrives in time")
            .expect("the stream stays open")
    }

    /// The next event, or `None` once the server has ended the stream
    /// (failing the test if neither happens in time).
    pub async fn next_or_end(&mut self) -> Option<Event> {
        tokio::time::timeout(PATIENCE, self.inner.next())
            .await
            .expect("an event or the end arrives in time")
    }

    /// Reads events until `count` deltas have arrived, returning them all.
    pub async fn until_deltas(&mut self, count: usize) -> Vec<Event> {
        let mut events = Vec::new();
        while events.iter().filter(|e: &&Event| is_delta(e)).count() < count {
            events.push(self.next().await);
        }
        events
    }

    /// Reads events until the `done` event of `message`, returning them all (done included).
    pub async fn until_done(&mut self, message: Uuid) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            let event = self.next().await;
            let finished = event.event == "done" && event.data.contains(&message.to_string());
            events.push(event);
            if finished {
                return events;
            }
        }
    }
}

/// The value of an unlabelled metric in Prometheus text (`/metrics`).
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(&format!("{name} ")))
        .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
}

/// Whether `event` is a delta, in either of its forms (a short one arrives
/// as the default type, `message`: see `app::domain::model::stream_wire`).
pub fn is_delta(event: &Event) -> bool {
    app::domain::model::is_delta(&event.event, &event.data)
}

/// The text carried by the `delta` events among `events` (read from the
/// start of one connection: a delta names its reply only when it changes).
pub fn delta_text(events: &[Event], message: Uuid) -> String {
    let mut reader = StreamReader::default();
    events
        .iter()
        .filter(|e| is_delta(e))
        .filter_map(|e| reader.read(&e.event, &e.data).ok())
        .filter_map(|event| match event {
            ChatEvent::Delta { id, text } if id == message => Some(text),
            _ => None,
        })
        .collect()
}

/// The message with `id` in a conversation view.
pub fn find(view: &ConversationView, id: Uuid) -> &MessageNode {
    view.nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("message {id} is in the conversation"))
}

/// A loopback address with a free port, for a server that must come back
/// at the same address after a restart.
pub fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// A fresh idempotency key.
pub fn client_id() -> String {
    format!("test-{}", Uuid::now_v7())
}

/// A message row read straight from the database, not through the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub role: String,
    pub content: String,
    pub status: String,
    pub note: Option<String>,
    pub usage: Option<app::domain::model::ReplyUsage>,
    pub model: Option<String>,
    pub params: Option<app::domain::model::ReplyParams>,
}

/// Every message row of a conversation in the database, oldest first.
pub async fn stored_rows(database: &TestDatabase, conversation: Uuid) -> Vec<Row> {
    let uuid = |text: String| Uuid::parse_str(&text).expect("stored ids are UUIDs");
    database
        .message_rows(conversation)
        .await
        .into_iter()
        .map(
            |[id, parent_id, role, content, status, note, usage, model, params]| Row {
                id: uuid(id.expect("an id")),
                parent_id: parent_id.map(uuid),
                role: role.expect("a role"),
                content: content.expect("a text"),
                status: status.expect("a status"),
                note,
                usage: usage.map(|u| serde_json::from_str(&u).expect("stored usage is JSON")),
                model,
                params: params.map(|p| serde_json::from_str(&p).expect("stored params are JSON")),
            },
        )
        .collect()
}

impl TestServer {
    /// One message row as stored in the database file.
    pub async fn stored(&self, conversation: Uuid, id: Uuid) -> Row {
        stored_rows(&self.database, conversation)
            .await
            .into_iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("message {id} is stored"))
    }
}

impl TestServer {
    /// Waits until the displayed branch ends in a finished reply that calls
    /// no tool (a tool loop has ended) and its writes have landed, and
    /// returns the view.
    pub async fn wait_for_final_answer(&self, conversation: Uuid) -> ConversationView {
        let view = tokio::time::timeout(PATIENCE, async {
            loop {
                let view = self.conversation(conversation).await;
                let leaf = view
                    .active_leaf_id
                    .and_then(|id| view.nodes.iter().find(|n| n.id == id));
                if let Some(leaf) = leaf {
                    if leaf.role == app::domain::model::Role::Assistant
                        && leaf.status != app::domain::model::MessageStatus::Streaming
                        && leaf.tool_calls.is_empty()
                    {
                        return view;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the tool loop ends with an answer");
        if let Some(answer) = view
            .nodes
            .iter()
            .find(|n| Some(n.id) == view.active_leaf_id)
        {
            self.settle(conversation, answer).await;
        }
        view
    }
}

/// The displayed branch of a view, root first.
pub fn shown_branch(view: &ConversationView) -> Vec<&MessageNode> {
    let mut branch = Vec::new();
    let mut at = view.active_leaf_id;
    while let Some(id) = at {
        let node = find(view, id);
        branch.push(node);
        at = node.parent_id;
    }
    branch.reverse();
    branch
}

impl TestServer {
    /// Sends a message to a slow model, stops the reply after two deltas,
    /// and checks that the upstream request was closed and that the
    /// reply kept exactly the text streamed; returns the stopped reply.
    pub async fn stop_mid_reply(&self, fake: &fake_server::FakeServer) -> MessageNode {
        let (conversation, mut events) = self.watched_conversation().await;
        let receipt = self.send(conversation, None, "count slowly").await;
        let mut seen = events.until_deltas(2).await;
        self.stop(conversation, receipt.assistant.id)
            .await
            .expect("stop");
        seen.extend(events.until_done(receipt.assistant.id).await);
        fake.wait_for_early_close().await;
        let reply = self
            .wait_until_finished(conversation, receipt.assistant.id)
            .await;
        assert_eq!(reply.status, app::domain::model::MessageStatus::Interrupted);
        assert_eq!(reply.content, delta_text(&seen, receipt.assistant.id));
        reply
    }
}

impl TestServer {
    /// Every user, conversation, message and branch name row as one
    /// text: equal before and after means nothing was changed.
    pub async fn database_fingerprint(&self) -> String {
        self.database
            .fingerprint(&["users", "conversations", "messages", "branch_labels"])
            .await
    }

    /// Runs one statement on the database (setting up a case).
    pub async fn sql_exec(&self, sql: &str) {
        self.database.exec(sql).await
    }

    /// Runs a `SELECT COUNT(*) …` straight on the database.
    pub async fn sql_count(&self, sql: &str) -> i64 {
        self.database.count(sql).await
    }
}
