//! `--sandbox`: the files a `.ksql` file may read and write (connector files, RUN SCRIPT)
//! are confined to one folder, the folder of the file that is run. Paths are compared
//! after resolving `..` and symbolic links, so neither leads out of the folder.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The folder, canonical.
    root: PathBuf,
}

impl Sandbox {
    /// Confines to `folder`.
    pub fn new(folder: &Path) -> std::io::Result<Sandbox> {
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        Ok(Sandbox {
            root: folder.canonicalize()?,
        })
    }

    /// Confines to the folder of the `.ksql` file `file`.
    pub fn of_file(file: &Path) -> std::io::Result<Sandbox> {
        Sandbox::new(file.parent().unwrap_or(Path::new(".")))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Is `path` inside the folder? A file that does not exist yet (a sink's) is placed by
    /// its folder, which must exist. The error says why not, naming the path.
    pub fn check(&self, path: &Path) -> Result<(), String> {
        let resolved = match path.canonicalize() {
            Ok(p) => Some(p),
            Err(_) => match (path.parent(), path.file_name()) {
                (Some(dir), Some(name)) => {
                    let dir = if dir.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        dir
                    };
                    dir.canonicalize().ok().map(|d| d.join(name))
                }
                _ => None,
            },
        };
        match resolved {
            Some(p) if p.starts_with(&self.root) => Ok(()),
            Some(p) => Err(format!(
                "{} ({}) is outside {}, the folder --sandbox allows",
                path.display(),
                p.display(),
                self.root.display()
            )),
            None => Err(format!(
                "{} cannot be placed inside {}, the folder --sandbox allows (its folder does not exist)",
                path.display(),
                self.root.display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_pass_and_paths_leading_out_fail() {
        let d = tempfile::tempdir().unwrap();
        let inner = d.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(inner.join("a.jsonl"), "").unwrap();
        std::fs::write(d.path().join("outside.jsonl"), "").unwrap();
        let s = Sandbox::new(&inner).unwrap();
        assert!(s.check(&inner.join("a.jsonl")).is_ok());
        assert!(s.check(&inner.join("new_sink.jsonl")).is_ok());
        let out = s.check(&inner.join("../outside.jsonl")).unwrap_err();
        assert!(
            out.contains("outside.jsonl") && out.contains("is outside"),
            "{out}"
        );
        assert!(s.check(Path::new("/etc/passwd")).is_err());
        assert!(s.check(&inner.join("../new_outside.jsonl")).is_err());
        assert!(s.check(&inner.join("missing/dir/x.jsonl")).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.path().join("outside.jsonl"), inner.join("link.jsonl"))
                .unwrap();
            assert!(
                s.check(&inner.join("link.jsonl")).is_err(),
                "a link leading out"
            );
        }
    }
}
