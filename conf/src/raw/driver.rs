//! A `[driver.NAME]` as written: every key any driver kind takes. Which keys the
//! chosen `kind` allows is checked in validation, so the error can name the kind.

use serde::Deserialize;
use toml::Spanned;

use super::Named;

/// `[driver.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawDriver {
    pub(crate) kind: Spanned<String>,
    pub(crate) command: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) ports: Option<Spanned<String>>,
    pub(crate) regions: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) env: Option<Spanned<Named<String>>>,
    pub(crate) list: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) launch: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) remove: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) timeout: Option<Spanned<String>>,
    pub(crate) url: Option<Spanned<String>>,
    pub(crate) token: Option<Spanned<String>>,
    pub(crate) region: Option<Spanned<String>>,
    pub(crate) group: Option<Spanned<String>>,
    pub(crate) port: Option<Spanned<i64>>,
    pub(crate) endpoint: Option<Spanned<String>>,
    pub(crate) ec2_endpoint: Option<Spanned<String>>,
}
