//! Error kinds that decide the exit code.
//!
//! Anything caused by what the user handed us (a file, a config key, an argument) is an
//! [`InputError`] somewhere in the error chain: `main` maps it to exit code 2. Every other
//! failure exits 1.

/// Bad input: a file, row, column, config key or argument the user must fix. Exit code 2.
/// The message names the file/row/column/key and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl InputError {
    pub fn new(msg: impl Into<String>) -> Self {
        InputError(msg.into())
    }
}

/// True when `err` (or anything in its chain) is bad input.
pub fn is_input_error(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<InputError>())
}

/// Errors about the keys of one config file: "config file F: key `K`: message". Each
/// config section's check uses it so every message names the file and the key path.
#[derive(Debug, Clone, Copy)]
pub struct ConfigKeys<'a> {
    pub path: &'a std::path::Path,
}

impl ConfigKeys<'_> {
    pub fn err(&self, key: &str, msg: impl std::fmt::Display) -> InputError {
        InputError::new(format!(
            "config file {}: key `{key}`: {msg}",
            self.path.display()
        ))
    }
    /// `key` must list at least one value.
    pub fn non_empty<T>(&self, key: &str, v: &[T]) -> Result<(), InputError> {
        if v.is_empty() {
            Err(self.err(key, "must list at least one value"))
        } else {
            Ok(())
        }
    }
    /// `key` must be a non-blank name.
    pub fn name(&self, key: &str, v: &str) -> Result<(), InputError> {
        if v.trim().is_empty() {
            Err(self.err(key, "must be a non-empty name"))
        } else {
            Ok(())
        }
    }
}
