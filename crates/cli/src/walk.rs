//! Every file under a folder: what `generate-service` searches for slugs, what the build script
//! embeds, what the tests compare before and after a command. Plain `std`, so that the build
//! script can use it too.

use std::path::{Path, PathBuf};

/// Every file under `dir` (folders themselves are not listed), sorted. Symbolic links are
/// listed, not followed: a link to a parent folder would never end.
pub fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot read {}: {e}", current.display()))
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_nested_files_sorted_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::write(root.join("b/c/deep.txt"), "").unwrap();
        std::fs::write(root.join("a.txt"), "").unwrap();
        std::fs::create_dir(root.join("empty")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("b/loop")).unwrap();
        let relative: Vec<String> = files_under(root)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        let mut expected = vec!["a.txt", "b/c/deep.txt"];
        if cfg!(unix) {
            expected.push("b/loop");
        }
        assert_eq!(relative, expected);
    }

    #[test]
    fn an_unreadable_folder_is_an_error_that_names_it() {
        let missing = Path::new("/nonexistent/quickscale-walk");
        let error = files_under(missing).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
        assert!(error.to_string().contains("/nonexistent/quickscale-walk"));
    }
}
