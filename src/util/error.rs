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
