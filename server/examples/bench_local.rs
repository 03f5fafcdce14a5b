//! The in-process model's figures, through the same provider the server
//! uses: load time and memory, time to first token and tokens per second
//! for one reply, and the throughput of 4 replies at once. Run with
//! `scripts/bench-local-model.sh`, which also runs llama-cpp-python on the
//! same file and prompt for comparison.
//!
//! `cargo run --release -p server --example bench_local -- MODEL.gguf [TOKENS]`

use app::domain::model::Role;
use app::domain::sampling::SamplerParams;
use futures::StreamExt;
use server::providers::{
    Delta, GenerationRequest, LocalModel, LocalSettings, Provider, ThreadMessage,
};
use std::time::{Duration, Instant};

/// The prompt both benchmarks use.
const PROMPT: &str = "Write a long story about a robot who learns to paint.";

/// Resident memory of the process in MB, from `/proc/self/statm`.
fn resident_mb() -> f64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1e6
}

/// One reply: (time to first token, tokens, time from first to last token).
async fn one_reply(model: &LocalModel, tokens: u32) -> (Duration, u32, Duration) {
    let request = GenerationRequest {
        model: model.id().to_string(),
        thread: vec![ThreadMessage::new(Role::User, PROMPT)],
        params: SamplerParams {
            temperature: Some(0.0),
            max_tokens: Some(tokens),
            ..SamplerParams::default()
        },
        tools: Vec::new(),
    };
    let started = Instant::now();
    let mut stream = model.generate(request);
    let (mut first, mut last) = (None, started);
    let mut written = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(Delta::Text(_)) => {
                first.get_or_insert_with(|| started.elapsed());
                last = Instant::now();
            }
            Ok(Delta::Usage(usage)) => written = usage.completion.unwrap_or(0),
            Ok(_) => {}
            Err(error) => panic!("the model failed: {error}"),
        }
    }
    let first = first.expect("some text");
    (first, written, last - started - first)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: bench_local MODEL.gguf [TOKENS]");
    let tokens: u32 = args
        .next()
        .map_or(200, |t| t.parse().expect("TOKENS is a number"));
    let threads = std::env::var("ARBOR_LOCAL_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!("threads: {threads}");
    let before = resident_mb();
    let started = Instant::now();
    let model = LocalModel::load(&LocalSettings {
        path: path.into(),
        parallel: 4,
        context: 2048,
        threads,
    })
    .expect("the model loads");
    println!(
        "load: {:.2} s, resident memory {:.0} MB -> {:.0} MB",
        started.elapsed().as_secs_f64(),
        before,
        resident_mb()
    );
    // Warm up (pages the weights in), then measure.
    one_reply(&model, 16).await;
    for run in 1..=3 {
        let (first, written, rest) = one_reply(&model, tokens).await;
        let rate = f64::from(written.saturating_sub(1)) / rest.as_secs_f64();
        println!(
            "arbor one reply, run {run}: first token {:.0} ms, {written} tokens, {rate:.1} tokens/s",
            first.as_secs_f64() * 1000.0
        );
    }
    println!("resident memory after replies: {:.0} MB", resident_mb());
    let started = Instant::now();
    let replies = futures::future::join_all((0..4).map(|_| one_reply(&model, tokens))).await;
    let elapsed = started.elapsed().as_secs_f64();
    let total: u32 = replies.iter().map(|(_, written, _)| written).sum();
    println!(
        "arbor 4 replies at once: {total} tokens in {elapsed:.2} s, {:.1} tokens/s in all",
        f64::from(total) / elapsed
    );
    println!(
        "resident memory with 4 contexts in use: {:.0} MB",
        resident_mb()
    );
}
