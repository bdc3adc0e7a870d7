//! PEM material (certificates, keys) from a file or from memory, read with errors that name
//! the file, so a misconfiguration is reported where it is set up, not at the first connection.

use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where PEM text comes from.
#[derive(Clone)]
pub(crate) enum PemSource {
    /// A file, read when the configuration is built.
    File(PathBuf),
    /// Bytes held in memory.
    Memory(Arc<[u8]>),
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            // Never print key material.
            Self::Memory(bytes) => write!(f, "Memory({} bytes)", bytes.len()),
        }
    }
}

impl PemSource {
    pub(crate) fn file(path: impl Into<PathBuf>) -> Self {
        Self::File(path.into())
    }

    pub(crate) fn memory(bytes: impl Into<Vec<u8>>) -> Self {
        Self::Memory(Arc::from(bytes.into()))
    }

    /// "file `x.pem`" or "in-memory PEM", for messages.
    pub(crate) fn describe(&self, what: &str) -> String {
        match self {
            Self::File(path) => format!("{what} file `{}`", path.display()),
            Self::Memory(_) => format!("{what} (PEM in memory)"),
        }
    }

    /// The raw bytes; blank paths, unreadable and empty files are errors naming the file.
    pub(crate) fn bytes(&self, what: &str) -> Result<Arc<[u8]>, String> {
        let bytes: Arc<[u8]> = match self {
            Self::File(path) => {
                if path.as_os_str().is_empty() || path.to_string_lossy().trim().is_empty() {
                    return Err(format!("the {what} file location must be provided"));
                }
                std::fs::read(path)
                    .map_err(|e| format!("cannot read the {what} file `{}`: {e}", path.display()))?
                    .into()
            }
            Self::Memory(bytes) => bytes.clone(),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(format!("the {} is empty", self.describe(what)));
        }
        Ok(bytes)
    }

    /// Every certificate in the PEM text (at least one).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn certificates(&self, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
        let bytes = self.bytes(what)?;
        let certs = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("the {} is not valid PEM: {e}", self.describe(what)))?;
        if certs.is_empty() {
            return Err(format!(
                "the {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                self.describe(what)
            ));
        }
        Ok(certs)
    }

    /// The first private key (PKCS#8, PKCS#1 or SEC1) in the PEM text.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn private_key(&self, what: &str) -> Result<PrivateKeyDer<'static>, String> {
        let bytes = self.bytes(what)?;
        match PrivateKeyDer::from_pem_slice(&bytes) {
            Ok(key) => Ok(key),
            Err(pem::Error::NoItemsFound) => {
                if contains(&bytes, b"ENCRYPTED PRIVATE KEY") {
                    Err(format!(
                        "the {} holds an encrypted private key; decrypt it first (for example `openssl pkcs8 -in key.pem -out plain.pem`)",
                        self.describe(what)
                    ))
                } else {
                    Err(format!(
                        "the {} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                        self.describe(what)
                    ))
                }
            }
            Err(e) => Err(format!("the {} is not valid PEM: {e}", self.describe(what))),
        }
    }

    /// The first section of one of `kinds`, with its kind.
    pub(crate) fn section(
        &self,
        what: &str,
        kinds: &[SectionKind],
    ) -> Result<(SectionKind, Vec<u8>), String> {
        let bytes = self.bytes(what)?;
        for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes) {
            let (kind, der) =
                item.map_err(|e| format!("the {} is not valid PEM: {e}", self.describe(what)))?;
            if kinds.contains(&kind) {
                return Ok((kind, der));
            }
        }
        Err(format!(
            "the {} holds no {} PEM section",
            self.describe(what),
            kinds
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    }
}

#[cfg_attr(not(feature = "tls"), allow(dead_code))]
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
