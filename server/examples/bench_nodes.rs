//! Benchmarks of several nodes on one PostgreSQL database: real server
//! processes (`target/release/server`) on loopback ports, driven over HTTP
//! as browsers would, on the offline model. Run beside a throwaway
//! PostgreSQL with `scripts/bench-nodes.sh` (phases: `latency`, `failover`,
//! `broadcast`); each phase gets a new database. `docs/BENCHMARKS.md`
//! records the results. Figures only: nothing here asserts them.

use eventsource_stream::Eventsource;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One server process on a loopback port.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    async fn start(database: &str, env: &[(&str, &str)]) -> Result<Node, Error> {
        let mut command = Command::new("target/release/server");
        command
            .env("ARBOR_ADDR", "127.0.0.1:0")
            .env("ARBOR_DATABASE_URL", database)
            .env("ARBOR_LOCAL_MODEL", "off")
            .env("ARBOR_OFFLINE_TOKEN_MS", "0")
            .env("ARBOR_SENDS_PER_MINUTE", "100000000")
            .env("ARBOR_SENDS_PER_MINUTE_PER_IP", "100000000")
            .env("RUST_LOG", "error")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("Arbor is listening on ") {
                return Ok(Node {
                    child,
                    base: url.trim().to_string(),
                });
            }
        }
        Err("the server exited before listening".into())
    }

    async fn kill(&mut self) -> Result<(), Error> {
        self.child.kill().await?;
        Ok(())
    }
}

/// A signed-in client of one node.
#[derive(Clone)]
struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    fn new(base: &str, cookie: &str) -> Result<Client, Error> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, cookie.parse()?);
        Ok(Client {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .default_headers(headers)
                .build()?,
        })
    }

    /// Signs up the first account on `base`; answers its cookie.
    async fn sign_up(base: &str) -> Result<String, Error> {
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?
            .post(format!("{base}/api/sign_up"))
            .form(&[("username", "bench"), ("password", "bench password")])
            .send()
            .await?;
        let cookie = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("arbor_session="))
            .and_then(|v| v.split(';').next())
            .ok_or("sign-up set no session")?;
        Ok(cookie.to_string())
    }

    async fn call(&self, name: &str, args: Value) -> Result<Value, Error> {
        let response = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .json(&args)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            return Err(format!("{name}: {status} {body}").into());
        }
        Ok(body)
    }

    async fn create_conversation(&self) -> Result<Uuid, Error> {
        let summary = self.call("create_conversation", json!({})).await?;
        Ok(serde_json::from_value(summary["id"].clone())?)
    }

    /// Opens the conversation (its node starts it); answers its event cursor.
    async fn open(&self, conversation: Uuid) -> Result<String, Error> {
        let view = self
            .call("get_conversation", json!({ "id": conversation }))
            .await?;
        let cursor = &view["cursor"];
        Ok(format!("{}-{}", cursor["epoch"], cursor["seq"]))
    }

    /// Sends a message; answers the reply's id.
    async fn send(&self, conversation: Uuid, text: &str) -> Result<Uuid, Error> {
        let receipt = self
            .call(
                "send_message",
                json!({
                    "conversation_id": conversation,
                    "parent_id": null,
                    "client_id": Uuid::now_v7().to_string(),
                    "text": text,
                }),
            )
            .await?;
        Ok(serde_json::from_value(receipt["assistant"]["id"].clone())?)
    }

    /// When each event of the conversation after `after` arrives, by id,
    /// until the first `done` event (the end of the reply).
    async fn arrivals(
        &self,
        conversation: Uuid,
        after: &str,
    ) -> Result<impl std::future::Future<Output = HashMap<String, Instant>>, Error> {
        let response = self
            .http
            .get(format!(
                "{}/api/conversations/{conversation}/events",
                self.base
            ))
            .header("last-event-id", after)
            .send()
            .await?;
        let mut events = response.bytes_stream().eventsource();
        Ok(async move {
            let mut seen = HashMap::new();
            while let Some(Ok(event)) = events.next().await {
                seen.insert(event.id.clone(), Instant::now());
                if event.event == "done" {
                    break;
                }
            }
            seen
        })
    }
}

/// A new database on the throwaway server; answers its URL.
async fn new_database(admin: &str) -> Result<String, Error> {
    let name = format!("arbor_bench_{}", Uuid::now_v7().simple());
    let mut db = PgConnection::connect(admin).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut db)
        .await?;
    let (server, _) = admin
        .rsplit_once('/')
        .ok_or("an admin URL ends with a database")?;
    Ok(format!("{server}/{name}"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Starts `count` nodes on `database`; answers them and a client of each
/// (one account, signed up on the first, whose session every node knows).
async fn cluster(
    database: &str,
    count: usize,
    env: &[(&str, &str)],
) -> Result<(Vec<Node>, Vec<Client>), Error> {
    let mut nodes = Vec::new();
    for _ in 0..count {
        nodes.push(Node::start(database, env).await?);
    }
    let cookie = Client::sign_up(&nodes[0].base).await?;
    let clients = nodes
        .iter()
        .map(|n| Client::new(&n.base, &cookie))
        .collect::<Result<_, _>>()?;
    Ok((nodes, clients))
}

/// How much later an event reaches a client of the other node than a
/// client of the node writing the reply.
async fn latency(admin: &str) -> Result<(), Error> {
    let database = new_database(admin).await?;
    let env = [
        ("ARBOR_OFFLINE_TOKEN_MS", "1"),
        ("ARBOR_OFFLINE_MIN_TOKENS", "2000"),
    ];
    let (_nodes, clients) = cluster(&database, 2, &env).await?;
    let (a, b) = (&clients[0], &clients[1]);
    let mut gaps = Vec::new();
    for _ in 0..3 {
        let conversation = a.create_conversation().await?;
        let cursor = a.open(conversation).await?;
        // Both clients listen before the reply starts.
        let on_a = tokio::spawn(a.arrivals(conversation, &cursor).await?);
        let on_b = tokio::spawn(b.arrivals(conversation, &cursor).await?);
        a.send(conversation, "Latency, please").await?;
        let (local, remote) = (on_a.await?, on_b.await?);
        for (id, at_b) in &remote {
            if let Some(at_a) = local.get(id) {
                gaps.push(at_b.saturating_duration_since(*at_a));
            }
        }
    }
    gaps.sort();
    println!(
        "cross-node delta latency (event on B's client minus the same event on A's, {} events of 3 replies of 2,000 tokens at 1 ms): p50 {} p99 {} max {}",
        gaps.len(),
        ms(percentile(&gaps, 0.5)),
        ms(percentile(&gaps, 0.99)),
        ms(percentile(&gaps, 1.0)),
    );
    Ok(())
}

/// Time from kill -9 of the node writing a reply until the other node
/// serves the conversation with the reply marked interrupted.
async fn failover(admin: &str, lease_secs: &str) -> Result<(), Error> {
    let database = new_database(admin).await?;
    let env = [
        ("ARBOR_LEASE_SECS", lease_secs),
        ("ARBOR_CHECKPOINT_MS", "100"),
        ("ARBOR_OFFLINE_TOKEN_MS", "20"),
        ("ARBOR_OFFLINE_MIN_TOKENS", "100000"),
    ];
    let (mut nodes, clients) = cluster(&database, 2, &env).await?;
    let (a, b) = (&clients[0], &clients[1]);
    let conversation = a.create_conversation().await?;
    a.open(conversation).await?;
    let reply = a.send(conversation, "A very long answer").await?;
    // Let a few checkpoints land, then kill the owner mid-reply.
    tokio::time::sleep(Duration::from_millis(500)).await;
    nodes[0].kill().await?;
    let killed = Instant::now();
    loop {
        if let Ok(view) = b
            .call("get_conversation", json!({ "id": conversation }))
            .await
        {
            let status = view["nodes"]
                .as_array()
                .and_then(|nodes| nodes.iter().find(|n| n["id"] == json!(reply)))
                .map(|n| n["status"].clone());
            if status == Some(json!("interrupted")) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "failover after kill -9 (ARBOR_LEASE_SECS={lease_secs}): node B served the conversation, its reply interrupted, {:.2} s after the kill",
        killed.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One message to each of `count` conversations, sent round-robin through
/// `nodes` nodes, until every reply is complete and stored.
async fn broadcast(admin: &str, nodes: usize, count: usize) -> Result<(), Error> {
    let database = new_database(admin).await?;
    let (_nodes, clients) = cluster(&database, nodes, &[]).await?;
    let clients = &clients;
    let conversations: Vec<(usize, Uuid)> = stream::iter(0..count)
        .map(|i| async move { (i, clients[i % clients.len()].create_conversation().await) })
        .buffer_unordered(64)
        .map(|(i, id)| id.map(|id| (i, id)))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut db = PgConnection::connect(&database).await?;
    let started = Instant::now();
    let sent: Vec<Result<Uuid, Error>> = stream::iter(conversations)
        .map(|(i, id)| async move {
            clients[i % clients.len()]
                .send(id, "The same question to all")
                .await
        })
        .buffer_unordered(256)
        .collect()
        .await;
    let sent_in = started.elapsed();
    let failed = sent.iter().filter(|s| s.is_err()).count();
    loop {
        let complete: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE role = 'assistant' AND status = 'complete'",
        )
        .fetch_one(&mut db)
        .await?;
        if complete as usize + failed >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "broadcast of {count} on {nodes} node(s), one HTTP send each (256 at a time, round-robin over the nodes): all sent in {:.2} s, every reply complete and stored after {:.2} s ({failed} sends failed)",
        sent_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    _ = rustls::crypto::ring::default_provider().install_default();
    let admin = std::env::var("ARBOR_TEST_POSTGRES")
        .map_err(|_| "run beside a throwaway PostgreSQL: scripts/bench-nodes.sh")?;
    let phases: Vec<String> = std::env::args().skip(1).collect();
    let run = |phase: &str| phases.is_empty() || phases.iter().any(|p| p == phase);
    if run("latency") {
        latency(&admin).await?;
    }
    if run("failover") {
        failover(&admin, "2").await?;
        failover(&admin, "15").await?;
    }
    if run("broadcast") {
        let count = std::env::var("ARBOR_BENCH_BROADCAST")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        broadcast(&admin, 1, count).await?;
        broadcast(&admin, 2, count).await?;
    }
    Ok(())
}
