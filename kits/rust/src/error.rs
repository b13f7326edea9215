use std::fmt;

/// What a handler or a host call can fail with: a message for the operator's log.
///
/// Any standard error converts into it with `?`; [`Error::msg`] makes one from text.
pub struct Error {
    message: String,
}

/// `Result<T, wws::Error>`, the return type of handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn msg(message: impl fmt::Display) -> Self {
        Error { message: message.to_string() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

// Like anyhow's, `Error` does not implement `std::error::Error` itself, so that every error type converts into it.
impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        Error::msg(error)
    }
}
