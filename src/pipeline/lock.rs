//! A local lock per app under `.shipit/locks/`, so two runs in one checkout cannot deploy the
//! same app at once. The OS lock (`File::try_lock`) is released when the process dies, so a
//! crashed run never leaves a stale lock; the file's text only names the holder.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held for as long as it lives.
pub struct AppLock {
    _file: File,
    pub path: PathBuf,
}

pub fn lock_path(state_dir: &Path, app: &str) -> PathBuf {
    state_dir.join("locks").join(format!("{app}.lock"))
}

/// Takes the app's lock, waiting up to `wait` for another run to release it.
pub async fn acquire(
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
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open the lock file {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                let holder = format!(
                    "pid {} started {}\n",
                    std::process::id(),
                    crate::timefmt::now()
                );
                file.set_len(0)?;
                file.rewind()?;
                file.write_all(holder.as_bytes())?;
                file.sync_all()?;
                return Ok(AppLock { _file: file, path });
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "another shipit run"
                } else {
                    holder
                };
                match wait {
                    Some(w) if start.elapsed() < w => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    _ => anyhow::bail!(
                        "{app} is locked by another shipit run in this checkout ({holder}; lock file {})\nhint: wait for it to finish, or pass --wait-lock 10m to wait",
                        path.display()
                    ),
                }
            }
            Err(std::fs::TryLockError::Error(e)) => {
                anyhow::bail!("cannot lock {}: {e}", path.display())
            }
        }
    }
}
