//! A throwaway PostgreSQL server for tests: `initdb` into a temporary
//! folder, started by `pg_ctl` on a free loopback port (its socket in the
//! same folder), stopped when dropped. Never a shared instance. The
//! binaries come from Debian's `postgresql` package (`scripts/setup.sh test`
//! installs it) or from `PATH`. `initdb` refuses to run as root, so as root
//! the server runs as the `postgres` user the package creates.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running PostgreSQL server; stopped (immediately) when dropped.
pub struct Postgres {
    /// Holds the data folder, the socket and the log.
    folder: tempfile::TempDir,
    bin: PathBuf,
    /// Who runs the server's commands (`None`: this user).
    user: Option<String>,
    /// `postgres://arbor@127.0.0.1:<port>/postgres`, no password.
    pub url: String,
}

/// The folder holding `initdb` and `pg_ctl`: the newest Debian version, else
/// wherever `PATH` finds `initdb`.
fn bin_folder() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .filter(|bin| bin.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(newest) = versions.pop() {
        return newest;
    }
    let found = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .expect("sh runs");
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    assert!(
        !path.is_empty(),
        "PostgreSQL is not installed: scripts/setup.sh test installs it"
    );
    Path::new(&path).parent().expect("a folder").to_path_buf()
}

impl Postgres {
    /// Creates and starts a new server; panics with PostgreSQL's own log if
    /// it cannot.
    pub fn start() -> Postgres {
        let bin = bin_folder();
        let folder = tempfile::tempdir().expect("temp dir");
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let user = is_root.then(|| "postgres".to_string());
        if let Some(user) = &user {
            let owned = Command::new("chown")
                .args(["-R", user])
                .arg(folder.path())
                .status()
                .expect("chown runs");
            assert!(owned.success(), "the temp folder is given to {user}");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = Postgres {
            url: format!("postgres://arbor@127.0.0.1:{port}/postgres"),
            folder,
            bin,
            user,
        };
        let data = server.folder.path().join("data");
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "arbor".as_ref(),
                "--auth=trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            server.folder.path().display()
        );
        let log = server.folder.path().join("log");
        server.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        server
    }

    /// Runs one of PostgreSQL's programs (as its user when root), failing
    /// the test with its output and the server log if it fails.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let output = self
            .command(program)
            .args(args)
            .output()
            .expect("the program runs");
        if !output.status.success() {
            let log = std::fs::read_to_string(self.folder.path().join("log")).unwrap_or_default();
            panic!(
                "{program} failed: {}{}\n{log}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// One of PostgreSQL's programs, run as its user when this is root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match &self.user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    /// The folder the data lives in.
    pub fn data(&self) -> PathBuf {
        self.folder.path().join("data")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}
