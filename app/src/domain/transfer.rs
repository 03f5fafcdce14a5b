//! What the browser knows of exports and imports: where each download is,
//! and the summary an import answers with.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a user's backup (all their conversations) is downloaded.
pub const BACKUP_URL: &str = "/api/backup";

/// Where an administrator downloads every conversation of the instance.
pub const INSTANCE_BACKUP_URL: &str = "/api/admin/backup";

/// Where a file to import is posted (its name in `?file=`).
pub const IMPORT_URL: &str = "/api/import";

/// How a conversation (or one branch of it) is downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// The whole tree, lossless (gzip-compressed JSON).
    Arbor,
    /// One branch, to read.
    Markdown,
    /// One branch as an OpenAI `messages` array.
    OpenAi,
}

impl ExportFormat {
    /// The value of the download's `format=` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Arbor => "arbor",
            ExportFormat::Markdown => "markdown",
            ExportFormat::OpenAi => "openai",
        }
    }

    /// The downloaded file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Arbor => "arbor.json.gz",
            ExportFormat::Markdown => "md",
            ExportFormat::OpenAi => "openai.json",
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "arbor" => Ok(ExportFormat::Arbor),
            "markdown" => Ok(ExportFormat::Markdown),
            "openai" => Ok(ExportFormat::OpenAi),
            other => Err(format!(
                "unknown export format `{other}` (expected arbor, markdown or openai)"
            )),
        }
    }
}

/// The download of `conversation` in `format`; a branch format exports the
/// branch through `leaf` (none: the shown one).
pub fn conversation_export_url(
    conversation: Uuid,
    format: ExportFormat,
    leaf: Option<Uuid>,
) -> String {
    let mut url = format!(
        "/api/conversations/{conversation}/export?format={}",
        format.as_str()
    );
    if let Some(leaf) = leaf {
        url.push_str(&format!("&leaf={leaf}"));
    }
    url
}

/// A file name made safe for a download header: letters, digits, spaces,
/// `-` and `_` kept, the rest dropped; never empty.
pub fn file_stem(title: &str) -> String {
    let stem: String = title
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .take(60)
        .collect();
    let stem = stem.trim().replace(' ', "-");
    if stem.is_empty() {
        "conversation".into()
    } else {
        stem
    }
}

/// `n` bytes in words, e.g. `256 MiB` or `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Why a file cannot be uploaded for import, if it is too large.
pub fn oversized(file_name: &str, size: u64, limit: u64) -> Option<String> {
    (size > limit).then(|| {
        format!(
            "{file_name} is {}; the largest import this Arbor accepts is {}.",
            human_bytes(size),
            human_bytes(limit)
        )
    })
}

/// One conversation an import stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedConversation {
    pub id: Uuid,
    pub title: String,
    pub messages: usize,
    /// How many leaves its tree has.
    pub branches: usize,
    /// Its ids were taken (already imported, say), so it got new ones.
    pub new_ids: bool,
}

/// One conversation an import left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedConversation {
    /// Which one, by position and title.
    pub conversation: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// The uploaded file's name.
    pub file: String,
    /// The format it was read as (e.g. "ChatGPT export").
    pub format: String,
    pub imported: Vec<ImportedConversation>,
    pub skipped: Vec<SkippedConversation>,
}

impl ImportSummary {
    /// Messages imported in all.
    pub fn messages(&self) -> usize {
        self.imported.iter().map(|c| c.messages).sum()
    }

    /// Branches imported in all.
    pub fn branches(&self) -> usize {
        self.imported.iter().map(|c| c.branches).sum()
    }

    /// One line, e.g. `3 conversations, 41 messages, 7 branches imported; 1 skipped`.
    pub fn headline(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut line = format!(
            "{}, {}, {} imported",
            plural(self.imported.len(), "conversation", "conversations"),
            plural(self.messages(), "message", "messages"),
            plural(self.branches(), "branch", "branches"),
        );
        if !self.skipped.is_empty() {
            line.push_str(&format!("; {} skipped", self.skipped.len()));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_urls_name_format_and_leaf() {
        let id = Uuid::from_u128(1);
        assert_eq!(
            conversation_export_url(id, ExportFormat::Markdown, Some(Uuid::from_u128(2))),
            format!(
                "/api/conversations/{id}/export?format=markdown&leaf={}",
                Uuid::from_u128(2)
            )
        );
        assert_eq!("openai".parse(), Ok(ExportFormat::OpenAi));
        assert!("pdf"
            .parse::<ExportFormat>()
            .unwrap_err()
            .contains("unknown export format"));
    }

    #[test]
    fn sizes_read_as_words() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(256 * 1024 * 1024), "256 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(
            oversized("a.zip", 2048, 1024).as_deref(),
            Some("a.zip is 2 KiB; the largest import this Arbor accepts is 1 KiB.")
        );
        assert_eq!(oversized("a.zip", 1024, 1024), None);
    }

    #[test]
    fn file_stems_are_header_safe() {
        assert_eq!(file_stem("Trip to \"Lisbon\"\r\n; rm"), "Trip-to-Lisbon-rm");
        assert_eq!(file_stem("  "), "conversation");
    }

    #[test]
    fn the_headline_counts_everything() {
        let conversation = |messages, branches| ImportedConversation {
            id: Uuid::nil(),
            title: String::new(),
            messages,
            branches,
            new_ids: false,
        };
        let summary = ImportSummary {
            file: "x.json".into(),
            format: "ChatGPT export".into(),
            imported: vec![conversation(4, 2), conversation(1, 1)],
            skipped: vec![SkippedConversation {
                conversation: "conversation 3".into(),
                reason: "r".into(),
            }],
        };
        assert_eq!(
            summary.headline(),
            "2 conversations, 5 messages, 3 branches imported; 1 skipped"
        );
    }
}
