//! Accounts and the protections around them, through the real server
//! binary: the first run, closed and open sign-up, signing in and out,
//! session expiry, the rate limits, cross-site refusal, security headers,
//! body limits, cookies, password storage and `/metrics` access.

mod common;

use common::{Session, TestServer, ADMIN, ADMIN_PASSWORD, PATIENCE};
use serde_json::{json, Value};
use std::time::Duration;

async fn state(session: &Session) -> Value {
    session
        .call("access_state", json!({}))
        .await
        .expect("the access state is public")
}

#[tokio::test]
async fn the_first_account_is_the_admin_and_adopts_earlier_conversations_then_sign_up_closes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_without_accounts(dir.path(), &[]).await;
    assert_eq!(
        state(&server).await,
        json!({ "first_run": true, "sign_up_open": true })
    );
    let home = server.get("/").await;
    assert_eq!(home.status().as_u16(), 303);
    assert_eq!(
        home.headers()["location"],
        "/signup",
        "a first run goes to sign-up"
    );
    let (status, html) = server.page("/signup").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("will be its administrator"),
        "the first-run page says so"
    );

    // A conversation made before accounts existed (by the built-in user).
    let made_before = server.sql_count("SELECT COUNT(*) FROM conversations").await;
    assert_eq!(made_before, 0);
    server
        .sql_exec(
            "INSERT INTO conversations (id, owner_id, title, created_at, updated_at) \
             SELECT '0190a000-0000-7000-8000-000000000001', id, 'From before', 1, 1 \
             FROM users WHERE username = 'local'",
        )
        .await;

    let alice = server
        .signed_in("sign_up", "Alice", "alice password")
        .await
        .expect("the first sign-up");
    let me: Value = alice
        .call("current_account", json!({}))
        .await
        .expect("signed in");
    assert_eq!(
        me["username"], "alice",
        "usernames are stored in lower case"
    );
    assert_eq!(me["is_admin"], true);
    let list: Vec<Value> = alice
        .call("list_conversations", json!({}))
        .await
        .expect("lists");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["title"], "From before");

    assert_eq!(
        state(&server).await,
        json!({ "first_run": false, "sign_up_open": false })
    );
    let closed = server
        .signed_in("sign_up", "bob", "bob password")
        .await
        .expect_err("sign-up is closed by default");
    assert_eq!(closed.status, 403);
    assert!(closed.body.to_string().contains("ask an administrator"));
    let (status, html) = server.page("/signup").await;
    assert_eq!(status, 200);
    assert!(html.contains("Sign-up is closed"));

    // The administrator creates accounts.
    let created: Value = alice
        .call(
            "create_account",
            json!({ "username": "bob", "password": "bob password", "is_admin": false }),
        )
        .await
        .expect("an admin creates an account");
    assert_eq!(created["is_admin"], false);
    let taken = alice
        .call::<Value>(
            "create_account",
            json!({ "username": "BOB", "password": "other password", "is_admin": false }),
        )
        .await
        .expect_err("usernames are unique, whatever the case");
    assert_eq!(taken.status, 400);
    let short = alice
        .call::<Value>(
            "create_account",
            json!({ "username": "carol", "password": "short", "is_admin": false }),
        )
        .await
        .expect_err("too short a password");
    assert!(
        short.body.to_string().contains("at least 8"),
        "{:?}",
        short.body
    );
    let bob = server
        .signed_in("log_in", "bob", "bob password")
        .await
        .expect("bob signs in");
    let list: Vec<Value> = bob
        .call("list_conversations", json!({}))
        .await
        .expect("lists");
    assert!(list.is_empty(), "bob sees none of alice's");
    let accounts: Vec<Value> = alice.call("list_accounts", json!({})).await.expect("admin");
    let names: Vec<&str> = accounts
        .iter()
        .filter_map(|a| a["username"].as_str())
        .collect();
    assert_eq!(
        names,
        ["alice", "bob"],
        "the built-in user is not an account"
    );
}

#[tokio::test]
async fn open_sign_up_makes_plain_accounts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_SIGN_UP", "open")]).await;
    assert_eq!(
        state(&server).await,
        json!({ "first_run": false, "sign_up_open": true })
    );
    let bob = Session::new(&server.base, None)
        .signed_in("sign_up", "bob", "bob password")
        .await
        .expect("anyone may sign up");
    let me: Value = bob
        .call("current_account", json!({}))
        .await
        .expect("signed in");
    assert_eq!(me["is_admin"], false);
    let bad = Session::new(&server.base, None)
        .signed_in("sign_up", "no spaces allowed", "a password")
        .await
        .expect_err("a bad username");
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn signing_in_checks_the_password_and_signing_out_ends_the_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let nobody = Session::new(&server.base, None);
    for (user, password) in [(ADMIN, "wrong password"), ("nobody", ADMIN_PASSWORD)] {
        let failed = nobody
            .signed_in("log_in", user, password)
            .await
            .expect_err("refused");
        assert_eq!(failed.status, 401);
        assert_eq!(failed.body["Unauthorized"], "Wrong username or password.");
    }
    let session = nobody
        .signed_in("log_in", ADMIN, ADMIN_PASSWORD)
        .await
        .expect("the right password");
    let _: Value = session
        .call("list_conversations", json!({}))
        .await
        .expect("works");
    let (status, cookie, _) = session.post_form("log_out", &[]).await;
    assert!(status < 400, "signed out: {status}");
    assert_eq!(
        cookie.as_deref(),
        Some("arbor_session="),
        "the cookie is cleared"
    );
    let ended = session
        .call::<Value>("list_conversations", json!({}))
        .await
        .expect_err("the old token no longer works");
    assert_eq!(ended.status, 401);
    assert_eq!(session.get("/").await.status().as_u16(), 303);
    // The other session (the harness's) is untouched.
    let _: Value = server
        .call("list_conversations", json!({}))
        .await
        .expect("works");
}

#[tokio::test]
async fn sessions_expire() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_SESSION_SECS", "1")]).await;
    let _: Value = server
        .call("list_conversations", json!({}))
        .await
        .expect("fresh");
    let expired = tokio::time::timeout(PATIENCE, async {
        loop {
            match server.call::<Value>("list_conversations", json!({})).await {
                Err(failure) => return failure,
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("the session expires");
    assert_eq!(expired.status, 401);
    assert!(expired.body.to_string().contains("sign in again"));
}

#[tokio::test]
async fn too_many_sign_in_attempts_are_told_to_slow_down() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_LOGINS_PER_MINUTE", "3")]).await;
    let nobody = Session::new(&server.base, None);
    for _ in 0..3 {
        let failed = nobody
            .signed_in("log_in", ADMIN, "guess")
            .await
            .expect_err("wrong");
        assert_eq!(failed.status, 401);
    }
    let slow = nobody
        .signed_in("log_in", ADMIN, "guess")
        .await
        .expect_err("over the limit");
    assert_eq!(slow.status, 429);
    assert!(
        slow.body.to_string().contains("Slow down"),
        "{:?}",
        slow.body
    );
    let still = nobody
        .signed_in("log_in", ADMIN, ADMIN_PASSWORD)
        .await
        .expect_err("even the right password waits");
    assert_eq!(still.status, 429);
}

#[tokio::test]
async fn too_many_messages_are_told_to_slow_down_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_SENDS_PER_MINUTE", "2")]).await;
    let conversation = server.create_conversation().await.id;
    server.send(conversation, None, "one").await;
    server.send(conversation, None, "two").await;
    let messages = server.sql_count("SELECT COUNT(*) FROM messages").await;
    let slow = server
        .try_send(conversation, None, &common::client_id(), "three")
        .await
        .expect_err("over the limit");
    assert_eq!(slow.status, 429);
    assert!(
        slow.body.to_string().contains("Slow down"),
        "{:?}",
        slow.body
    );
    assert_eq!(
        server.sql_count("SELECT COUNT(*) FROM messages").await,
        messages
    );
}

#[tokio::test]
async fn cross_site_requests_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let host = server.base.trim_start_matches("http://").to_string();
    let client = reqwest::Client::new();
    let cookie = server.cookie().expect("signed in");
    for (header, value) in [
        ("origin", "https://evil.example".to_string()),
        ("sec-fetch-site", "cross-site".to_string()),
        ("sec-fetch-site", "same-site".to_string()),
    ] {
        let response = client
            .post(format!("{}/api/create_conversation", server.base))
            .header("cookie", &cookie)
            .header(header, &value)
            .json(&json!({}))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), 403, "{header}: {value}");
    }
    assert_eq!(
        server.sql_count("SELECT COUNT(*) FROM conversations").await,
        0
    );
    let same_site = client
        .post(format!("{}/api/create_conversation", server.base))
        .header("cookie", &cookie)
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .json(&json!({}))
        .send()
        .await
        .expect("answers");
    assert_eq!(same_site.status().as_u16(), 200);
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_nonce_policy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[]).await;
    let response = server.get("/").await;
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    let html = response.text().await.expect("html");
    let policy = headers["content-security-policy"].to_str().expect("text");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the policy names a nonce");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries it"
    );
    assert!(!policy.contains("unsafe-inline"));
    assert!(policy.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let again = server.get("/").await;
    assert_ne!(
        again.headers()["content-security-policy"],
        headers["content-security-policy"],
        "a fresh nonce per page"
    );
    let api = server.get("/api/conversations/x/events").await;
    assert!(api.headers().contains_key("content-security-policy"));
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_anything_is_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_MAX_REQUEST_BYTES", "10000")]).await;
    let conversation = server.create_conversation().await.id;
    let big = server
        .try_send(
            conversation,
            None,
            &common::client_id(),
            &"x".repeat(20_000),
        )
        .await
        .expect_err("too big");
    assert_eq!(big.status, 413);
    assert_eq!(server.sql_count("SELECT COUNT(*) FROM messages").await, 0);
}

#[tokio::test]
async fn the_cookie_is_http_only_lax_and_secure_behind_tls_and_passwords_are_argon2id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_TRUST_PROXY", "true")]).await;
    let client = reqwest::Client::new();
    let log_in = |proto: &'static str| {
        client
            .post(format!("{}/api/log_in", server.base))
            .header("x-forwarded-proto", proto)
            .form(&[("username", ADMIN), ("password", ADMIN_PASSWORD)])
            .send()
    };
    let plain = log_in("http").await.expect("answers");
    let cookie = plain.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(
        cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");
    let tls = log_in("https").await.expect("answers");
    let cookie = tls.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(cookie.ends_with("; Secure"), "{cookie}");

    let hashes = server
        .sql_count(
            "SELECT COUNT(*) FROM users WHERE password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'",
        )
        .await;
    assert_eq!(hashes, 1);
    let plain_text = server
        .sql_count("SELECT COUNT(*) FROM users WHERE password_hash LIKE '%admin password%'")
        .await;
    assert_eq!(plain_text, 0);
    let raw_tokens = server
        .sql_count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{}'",
            server
                .cookie()
                .expect("a cookie")
                .trim_start_matches("arbor_session=")
        ))
        .await;
    assert_eq!(raw_tokens, 0, "only hashes of tokens are stored");
}

#[tokio::test]
async fn metrics_need_an_admin_or_the_scrapers_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(dir.path(), &[("ARBOR_METRICS_TOKEN", "scrape-me")]).await;
    assert_eq!(server.get("/metrics").await.status().as_u16(), 200);
    let nobody = reqwest::Client::new();
    let url = format!("{}/metrics", server.base);
    let anonymous = nobody.get(&url).send().await.expect("answers");
    assert_eq!(anonymous.status().as_u16(), 401);
    let wrong = nobody
        .get(&url)
        .bearer_auth("guess")
        .send()
        .await
        .expect("answers");
    assert_eq!(wrong.status().as_u16(), 401);
    let scraper = nobody
        .get(&url)
        .bearer_auth("scrape-me")
        .send()
        .await
        .expect("answers");
    assert_eq!(scraper.status().as_u16(), 200);
}
