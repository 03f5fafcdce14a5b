//! Arbor's benchmarks. Run with `scripts/bench.sh` (a release build); each
//! figure is printed with how it was measured. Everything runs in this one
//! process on the offline model, against real SQLite files in a temporary
//! folder and, for the event-stream figures, real HTTP connections to
//! 127.0.0.1. `docs/BENCHMARKS.md` records the results.
//!
//! `cargo run --release -p server --example bench -- [phase ...]` runs the
//! named phases (default: all): `idle`, `broadcast`, `relay`, `wire`, `latency`, `writes`
//! (also on PostgreSQL when run beside `scripts/with-postgres.sh`).

use app::domain::model::{MessageNode, MessageStatus, Role};
use eventsource_stream::Eventsource;
use futures::stream::{self, StreamExt};
use leptos::config::{Env, LeptosOptions};
use server::api::Arbor;
use server::config::Config;
use server::storage::StoredMessage;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// Counts the bytes the process has allocated and not yet freed.
struct CountingAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter is only bookkeeping.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Resident memory of the process, from `/proc/self/statm` (0 elsewhere).
fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn config(dir: &Path, name: &str, settings: &[(&str, &str)]) -> BenchResult<Config> {
    let database = dir.join(format!("{name}.db")).display().to_string();
    let settings: HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([
            ("ARBOR_DATABASE_URL".to_string(), database),
            ("ARBOR_ACTOR_IDLE_SECS".to_string(), "3600".to_string()),
        ])
        .collect();
    Ok(Config::from_lookup(|name| settings.get(name).cloned())?)
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> BenchResult {
    // reqwest is built with rustls and no default crypto provider.
    _ = rustls::crypto::ring::default_provider().install_default();
    let phases: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |name: &str| phases.is_empty() || phases.iter().any(|p| p == name);
    let dir = tempfile::tempdir()?;
    print_machine();
    if wanted("idle") {
        idle_actors(dir.path(), 10_000).await?;
        idle_actors(dir.path(), 100_000).await?;
    }
    if wanted("broadcast") {
        broadcast(dir.path(), 10_000).await?;
    }
    if wanted("relay") {
        relay_latency(dir.path(), 1_000, 400).await?;
    }
    if wanted("wire") {
        wire_bytes(dir.path(), 10_000, 0, 16).await?;
        wire_bytes(dir.path(), 2_000, 1, 0).await?;
        wire_bytes(dir.path(), 2_000, 1, 16).await?;
    }
    if wanted("latency") {
        for (tokens, token_ms) in [(2_000, 1), (200, 20)] {
            for frame_ms in [0, 16] {
                token_latency(dir.path(), tokens, token_ms, frame_ms).await?;
            }
        }
    }
    if wanted("writes") {
        let file = dir.path().join("writes.db").display().to_string();
        message_writes("SQLite", &file, Duration::from_secs(5)).await?;
        // Beside `scripts/with-postgres.sh`, the same on its throwaway server.
        if let Some(url) = std::env::var("ARBOR_TEST_POSTGRES")
            .ok()
            .filter(|u| !u.is_empty())
        {
            message_writes("PostgreSQL", &url, Duration::from_secs(5)).await?;
        }
    }
    Ok(())
}

fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# Arbor benchmarks\nmachine: {cpu}, {cores} cores available, tokio with 2 workers\n");
}

/// Memory per idle actor and the time to start them from the database.
async fn idle_actors(dir: &Path, count: usize) -> BenchResult {
    println!("## idle actors: {count}");
    let arbor = Arbor::open(&config(dir, &format!("idle-{count}"), &[])?).await?;
    let created = Instant::now();
    let ids = arbor.start_conversations(count).await?;
    println!(
        "created {count} empty conversations in {}",
        seconds(created.elapsed())
    );
    let (heap_before, rss_before) = (live_bytes(), resident_bytes());
    let started = Instant::now();
    stream::iter(ids.iter().copied())
        .map(|id| {
            let arbor = arbor.clone();
            async move { arbor.stats(id).await }
        })
        .buffer_unordered(512)
        .for_each(|stats| async move {
            if let Err(error) = stats {
                eprintln!("an actor failed to start: {error}");
            }
        })
        .await;
    let spawn_time = started.elapsed();
    let active = arbor.active_count();
    let heap = live_bytes().saturating_sub(heap_before);
    let rss = resident_bytes().saturating_sub(rss_before);
    println!(
        "started {active} actors (each loads its conversation from SQLite, then answers a Stats \
         command) in {}: {:.1} µs per actor",
        seconds(spawn_time),
        spawn_time.as_secs_f64() * 1e6 / count as f64
    );
    println!(
        "memory per idle actor: {} bytes of heap (live allocations counted by a global allocator, \
         after minus before), {} bytes of resident memory (RSS growth)",
        heap / count.max(1),
        rss / count.max(1)
    );
    stream::iter(ids)
        .map(|id| {
            let arbor = arbor.clone();
            async move { arbor.close(id).await }
        })
        .buffer_unordered(512)
        .for_each(|_| async {})
        .await;
    println!();
    Ok(())
}

/// One message to `count` cold conversations; time until every reply is
/// complete and stored.
async fn broadcast(dir: &Path, count: usize) -> BenchResult {
    println!("## broadcast to {count} conversations");
    let config = config(dir, "broadcast", &[("ARBOR_OFFLINE_TOKEN_MS", "0")])?;
    let arbor = Arbor::open(&config).await?;
    let ids = arbor.start_conversations(count).await?;
    let started = Instant::now();
    let results = arbor.broadcast(&ids, "Benchmark: say hello").await;
    let elapsed = started.elapsed();
    let complete = results
        .iter()
        .filter(|r| {
            r.reply
                .as_ref()
                .is_ok_and(|m| m.status == MessageStatus::Complete)
        })
        .count();
    let tokens: u64 = results
        .iter()
        .filter_map(|r| r.reply.as_ref().ok()?.usage)
        .map(|u| u64::from(u.completion_tokens))
        .sum();
    // Every reply is answered only after its final write committed; check
    // the file through an independent connection anyway.
    let check = server::storage::connect(&config.database_url).await?.store;
    let mut stored_complete = 0;
    for result in &results {
        let messages = check.messages(result.conversation).await?;
        if messages.len() == 2 && messages[1].node.status == MessageStatus::Complete {
            stored_complete += 1;
        }
    }
    println!(
        "broadcast to {count} conversations (actors not in memory: each starts from SQLite, \
         stores the message and a streaming reply, generates {:.0} tokens on average with zero \
         delay, stores the finished reply and a title): every reply complete and committed in {}",
        tokens as f64 / count as f64,
        seconds(elapsed)
    );
    println!("replies complete: {complete}/{count}; read back complete from the file: {stored_complete}/{count}\n");
    Ok(())
}

/// Arbor serving its routes, with a signed-in account.
struct Served {
    addr: std::net::SocketAddr,
    /// The account's `Cookie` header value.
    cookie: String,
    /// The programmatic API acting as that account.
    arbor: Arbor,
}

/// Opens Arbor on `config`'s database, serves its routes on 127.0.0.1 (a
/// free port) and signs up its first account.
async fn serve(config: &Config) -> BenchResult<Served> {
    use app::domain::backend::{AccountsBackend, Caller};
    let database = server::storage::connect(&config.database_url).await?;
    let arbor = Arbor::open_with_store(config, database.store).await?;
    let accounts = Arc::new(server::accounts::Accounts::new(
        database.accounts,
        config.access.clone(),
    ));
    let caller = Caller {
        user: None,
        session_token: None,
        ip: std::net::Ipv4Addr::LOCALHOST.into(),
        over_tls: false,
    };
    let signed_in = accounts
        .sign_up(&caller, "bench".into(), "bench password".into())
        .await?;
    let cookie = signed_in
        .set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let options = LeptosOptions::builder()
        .output_name("arbor")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(Env::PROD)
        .build();
    let app = server::http::router::router(arbor.clone(), accounts, None, options);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("server failed: {error}");
        }
    });
    Ok(Served {
        addr,
        cookie,
        arbor: arbor.acting_as(signed_in.account.id),
    })
}

/// Waits until `count` event streams follow the conversation.
async fn wait_for_subscribers(arbor: &Arbor, conversation: Uuid, count: usize) -> BenchResult {
    let deadline = Instant::now() + Duration::from_secs(60);
    while arbor.stats(conversation).await?.subscribers < count {
        if Instant::now() > deadline {
            return Err(format!("{count} subscribers never connected").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The value of the SSE field `name` if `line` is one (the space after
/// the colon is optional).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let value = line.strip_prefix(name)?.strip_prefix(':')?;
    Some(value.strip_prefix(' ').unwrap_or(value))
}

/// The sequence number in an SSE `id:` line (an event cursor).
fn sequence_of(line: &str) -> Option<u64> {
    let cursor: app::domain::model::EventCursor = field(line, "id")?.trim().parse().ok()?;
    Some(cursor.seq)
}

/// Delay added between the actor publishing a delta and 1,000 HTTP
/// clients receiving it.
async fn relay_latency(dir: &Path, clients: usize, tokens: usize) -> BenchResult {
    println!("## event relay to {clients} subscribed clients");
    let tokens_setting = tokens.to_string();
    let config = config(
        dir,
        "relay",
        &[
            ("ARBOR_OFFLINE_TOKEN_MS", "5"),
            ("ARBOR_OFFLINE_MIN_TOKENS", &tokens_setting),
        ],
    )?;
    let Served {
        addr,
        cookie,
        arbor,
    } = serve(&config).await?;
    let conversation = arbor.start_conversation().await?;
    let url = format!("http://{addr}/api/conversations/{conversation}/events");
    let http = reqwest::Client::new();
    let mut readers = Vec::new();
    for _ in 0..clients {
        let response = http.get(&url).header("cookie", &cookie).send().await?;
        readers.push(tokio::spawn(async move {
            let mut received: Vec<(u64, Instant)> = Vec::new();
            let mut events = 0usize;
            let mut pending = String::new();
            let mut body = response.bytes_stream();
            let mut last_seq = None;
            while let Some(Ok(chunk)) = body.next().await {
                let now = Instant::now();
                pending.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    if let Some(seq) = sequence_of(&line) {
                        last_seq = Some(seq);
                    }
                    // A delta names itself, or is short: only its text, as a JSON string.
                    let line = line.trim_end();
                    if field(line, "event") == Some("delta")
                        || field(line, "data").is_some_and(|d| d.starts_with('"'))
                    {
                        events += 1;
                        if let Some(seq) = last_seq {
                            received.push((seq, now));
                        }
                    }
                    if field(line, "event") == Some("done") {
                        return (received, events);
                    }
                }
            }
            (received, events)
        }));
    }
    wait_for_subscribers(&arbor, conversation, clients).await?;
    // The generator's side: an in-process subscriber notes when each delta
    // is published.
    let mut probe = arbor
        .service()
        .subscribe(arbor.user(), conversation, None)
        .await?
        .live;
    let published = tokio::spawn(async move {
        let mut at: HashMap<u64, Instant> = HashMap::new();
        while let Ok(event) = probe.recv().await {
            let now = Instant::now();
            match &event.event {
                app::domain::model::ChatEvent::Delta { .. } => {
                    at.insert(event.cursor.seq, now);
                }
                app::domain::model::ChatEvent::Done { .. } => break,
                _ => {}
            }
        }
        at
    });
    let receipt = arbor
        .send(conversation, "Benchmark: stream to everyone")
        .await?;
    arbor
        .wait_for_reply(conversation, receipt.assistant.id)
        .await?;
    let published = published.await?;
    let mut latencies = Vec::new();
    let mut events = 0;
    for reader in readers {
        let (received, count) = reader.await?;
        events += count;
        latencies.extend(
            received
                .iter()
                .filter_map(|(seq, at)| Some(at.saturating_duration_since(*published.get(seq)?))),
        );
    }
    latencies.sort();
    let micros = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
    println!(
        "one reply of {tokens} tokens at one token per 5 ms, {clients} HTTP clients subscribed; \
         latency from the actor publishing a delta (seen by an in-process subscriber) to a client \
         having read it from its socket, over {} samples: p50 {}, p99 {}, max {}",
        latencies.len(),
        micros(percentile(&latencies, 0.50)),
        micros(percentile(&latencies, 0.99)),
        micros(latencies.last().copied().unwrap_or_default()),
    );
    println!(
        "delta events received: {events} for {} published deltas × {clients} clients \
         (fewer means some were merged)\n",
        published.len()
    );
    Ok(())
}

/// Bytes an event-stream client reads for one long reply, over the reply's text size.
/// `frame_ms` is `ARBOR_STREAM_FRAME_MS` (0: every token its own delta).
async fn wire_bytes(dir: &Path, tokens: usize, token_ms: u64, frame_ms: u64) -> BenchResult {
    println!(
        "## bytes on the wire: {tokens}-token reply, {token_ms} ms per token, \
         {frame_ms} ms stream frame"
    );
    let tokens_setting = tokens.to_string();
    let token_ms_setting = token_ms.to_string();
    let frame_setting = frame_ms.to_string();
    let config = config(
        dir,
        &format!("wire-{tokens}-{token_ms}-{frame_ms}"),
        &[
            ("ARBOR_OFFLINE_TOKEN_MS", &token_ms_setting),
            ("ARBOR_OFFLINE_MIN_TOKENS", &tokens_setting),
            ("ARBOR_STREAM_FRAME_MS", &frame_setting),
        ],
    )?;
    let Served {
        addr,
        cookie,
        arbor,
    } = serve(&config).await?;
    let conversation = arbor.start_conversation().await?;
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "GET /api/conversations/{conversation}/events HTTP/1.1\r\nHost: {addr}\r\n\
         Accept: text/event-stream\r\nCookie: {cookie}\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    let read_bytes = Arc::new(AtomicU64::new(0));
    let counter = read_bytes.clone();
    let reader = tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut tail = Vec::new();
        while let Ok(n) = socket.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            counter.fetch_add(n as u64, Ordering::Relaxed);
            tail.extend_from_slice(&buffer[..n]);
            if tail.windows(10).any(|w| w == b"event:done") {
                break;
            }
            let keep = tail.len().saturating_sub(16);
            tail.drain(..keep);
        }
    });
    wait_for_subscribers(&arbor, conversation, 1).await?;
    let receipt = arbor.send(conversation, "Benchmark: a long reply").await?;
    let reply: MessageNode = arbor
        .wait_for_reply(conversation, receipt.assistant.id)
        .await?;
    tokio::time::timeout(Duration::from_secs(30), reader).await??;
    let wire = read_bytes.load(Ordering::Relaxed);
    let text = reply.content.len();
    println!(
        "bytes read by a raw HTTP/1.1 client from its request to the reply's `done` event \
         (headers, chunk framing, the message events and every delta): {wire}; reply text: \
         {text} bytes; ratio {:.3}\n",
        wire as f64 / text as f64
    );
    Ok(())
}

/// The instants a paced upstream wrote its tokens, in order.
type TokenTimes = Arc<std::sync::Mutex<Vec<Instant>>>;

/// Every token the paced upstream streams: 5 bytes, so token `k` of a reply
/// ends at byte `5 × (k + 1)` of its text.
const PACED_TOKEN: &str = "word ";

/// An OpenAI-compatible upstream on 127.0.0.1 speaking the exact streaming
/// format of `POST /v1/chat/completions` (`data: {chunk}` events, a final
/// `finish_reason`, `data: [DONE]`). The first request is answered with
/// `tokens` tokens `every` apart, each one's instant noted just before it is
/// handed to the connection; later requests (the title) get one token.
async fn paced_upstream(tokens: usize, every: Duration) -> BenchResult<(SocketAddr, TokenTimes)> {
    use axum::routing::{get, post};
    let times = TokenTimes::default();
    let answered = Arc::new(AtomicBool::new(false));
    let noted = times.clone();
    let completions = move || {
        let first = !answered.swap(true, Ordering::SeqCst);
        let noted = noted.clone();
        async move {
            let count = if first { tokens } else { 1 };
            let chunk = |delta: serde_json::Value, finish: Option<&str>| {
                let chunk = serde_json::json!({
                    "id": "chatcmpl-bench", "object": "chat.completion.chunk",
                    "created": 1_700_000_000, "model": "bench-paced",
                    "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
                });
                bytes::Bytes::from(format!("data: {chunk}\n\n"))
            };
            let body = stream::unfold(0usize, move |k| {
                let noted = noted.clone();
                async move {
                    let piece = match k {
                        _ if k < count => {
                            tokio::time::sleep(every).await;
                            if let (true, Ok(mut times)) = (first, noted.lock()) {
                                times.push(Instant::now());
                            }
                            chunk(serde_json::json!({ "content": PACED_TOKEN }), None)
                        }
                        _ if k == count => {
                            let end = chunk(serde_json::json!({}), Some("stop"));
                            [end, bytes::Bytes::from_static(b"data: [DONE]\n\n")]
                                .concat()
                                .into()
                        }
                        _ => return None,
                    };
                    Some((Ok::<_, String>(piece), k + 1))
                }
            });
            axum::response::Response::builder()
                .header("content-type", "text/event-stream")
                .body(axum::body::Body::from_stream(body))
                .map_err(|e| e.to_string())
        }
    };
    let models = || async {
        axum::Json(serde_json::json!({ "object": "list", "data": [
            { "id": "bench-paced", "object": "model", "created": 1_700_000_000, "owned_by": "bench" }
        ] }))
    };
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/v1/models", get(models));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("upstream failed: {error}");
        }
    });
    Ok((addr, times))
}

/// How long each token of a reply takes from leaving an upstream model to
/// being read by an event-stream client, with the stream frame `frame_ms`
/// (0: before pacing, each piece sent as it came).
async fn token_latency(dir: &Path, tokens: usize, token_ms: u64, frame_ms: u64) -> BenchResult {
    let (upstream, written) = paced_upstream(tokens, Duration::from_millis(token_ms)).await?;
    let base_url = format!("http://{upstream}/v1");
    let frame_setting = frame_ms.to_string();
    let config = config(
        dir,
        &format!("latency-{tokens}-{token_ms}-{frame_ms}"),
        &[
            ("OPENAI_BASE_URL", &base_url),
            ("OPENAI_API_KEY", "sk-bench"),
            ("ARBOR_MODEL", "bench-paced"),
            ("ARBOR_STREAM_FRAME_MS", &frame_setting),
        ],
    )?;
    let Served {
        addr,
        cookie,
        arbor,
    } = serve(&config).await?;
    let conversation = arbor.start_conversation().await?;
    let url = format!("http://{addr}/api/conversations/{conversation}/events");
    let response = reqwest::Client::new()
        .get(&url)
        .header("cookie", &cookie)
        .send()
        .await?;
    // The client's side: when the reply's text had reached each length.
    let reader = tokio::spawn(async move {
        let mut arrivals: Vec<(usize, Instant)> = Vec::new();
        let mut reader = app::domain::model::StreamReader::default();
        let mut length = 0;
        let mut events = response.bytes_stream().eventsource();
        while let Some(Ok(event)) = events.next().await {
            match reader.read(&event.event, &event.data) {
                Ok(app::domain::model::ChatEvent::Delta { text, .. }) => {
                    length += text.len();
                    arrivals.push((length, Instant::now()));
                }
                Ok(app::domain::model::ChatEvent::Done { .. }) => return arrivals,
                _ => {}
            }
        }
        arrivals
    });
    wait_for_subscribers(&arbor, conversation, 1).await?;
    let receipt = arbor.send(conversation, "Benchmark: latency").await?;
    arbor
        .wait_for_reply(conversation, receipt.assistant.id)
        .await?;
    let arrivals = tokio::time::timeout(Duration::from_secs(60), reader).await??;
    let written = written.lock().map_err(|e| e.to_string())?.clone();
    // Token k has arrived with the first delta that makes the text reach its end.
    let mut latencies = Vec::new();
    let mut next = arrivals.iter().peekable();
    for (k, at) in written.iter().enumerate() {
        let end = PACED_TOKEN.len() * (k + 1);
        while next.peek().is_some_and(|(length, _)| *length < end) {
            next.next();
        }
        if let Some((_, arrived)) = next.peek() {
            latencies.push(arrived.saturating_duration_since(*at));
        }
    }
    latencies.sort();
    let spacing = match (written.first(), written.last()) {
        (Some(first), Some(last)) if written.len() > 1 => {
            (*last - *first).as_secs_f64() * 1e3 / (written.len() - 1) as f64
        }
        _ => 0.0,
    };
    let millis = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!(
        "## token latency: {tokens} tokens {token_ms} ms apart (measured {spacing:.2} ms), \
         {frame_ms} ms stream frame\nfrom the upstream writing a token to an HTTP client having \
         read it, over {} tokens in {} delta events: p50 {}, p99 {}, max {}\n",
        latencies.len(),
        arrivals.len(),
        millis(percentile(&latencies, 0.50)),
        millis(percentile(&latencies, 0.99)),
        millis(latencies.last().copied().unwrap_or_default()),
    );
    Ok(())
}

/// Concurrent tasks writing in the sustained-writes benchmark.
const WRITERS: usize = 4096;

/// Sustained message inserts per second into the database at `url`
/// (SQLite: through the store's one writer; PostgreSQL: its pool).
async fn message_writes(label: &str, url: &str, duration: Duration) -> BenchResult {
    println!("## sustained {label} message writes");
    let store = server::storage::connect(url).await?.store;
    let owner = store.local_user().await?;
    let mut conversations = Vec::new();
    for _ in 0..1000 {
        conversations.push(store.create_conversation(owner, 1).await?.id);
    }
    let written = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let store = store.clone();
            let written = written.clone();
            let conversation = conversations[i % conversations.len()];
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let message = user_message(&format!("message from writer {i}"));
                    let id = message.node.id;
                    if store
                        .insert_messages(conversation, &[message], id)
                        .await
                        .is_ok()
                    {
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await?;
    }
    let elapsed = started.elapsed();
    let count = written.load(Ordering::Relaxed);
    println!(
        "{WRITERS} tasks each inserting one message at a time into one of 1,000 conversations \
         (the insert plus the conversation's shown-leaf update, one transaction; SQLite's \
         writer groups what is queued into multi-row statements, one commit per batch; \
         PostgreSQL commits each on one of 16 pooled connections) for {}: {count} messages, \
         {:.0} messages/s\n",
        seconds(elapsed),
        count as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn user_message(text: &str) -> StoredMessage {
    StoredMessage {
        node: MessageNode::new(
            Uuid::now_v7(),
            None,
            Role::User,
            text,
            MessageStatus::Complete,
            1,
        ),
        client_id: None,
    }
}
