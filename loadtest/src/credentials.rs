//! Token resolution: the admin and integrator tokens come from flags or the environment
//! (clap reads `CHATEDGE_ADMIN_TOKEN` / `CHATEDGE_INTEGRATOR_TOKEN`), else from the
//! `credentials.json` that `chatedge up` writes (`--credentials PATH`, or
//! `./chatedge-data/credentials.json` when it exists).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::cli::TargetArgs;

/// Where `chatedge up` keeps its credentials by default.
const DEFAULT_FILE: &str = "chatedge-data/credentials.json";

#[derive(Debug, Clone)]
pub struct Tokens {
    pub admin: String,
    pub integrator: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsFile {
    admin_token: Option<String>,
    integrator_token: Option<String>,
}

fn read_file(path: &Path) -> Result<CredentialsFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a credentials JSON object", path.display()))
}

/// Flags and environment first, then the credentials file.
pub fn resolve(target: &TargetArgs) -> Result<Tokens> {
    let file_path: Option<PathBuf> = match &target.credentials {
        Some(p) => Some(p.clone()),
        None if target.admin_token.is_none() || target.integrator_token.is_none() => {
            Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists())
        }
        None => None,
    };
    let file = match &file_path {
        Some(p) => read_file(p)?,
        None => CredentialsFile::default(),
    };
    let admin = target.admin_token.clone().or(file.admin_token).filter(|t| !t.is_empty());
    let integrator = target.integrator_token.clone().or(file.integrator_token).filter(|t| !t.is_empty());
    match (admin, integrator) {
        (Some(admin), Some(integrator)) => Ok(Tokens { admin, integrator }),
        (admin, _) => {
            let missing = if admin.is_none() { "admin" } else { "integrator" };
            bail!(
                "no {missing} token: pass --{missing}-token, set CHATEDGE_{}_TOKEN, or --credentials \
                 PATH (the credentials.json `chatedge up` writes)",
                missing.to_uppercase()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(admin: Option<&str>, integrator: Option<&str>, credentials: Option<PathBuf>) -> TargetArgs {
        TargetArgs {
            data_plane: String::new(),
            control_plane: String::new(),
            admin_token: admin.map(str::to_owned),
            integrator_token: integrator.map(str::to_owned),
            credentials,
            timeout: std::time::Duration::from_secs(1),
            metrics_url: None,
            client: crate::cli::ClientArgs::default(),
        }
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = std::env::temp_dir().join(format!("lt-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("credentials.json");
        std::fs::write(&path, r#"{"adminToken":"file-admin","integratorToken":"file-int","nodeToken":"n"}"#)
            .expect("write");
        let t = resolve(&target(Some("flag-admin"), None, Some(path.clone()))).expect("tokens");
        assert_eq!(t.admin, "flag-admin");
        assert_eq!(t.integrator, "file-int");
        let t = resolve(&target(None, None, Some(path))).expect("tokens");
        assert_eq!((t.admin.as_str(), t.integrator.as_str()), ("file-admin", "file-int"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn missing_tokens_say_where_to_get_them() {
        let err = resolve(&target(Some("a"), Some(""), None)).expect_err("no integrator token");
        assert!(err.to_string().contains("CHATEDGE_INTEGRATOR_TOKEN"));
    }
}
