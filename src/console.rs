//! Best-effort printing to the terminal. A ceremony must outlive its terminal: a closed or
//! broken stdout (a closed ssh session, `| head`) never panics or stops anything; the line is
//! just lost.

use std::io::Write;

/// Prints `line` and a newline to stdout, ignoring any error.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// Prints `text` to stderr as is, ignoring any error.
pub fn warn(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
