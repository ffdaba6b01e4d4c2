//! Builder keys, as Go's dashboard and coordinator compute them: a builder's key is the
//! hex HMAC-MD5 of its name under the master key (Go's app/build/handler.go `builderKey`,
//! cmd/coordinator/dash.go `builderKey`); the master key itself passes for any builder.

use crate::error::{Error, Result};
use hmac::{Hmac, Mac};
use md5::Md5;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

/// Builders whose keys Go's dashboard revoked (`builderKeyRevoked`): no key of theirs
/// passes, whatever it is.
pub const REVOKED: &[&str] = &["plan9-amd64-mischief", "linux-arm-onlinenet"];

/// The dashboard's master key.
#[derive(Clone)]
pub struct MasterKey(String);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    /// A master key from its text; surrounding white space is dropped, as Go's
    /// coordinator does when it reads the key file.
    pub fn new(secret: &str) -> MasterKey {
        MasterKey(secret.trim().to_string())
    }

    /// Reads the key file, or creates it (random, mode 0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<MasterKey> {
        let err = |source| Error::Key {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => Err(Error::EmptyKey(path.to_path_buf())),
            Ok(text) => Ok(MasterKey::new(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = random_hex(24).map_err(err)?;
                write_private(path, &secret).map_err(err)?;
                Ok(MasterKey(secret))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// The key of `builder`: hex(HMAC-MD5(master key, builder)).
    pub fn builder_key(&self, builder: &str) -> String {
        let mut mac =
            Hmac::<Md5>::new_from_slice(self.0.as_bytes()).expect("HMAC takes a key of any size");
        mac.update(builder.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn is_master(&self, key: &str) -> bool {
        bool::from(key.as_bytes().ct_eq(self.0.as_bytes()))
    }

    /// Go's `validKey`: the master key always passes; a revoked builder never does;
    /// otherwise the key must be the builder's.
    pub fn valid(&self, key: &str, builder: &str) -> bool {
        if self.is_master(key) {
            return true;
        }
        if REVOKED.contains(&builder) {
            return false;
        }
        bool::from(key.as_bytes().ct_eq(self.builder_key(builder).as_bytes()))
    }
}

fn random_hex(n: usize) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Writes a secret readable by its owner only.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    opts.open(path)?.write_all(contents.as_bytes())
}

/// Where a data directory keeps the master key (named after the project attribute
/// Go's coordinator reads it from, `builder-master-key`).
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("builder-master.key")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors: Python's hmac.new(master, builder, hashlib.md5).hexdigest().
    #[test]
    fn builder_keys_are_go_hmac_md5() {
        let k = MasterKey::new("gophers rule\n");
        assert_eq!(
            k.builder_key("linux-amd64"),
            "8b3dbf220b21848be6884e982b34702e"
        );
        assert_eq!(
            k.builder_key("linux-amd64-localdev"),
            "ca5e2bb168f629f5e41738494dae57cf"
        );
        assert_eq!(
            MasterKey::new("secret").builder_key("user-gopher"),
            "665ef21820524a6f99962db4c0fd8702"
        );
    }

    #[test]
    fn master_passes_revoked_fails_others_need_their_own_key() {
        let k = MasterKey::new("gophers rule");
        assert!(k.valid("gophers rule", "anything"));
        assert!(k.valid("gophers rule", "plan9-amd64-mischief"));
        assert!(k.valid("8b3dbf220b21848be6884e982b34702e", "linux-amd64"));
        assert!(!k.valid("8b3dbf220b21848be6884e982b34702e", "linux-386"));
        assert!(!k.valid("", "linux-amd64"));
        let revoked = k.builder_key("linux-arm-onlinenet");
        assert!(!k.valid(&revoked, "linux-arm-onlinenet"));
    }

    #[test]
    fn created_once_private_and_reread() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_path(dir.path());
        let a = MasterKey::load_or_create(&path).unwrap();
        let b = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(a.builder_key("x"), b.builder_key("x"));
        assert_eq!(std::fs::read_to_string(&path).unwrap().len(), 48);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, " \n").unwrap();
        let e = MasterKey::load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("is empty"), "{e}");
    }
}
