//! The runtime's error type: every failure says what is wrong and what would work.

/// Errors of device creation, tensor creation, compilation and launch.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A CUDA device was requested but cannot be had.
    #[error(
        "CUDA device {ordinal} is not available: {reason}; Device::cpu() runs every kernel on the interpreter"
    )]
    NoCuda {
        /// The requested device ordinal.
        ordinal: usize,
        /// Why.
        reason: String,
    },
    /// A tensor's data does not match its shape, or a shape is invalid.
    #[error("bad tensor: {0}")]
    Tensor(String),
    /// A kernel could not be compiled for the given compile-time values.
    #[error("cannot compile kernel `{kernel}` with {consts}: {message}")]
    Compile {
        /// Kernel name.
        kernel: String,
        /// The compile-time values, as `NAME = value, ...`.
        consts: String,
        /// The compiler's message (with the source location).
        message: String,
    },
    /// The launch arguments or grid do not fit the kernel.
    #[error("cannot launch kernel `{kernel}`: {message}")]
    Launch {
        /// Kernel name.
        kernel: String,
        /// What is wrong.
        message: String,
    },
    /// The kernel failed while running (out-of-bounds access, failed assert, ...).
    #[error("kernel `{kernel}` failed: {message}")]
    Execution {
        /// Kernel name.
        kernel: String,
        /// The interpreter's or driver's message.
        message: String,
    },
    /// A bundled kernel's API was called with inputs it does not support.
    #[error("{0}")]
    Invalid(String),
}
