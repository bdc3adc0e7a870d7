//! HTTP Basic authentication against a user store of salted PBKDF2-HMAC-SHA256 password
//! hashes (Ballerina's file user store).

use super::Principal;
use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Iterations of a new hash: OWASP's recommendation for PBKDF2-HMAC-SHA256 (2023).
pub const DEFAULT_ITERATIONS: u32 = 600_000;

const PREFIX: &str = "$pbkdf2-sha256$";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// Hashes `password` with a random salt and [`DEFAULT_ITERATIONS`], as a PHC string:
/// `$pbkdf2-sha256$i=600000$<salt>$<hash>` (standard base64 without padding).
pub fn hash_password(password: &str) -> String {
    hash_password_with_iterations(password, DEFAULT_ITERATIONS)
}

/// [`hash_password`] with a chosen iteration count (at least 1). Fewer iterations are faster
/// to check and faster to crack: keep the default outside tests.
pub fn hash_password_with_iterations(password: &str, iterations: u32) -> String {
    let iterations = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
    let mut salt = [0u8; SALT_LEN];
    SystemRandom::new()
        .fill(&mut salt)
        .expect("the system random generator failed");
    let mut hash = [0u8; HASH_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &mut hash,
    );
    format!(
        "{PREFIX}i={iterations}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    )
}

/// A parsed password hash.
#[derive(Clone)]
struct Hash {
    iterations: NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Hash {
    fn parse(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!("not a password hash of the form `{PREFIX}i=<iterations>$<salt>$<hash>` (make one with `ws_framework::auth::hash_password`)")
        };
        let rest = s.trim().strip_prefix(PREFIX).ok_or_else(bad)?;
        let mut parts = rest.split('$');
        let (Some(params), Some(salt), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let iterations = params
            .strip_prefix("i=")
            .and_then(|i| i.parse::<u32>().ok())
            .and_then(NonZeroU32::new)
            .ok_or_else(bad)?;
        let decode = |b: &str| {
            STANDARD_NO_PAD
                .decode(b.trim_end_matches('='))
                .map_err(|_| bad())
        };
        let salt = decode(salt)?;
        let hash = decode(hash)?;
        if hash.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            iterations,
            salt,
            hash,
        })
    }

    fn verify(&self, password: &str) -> bool {
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            &self.salt,
            password.as_bytes(),
            &self.hash,
        )
        .is_ok()
    }
}

/// Checks `password` against a hash made by [`hash_password`]; an error when the hash is
/// malformed.
pub fn verify_password(password: &str, hash: &str) -> Result<bool> {
    Ok(Hash::parse(hash).map_err(Error::Auth)?.verify(password))
}

/// One user of a [`UserStore`]: a name, a password hash and scopes.
#[derive(Clone)]
pub struct User {
    name: String,
    password_hash: String,
    scopes: Vec<String>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl User {
    /// A user with a password hash from [`hash_password`].
    pub fn new(name: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            password_hash: password_hash.into(),
            scopes: Vec::new(),
        }
    }

    /// The user's scopes (Ballerina's groups/scopes of the file user store).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

struct Entry {
    hash: Hash,
    scopes: Vec<String>,
}

type Users = HashMap<String, Entry>;

/// Users for Basic authentication: given in code, or read from a file when the service is
/// attached.
///
/// The file has one user a line, `name:hash[:scope1,scope2]`; blank lines and lines starting
/// with `#` are skipped:
///
/// ```text
/// # users.txt
/// alice:$pbkdf2-sha256$i=600000$c2FsdHNhbHRzYWx0c2FsdA$...:chat:read,chat:write
/// bob:$pbkdf2-sha256$i=600000$...
/// ```
///
/// Hashes are checked on a blocking thread (PBKDF2 is slow on purpose); an unknown user costs
/// as much time as a wrong password, so names cannot be probed by timing.
#[derive(Clone)]
pub struct UserStore {
    users: Vec<User>,
    files: Vec<PathBuf>,
    loaded: Arc<OnceLock<Users>>,
}

impl fmt::Debug for UserStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserStore")
            .field("users", &self.users)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl Default for UserStore {
    fn default() -> Self {
        Self::new()
    }
}

impl UserStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            users: Vec::new(),
            files: Vec::new(),
            loaded: Arc::new(OnceLock::new()),
        }
    }

    /// Adds a user.
    pub fn user(mut self, user: User) -> Self {
        self.users.push(user);
        self.loaded = Arc::new(OnceLock::new());
        self
    }

    /// Adds the users of a file (read when the service is attached; see the type's docs).
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        Self::new().file(path)
    }

    /// Adds the users of another file.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(path.into());
        self.loaded = Arc::new(OnceLock::new());
        self
    }

    /// Reads the files and parses every hash; errors name the file and line, or the user.
    pub fn prepare(&self) -> Result<()> {
        self.users().map(drop).map_err(Error::Auth)
    }

    fn users(&self) -> std::result::Result<&Users, String> {
        if let Some(users) = self.loaded.get() {
            return Ok(users);
        }
        let mut users = Users::new();
        for user in &self.users {
            let hash = Hash::parse(&user.password_hash)
                .map_err(|e| format!("user `{}`: {e}", user.name))?;
            users.insert(
                user.name.clone(),
                Entry {
                    hash,
                    scopes: user.scopes.clone(),
                },
            );
        }
        for path in &self.files {
            if path.as_os_str().is_empty() {
                return Err("the user store file location must be provided".to_owned());
            }
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!("cannot read the user store file `{}`: {e}", path.display())
            })?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let at = || format!("user store file `{}`, line {}", path.display(), n + 1);
                let mut fields = line.splitn(3, ':');
                let (Some(name), Some(hash)) = (fields.next(), fields.next()) else {
                    return Err(format!("{}: expected `name:hash[:scopes]`", at()));
                };
                if name.is_empty() {
                    return Err(format!("{}: empty user name", at()));
                }
                let hash = Hash::parse(hash).map_err(|e| format!("{}: {e}", at()))?;
                let scopes = fields
                    .next()
                    .map(|s| {
                        s.split([',', ' '])
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                users.insert(name.to_owned(), Entry { hash, scopes });
            }
        }
        Ok(self.loaded.get_or_init(|| users))
    }

    /// Checks a user name and password; the principal carries the user's scopes.
    pub async fn authenticate(
        &self,
        name: &str,
        password: &str,
    ) -> std::result::Result<Principal, String> {
        let users = self.users()?;
        let (hash, scopes) = match users.get(name) {
            Some(entry) => (entry.hash.clone(), Some(entry.scopes.clone())),
            // Spend the same time on unknown users.
            None => match users.values().next() {
                Some(any) => (any.hash.clone(), None),
                None => return Err("invalid user name or password".to_owned()),
            },
        };
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || hash.verify(&password))
            .await
            .unwrap_or(false);
        match (ok, scopes) {
            (true, Some(scopes)) => Ok(Principal::new(name)
                .with_scopes(scopes)
                .with_scheme("Basic")),
            _ => Err("invalid user name or password".to_owned()),
        }
    }

    /// Decodes a Basic credential (`base64(name:password)`) and checks it.
    pub(crate) async fn authenticate_basic(
        &self,
        credentials: &str,
    ) -> std::result::Result<Principal, String> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("malformed Basic credentials")?;
        let (name, password) = decoded
            .split_once(':')
            .ok_or("malformed Basic credentials")?;
        self.authenticate(name, password).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_password_with_iterations("s3cret", 1000);
        assert!(h.starts_with("$pbkdf2-sha256$i=1000$"));
        assert!(verify_password("s3cret", &h).unwrap());
        assert!(!verify_password("S3cret", &h).unwrap());
        assert!(verify_password("x", "plain").is_err());
        assert_ne!(h, hash_password_with_iterations("s3cret", 1000), "salted");
    }

    #[tokio::test]
    async fn store_from_users_and_file() {
        let dir = std::env::temp_dir().join(format!("ws-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("users.txt");
        std::fs::write(
            &file,
            format!(
                "# users\n\nbob:{}:a,b\n",
                hash_password_with_iterations("pw", 10)
            ),
        )
        .unwrap();
        let store = UserStore::from_file(&file)
            .user(User::new("alice", hash_password_with_iterations("pw2", 10)).scopes(["x"]));
        store.prepare().unwrap();
        let bob = store.authenticate("bob", "pw").await.unwrap();
        assert_eq!(bob.scopes(), ["a", "b"]);
        assert_eq!(
            store.authenticate("alice", "pw2").await.unwrap().name(),
            "alice"
        );
        assert!(store.authenticate("alice", "pw").await.is_err());
        assert!(store.authenticate("carol", "pw").await.is_err());

        std::fs::write(&file, "bob:notahash\n").unwrap();
        let err = UserStore::from_file(&file)
            .prepare()
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("users.txt"), "{err}");
        let err = UserStore::from_file(dir.join("missing.txt"))
            .prepare()
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.txt"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
