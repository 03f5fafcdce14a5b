//! The database a test server uses, and reading it behind the server's
//! back. SQLite by default (a file in the test's folder); PostgreSQL when
//! `ARBOR_TEST_POSTGRES` names a server's admin URL (`scripts/test.sh` runs
//! the integration tests a second time that way, through
//! `scripts/with-postgres.sh`): then each test folder gets its own new
//! database, kept for the folder's later servers (a restart finds its data).

use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row as _};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Which database a test server runs on.
#[derive(Debug, Clone)]
pub enum TestDatabase {
    Sqlite(PathBuf),
    Postgres(String),
}

/// The environment variable naming a PostgreSQL server to test against.
const POSTGRES_ENV: &str = "ARBOR_TEST_POSTGRES";

/// Whether this run tests against PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(POSTGRES_ENV).is_ok_and(|url| !url.is_empty())
}

impl TestDatabase {
    /// The database of the test folder `dir`: made on first use.
    pub async fn for_folder(dir: &Path) -> TestDatabase {
        let Some(admin) = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) else {
            return TestDatabase::Sqlite(dir.join("arbor.db"));
        };
        let marker = dir.join("postgres-database");
        if let Ok(url) = std::fs::read_to_string(&marker) {
            return TestDatabase::Postgres(url);
        }
        let database = TestDatabase::new_postgres(&admin).await;
        std::fs::write(&marker, database.url()).expect("the test folder is writable");
        database
    }

    /// A new, empty database on the PostgreSQL server whose admin URL is
    /// `admin` (its last segment names a database to connect to).
    pub async fn new_postgres(admin: &str) -> TestDatabase {
        let name = format!("arbor_test_{}", Uuid::now_v7().simple());
        let mut db = PgConnection::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("{admin} accepts connections: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut db)
            .await
            .expect("a test database is created");
        match admin.rsplit_once('/') {
            Some((server, _)) => TestDatabase::Postgres(format!("{server}/{name}")),
            None => panic!("the admin URL ends with a database name: {admin}"),
        }
    }

    /// What the server is given as `ARBOR_DATABASE_URL`.
    pub fn url(&self) -> String {
        match self {
            TestDatabase::Sqlite(path) => path.display().to_string(),
            TestDatabase::Postgres(url) => url.clone(),
        }
    }

    /// Runs one statement (setting up a case).
    pub async fn exec(&self, sql: &str) {
        match self {
            TestDatabase::Sqlite(path) => {
                let mut db = open_sqlite(path, false).await;
                sqlx::query(sql).execute(&mut db).await.map(drop)
            }
            TestDatabase::Postgres(url) => {
                let mut db = open_postgres(url).await;
                sqlx::query(sql).execute(&mut db).await.map(drop)
            }
        }
        .unwrap_or_else(|e| panic!("`{sql}` runs: {e}"));
    }

    /// The one integer a query such as `SELECT COUNT(*) …` answers.
    pub async fn count(&self, sql: &str) -> i64 {
        match self {
            TestDatabase::Sqlite(path) => {
                let mut db = open_sqlite(path, true).await;
                sqlx::query_scalar(sql).fetch_one(&mut db).await
            }
            TestDatabase::Postgres(url) => {
                let mut db = open_postgres(url).await;
                sqlx::query_scalar(sql).fetch_one(&mut db).await
            }
        }
        .unwrap_or_else(|e| panic!("`{sql}` runs: {e}"))
    }

    /// Every row of `tables` as text, in a stable order: equal before and
    /// after means nothing was changed.
    pub async fn fingerprint(&self, tables: &[&str]) -> String {
        let mut text = String::new();
        for table in tables {
            let rows: Vec<String> = match self {
                TestDatabase::Sqlite(path) => {
                    let mut db = open_sqlite(path, true).await;
                    let columns: Vec<String> = sqlx::query_scalar(&format!(
                        "SELECT name FROM pragma_table_info('{table}')"
                    ))
                    .fetch_all(&mut db)
                    .await
                    .unwrap_or_else(|e| panic!("{table} has columns: {e}"));
                    let row_text = columns
                        .iter()
                        .map(|c| format!("quote({c})"))
                        .collect::<Vec<_>>()
                        .join(" || '|' || ");
                    sqlx::query_scalar(&format!("SELECT {row_text} FROM {table} ORDER BY rowid"))
                        .fetch_all(&mut db)
                        .await
                }
                TestDatabase::Postgres(url) => {
                    let mut db = open_postgres(url).await;
                    sqlx::query_scalar(&format!(
                        "SELECT row_to_json(t)::text FROM {table} t ORDER BY 1"
                    ))
                    .fetch_all(&mut db)
                    .await
                }
            }
            .unwrap_or_else(|e| panic!("{table} is readable: {e}"));
            text.push_str(&format!("{table}: {}\n", rows.join("\n")));
        }
        text
    }

    /// Every message row of a conversation, oldest first, each column as text.
    pub async fn message_rows(&self, conversation: Uuid) -> Vec<MessageColumns> {
        const COLUMNS: [&str; 9] = [
            "id",
            "parent_id",
            "role",
            "content",
            "status",
            "error",
            "usage",
            "model",
            "params",
        ];
        let rows = match self {
            TestDatabase::Sqlite(path) => {
                let mut db = open_sqlite(path, true).await;
                sqlx::query(&format!(
                    "SELECT {} FROM messages WHERE conversation_id = ? ORDER BY created_at, id",
                    COLUMNS.join(", ")
                ))
                .bind(conversation.to_string())
                .fetch_all(&mut db)
                .await
                .map(|rows| {
                    rows.iter()
                        .map(|r| COLUMNS.map(|c| r.get::<Option<String>, _>(c)))
                        .collect()
                })
            }
            TestDatabase::Postgres(url) => {
                let mut db = open_postgres(url).await;
                sqlx::query(&format!(
                    "SELECT {} FROM messages WHERE conversation_id = $1 ORDER BY created_at, id",
                    COLUMNS.map(|c| format!("{c}::text AS {c}")).join(", ")
                ))
                .bind(conversation)
                .fetch_all(&mut db)
                .await
                .map(|rows| {
                    rows.iter()
                        .map(|r| COLUMNS.map(|c| r.get::<Option<String>, _>(c)))
                        .collect()
                })
            }
        };
        rows.expect("messages can be read")
    }
}

/// A message row's columns (see [`TestDatabase::message_rows`]) as text.
pub type MessageColumns = [Option<String>; 9];

/// A connection to a SQLite file (read-only unless writing a case).
async fn open_sqlite(path: &Path, read_only: bool) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .connect()
        .await
        .expect("the database file opens")
}

async fn open_postgres(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .expect("the test database accepts connections")
}
