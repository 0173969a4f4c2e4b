//! The built-in drivers against real processes, real scripts and a real HTTP server,
//! all on this machine (127.0.0.1, port 0, temp dirs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure, like tests

mod drivers {
    mod exec;
    mod http;
    mod process;
}
