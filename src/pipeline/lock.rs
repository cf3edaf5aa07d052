//! A local lock per app under `.shipit/locks/`, so two runs in one checkout cannot deploy the
//! same app at once. The OS lock (`File::try_lock`) is released when the process dies, so a
//! crashed run never leaves a stale lock; the file's text only names the holder.
//!
//! The holder's text is in the file before the file can be seen locked: a run writes its text to
//! a temporary file, locks it, and only then puts it at the lock path (a hard link when there is
//! no lock file, a rename over a released one while holding that one's lock). A run refused by
//! the lock therefore always reads whole text naming the holder, never an empty or stale file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held for as long as it lives.
pub(crate) struct AppLock {
    _file: File,
}

pub(crate) fn lock_path(state_dir: &Path, app: &str) -> PathBuf {
    state_dir.join("locks").join(format!("{app}.lock"))
}

/// Takes the app's lock, waiting up to `wait` for another run to release it.
pub(crate) async fn acquire(
    state_dir: &Path,
    app: &str,
    wait: Option<Duration>,
) -> anyhow::Result<AppLock> {
    let path = lock_path(state_dir, app);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
    }
    let start = Instant::now();
    loop {
        match try_take(&path)? {
            Taken::Held(file) => return Ok(AppLock { _file: file }),
            Taken::Retry => {}
            Taken::Busy(holder) => match wait {
                Some(w) if start.elapsed() < w => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                _ => anyhow::bail!(
                    "{app} is locked by another shipit run in this checkout ({holder}; lock file {})\nhint: wait for it to finish, or pass --wait-lock 10m to wait",
                    path.display()
                ),
            },
        }
    }
}

enum Taken {
    Held(File),
    /// The lock file changed under us (another run took it at the same moment): look again.
    Retry,
    /// Held by another run, whose text this is.
    Busy(String),
}

fn try_take(path: &Path) -> anyhow::Result<Taken> {
    let ours = holder_file(path)?;
    let (ours_file, ours_path) = ours;
    let result = place(path, &ours_file, &ours_path);
    // The temporary name is never needed again: the lock path links the same file, or ours lost.
    let _ = std::fs::remove_file(&ours_path);
    match result? {
        Placed::Ours => Ok(Taken::Held(ours_file)),
        Placed::Retry => Ok(Taken::Retry),
        Placed::Busy(holder) => Ok(Taken::Busy(holder)),
    }
}

enum Placed {
    Ours,
    Retry,
    Busy(String),
}

/// Puts our locked, written file at `path`, or says who holds it.
fn place(path: &Path, ours: &File, ours_path: &Path) -> anyhow::Result<Placed> {
    match std::fs::hard_link(ours_path, path) {
        Ok(()) => return Ok(Placed::Ours),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => anyhow::bail!("cannot create the lock file {}: {e}", path.display()),
    }
    let mut current = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        // Removed between the link and the open: try again.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Placed::Retry),
        Err(e) => anyhow::bail!("cannot open the lock file {}: {e}", path.display()),
    };
    match current.try_lock() {
        Ok(()) => {
            // A released lock file. Replace it with ours while holding its lock, but only if it
            // is still the file at the path (another run may have replaced it since we opened it).
            if !same_file(&current, path) {
                return Ok(Placed::Retry);
            }
            std::fs::rename(ours_path, path).map_err(|e| {
                anyhow::anyhow!("cannot replace the lock file {}: {e}", path.display())
            })?;
            drop(current);
            if same_file(ours, path) {
                Ok(Placed::Ours)
            } else {
                Ok(Placed::Retry)
            }
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = current.read_to_string(&mut holder);
            let holder = holder.trim();
            Ok(Placed::Busy(if holder.is_empty() {
                "another shipit run".to_owned()
            } else {
                holder.to_owned()
            }))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("cannot lock {}: {e}", path.display())
        }
    }
}

/// A new file beside the lock path holding this run's text, fsynced and locked.
fn holder_file(path: &Path) -> anyhow::Result<(File, PathBuf)> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", tmp.display()))?;
    let holder = format!(
        "pid {} started {}\n",
        std::process::id(),
        crate::timefmt::now()
    );
    file.write_all(holder.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
    file.try_lock()
        .map_err(|e| anyhow::anyhow!("cannot lock {}: {e}", tmp.display()))?;
    Ok((file, tmp))
}

fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_taker_is_refused_with_the_holders_pid_and_gets_it_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "web", None).await.unwrap();
        let err = acquire(dir.path(), "web", None).await.err().unwrap();
        assert!(
            format!("{err:#}").contains(&format!("pid {}", std::process::id())),
            "{err:#}"
        );
        drop(first);
        let _again = acquire(dir.path(), "web", None).await.unwrap();
        assert!(
            std::fs::read_to_string(lock_path(dir.path(), "web"))
                .unwrap()
                .starts_with("pid ")
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("locks"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
