//! The environment of the Cargo we run. The tests from the outside (the top-level
//! `tests/support`) build generated projects with it too, so that both build them exactly alike.

use std::process::Command;

/// Removes the variables Cargo sets for the programs it runs (`cargo run`, tests). Build
/// scripts such as ring's watch some of them (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`): left in,
/// they would make this build recompile dependencies that a build from a plain shell then
/// recompiles again.
pub fn without_cargo_context(command: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let set_by_cargo = key == "CARGO"
            || key == "OUT_DIR"
            || key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_EXE_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_MANIFEST_LINKS",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&key);
        if set_by_cargo {
            command.env_remove(key);
        }
    }
    command
}
