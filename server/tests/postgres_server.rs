//! The throwaway PostgreSQL the tests start (`common::postgres`): it
//! answers over TCP on loopback, has the English full-text search the
//! PostgreSQL storage will use (tsvector with a GIN index), and is gone
//! once dropped.

mod common;

use common::postgres::Postgres;
use sqlx::{Connection, PgConnection, Row};

#[tokio::test]
async fn a_throwaway_postgres_answers_searches_and_stops() {
    let server = Postgres::start();
    let mut db = PgConnection::connect(&server.url)
        .await
        .expect("connects over TCP");
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut db)
        .await
        .expect("a version");
    assert!(!version.is_empty());

    sqlx::query(
        "CREATE TABLE messages (id serial PRIMARY KEY, content text NOT NULL, \
         search tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED)",
    )
    .execute(&mut db)
    .await
    .expect("a table");
    sqlx::query("CREATE INDEX messages_search ON messages USING GIN (search)")
        .execute(&mut db)
        .await
        .expect("a GIN index");
    for text in ["Branching chats keep every answer", "A tree of messages"] {
        sqlx::query("INSERT INTO messages (content) VALUES ($1)")
            .bind(text)
            .execute(&mut db)
            .await
            .expect("inserted");
    }
    let found = sqlx::query(
        "SELECT content FROM messages WHERE search @@ websearch_to_tsquery('english', $1)",
    )
    .bind("answers")
    .fetch_all(&mut db)
    .await
    .expect("searched");
    let texts: Vec<String> = found.iter().map(|row| row.get("content")).collect();
    assert_eq!(
        texts,
        ["Branching chats keep every answer"],
        "stemmed match"
    );
    db.close().await.expect("closed");

    let url = server.url.clone();
    let data = server.data();
    drop(server);
    assert!(
        PgConnection::connect(&url).await.is_err(),
        "the server is stopped"
    );
    assert!(!data.exists(), "its folder is removed");
}
