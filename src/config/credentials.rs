//! Broker credentials: only from the environment, never from the config file,
//! and never shown (`Debug` redacts the token; there is no `Display`).

use std::ffi::OsString;
use std::fmt;

use super::error::ConfigError;

/// The environment variable holding the Dhan client id.
pub const CLIENT_ID_VAR: &str = "CLIENT_ID";

/// The environment variable holding the Dhan access token.
pub const ACCESS_TOKEN_VAR: &str = "ACCESS_TOKEN";

/// The longest credential accepted, in bytes (Dhan's tokens are JWTs of a few
/// hundred bytes).
pub const CREDENTIAL_LEN_MAX_BYTES: usize = 4096;

/// Dhan credentials. Both are optional: paper mode needs neither; live mode
/// checks for them where it starts.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    client_id: Option<String>,
    access_token: Option<String>,
}

impl Credentials {
    /// Reads [`CLIENT_ID_VAR`] and [`ACCESS_TOKEN_VAR`]. An unset or empty
    /// variable is `None`; one that is not UTF-8 or too long is an error that
    /// names the variable and never its value.
    pub fn from_env() -> Result<Credentials, ConfigError> {
        Credentials::from_lookup(|name| std::env::var_os(name))
    }

    /// As [`Credentials::from_env`], reading variables through `lookup` (tests).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Credentials, ConfigError> {
        let read = |var: &'static str| -> Result<Option<String>, ConfigError> {
            let Some(raw) = lookup(var) else {
                return Ok(None);
            };
            let value = raw.into_string().map_err(|_| ConfigError::Credential {
                var,
                message: "not valid UTF-8; set it to the value Dhan issued".to_owned(),
            })?;
            let value = value.trim();
            if value.len() > CREDENTIAL_LEN_MAX_BYTES {
                return Err(ConfigError::Credential {
                    var,
                    message: format!(
                        "longer than {CREDENTIAL_LEN_MAX_BYTES} bytes; set it to the value Dhan issued"
                    ),
                });
            }
            Ok((!value.is_empty()).then(|| value.to_owned()))
        };
        Ok(Credentials {
            client_id: read(CLIENT_ID_VAR)?,
            access_token: read(ACCESS_TOKEN_VAR)?,
        })
    }

    /// The client id (kept out of logs too: `Debug` shows only whether it is set).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The access token. Pass it to the broker; never log it.
    pub fn access_token(&self) -> Option<&str> {
        self.access_token.as_deref()
    }

    /// Both are set (what live mode needs).
    pub fn is_complete(&self) -> bool {
        self.client_id.is_some() && self.access_token.is_some()
    }
}

/// Shows whether each credential is set, never a value.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |set: bool| if set { "<set>" } else { "<unset>" };
        f.debug_struct("Credentials")
            .field(
                "client_id",
                &format_args!("{}", shown(self.client_id.is_some())),
            )
            .field(
                "access_token",
                &format_args!("{}", shown(self.access_token.is_some())),
            )
            .finish()
    }
}
