//! A listener's `tls`: one `cert`/`key` pair or a `certs` list of them, never both.
//! Each path resolves against the configuration's directory and must name a readable
//! file now, so a typo fails at `tidegate check` rather than at the first handshake.

use std::fs::File;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::raw::{RawCertKey, RawListenerTls};
use crate::source::Source;
use crate::{CertKey, ConfigError, ListenerTls};

use super::value;

/// Hint for a `tls` table without a certificate.
const TLS_HINT: &str = "write tls = { cert = \"cert.pem\", key = \"key.pem\" }, or certs = [{ cert = ..., key = ... }, ...] for several certificates";

/// The certificates of a listener's `tls` table.
pub(super) fn listener_tls(
    raw: &Spanned<RawListenerTls>,
    base_dir: &Path,
    source: &Source<'_>,
) -> Result<ListenerTls, ConfigError> {
    let tls = raw.get_ref();
    let certs = match (&tls.certs, &tls.cert, &tls.key) {
        (Some(certs), None, None) => {
            if certs.get_ref().is_empty() {
                return Err(source.error(
                    certs.span(),
                    "tls.certs is empty",
                    "list at least one certificate: certs = [{ cert = \"cert.pem\", key = \"key.pem\" }]",
                ));
            }
            certs
                .get_ref()
                .iter()
                .map(|pair| cert_key(pair.get_ref(), base_dir, source))
                .collect::<Result<_, _>>()?
        }
        (Some(certs), _, _) => {
            return Err(source.error_at_key(
                certs.span(),
                "tls has both cert/key and certs",
                "use either cert and key for one certificate, or certs = [{ cert = ..., key = ... }, ...] for several; move cert and key into certs",
            ));
        }
        (None, Some(cert), Some(key)) => vec![CertKey {
            cert: file(cert, "cert", base_dir, source)?,
            key: file(key, "key", base_dir, source)?,
        }],
        (None, Some(_), None) => {
            return Err(source.error(raw.span(), "tls has a cert but no key", TLS_HINT));
        }
        (None, None, Some(_)) => {
            return Err(source.error(raw.span(), "tls has a key but no cert", TLS_HINT));
        }
        (None, None, None) => {
            return Err(source.error(raw.span(), "tls names no certificate", TLS_HINT));
        }
    };
    Ok(ListenerTls { certs })
}

fn cert_key(
    pair: &RawCertKey,
    base_dir: &Path,
    source: &Source<'_>,
) -> Result<CertKey, ConfigError> {
    Ok(CertKey {
        cert: file(&pair.cert, "cert", base_dir, source)?,
        key: file(&pair.key, "key", base_dir, source)?,
    })
}

/// A path that names a file this process can open for reading.
fn file(
    value: &Spanned<String>,
    key: &str,
    base_dir: &Path,
    source: &Source<'_>,
) -> Result<PathBuf, ConfigError> {
    let path = value::path(value, key, base_dir, source)?;
    let written = value.get_ref();
    let shown = path.display();
    let problem = match std::fs::metadata(&path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Some((
            format!("tls {key} file \"{written}\" does not exist"),
            format!(
                "create {shown}, or fix the path (relative paths start at {})",
                base_dir.display()
            ),
        )),
        Err(error) => Some((
            format!("tls {key} file \"{written}\" cannot be read: {error}"),
            format!("make {shown} readable by the user tidegate runs as"),
        )),
        Ok(metadata) if metadata.is_dir() => Some((
            format!("tls {key} \"{written}\" is a directory"),
            format!("point {key} at a PEM file, not at the directory {shown}"),
        )),
        Ok(_) => File::open(&path).err().map(|error| {
            (
                format!("tls {key} file \"{written}\" cannot be read: {error}"),
                format!("make {shown} readable by the user tidegate runs as"),
            )
        }),
    };
    match problem {
        Some((message, hint)) => Err(source.error(value.span(), message, hint)),
        None => Ok(path),
    }
}
