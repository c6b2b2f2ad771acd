//! {{display_name}}, a QuickScale app.
//!
//! `quickscale up` builds and serves it. The binary also has `migrate`, `create-admin`, `check`
//! and `services` commands: `cargo run -- --help` lists them.

fn main() -> std::process::ExitCode {
    {{crate_name}}::app().run()
}
