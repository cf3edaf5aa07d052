//! Headless Chromium for the dashboard's browser tests: the DOM it renders, screenshots, and its
//! network log, so a test can prove a page made no request.
//!
//! Found as env `SHIPIT_TEST_CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on
//! PATH. A missing browser panics with what to install: a test-setup failure, never a skip.
//! Every start gets a fresh `--user-data-dir`; host names resolve to nothing
//! (`--host-resolver-rules`), so the browser's own background requests cannot leave the machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub struct Chromium {
    bin: PathBuf,
    /// Profiles, network logs and screenshots of this browser's runs.
    pub dir: tempfile::TempDir,
}

/// What one page load showed.
pub struct Load {
    pub dom: String,
    /// Requests the page itself started (not the browser's own background ones), as URLs.
    pub page_requests: Vec<String>,
}

impl Chromium {
    pub fn find() -> Chromium {
        let bin = std::env::var_os("SHIPIT_TEST_CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| {
                ["chromium", "chromium-browser", "google-chrome"]
                    .iter()
                    .find_map(|n| which::which(n).ok())
            })
            .unwrap_or_else(|| {
                panic!(
                    "test setup: no Chromium found: install it (`apt-get install -y chromium`) \
                     or set SHIPIT_TEST_CHROMIUM"
                )
            });
        Chromium {
            bin,
            dir: tempfile::tempdir().expect("temp dir for Chromium"),
        }
    }

    fn command(&self, name: &str, extra: &[String]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!(
            "--user-data-dir={}",
            self.dir.path().join(format!("profile-{name}")).display()
        ))
        .args(extra)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
        cmd
    }

    /// Loads `page` (a file) and returns its rendered DOM and the requests it made.
    pub fn load(&self, page: &Path) -> Load {
        let name = "dom";
        let netlog = self.dir.path().join("net-dom.json");
        let out = self
            .command(
                name,
                &[
                    format!("--log-net-log={}", netlog.display()),
                    "--dump-dom".to_owned(),
                    file_url(page),
                ],
            )
            .output()
            .expect("run chromium");
        assert!(
            out.status.success(),
            "chromium --dump-dom failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Load {
            dom: String::from_utf8_lossy(&out.stdout).into_owned(),
            page_requests: page_requests(&netlog),
        }
    }

    /// A PNG screenshot of `page` at `width`×`height`, written to `to`.
    pub fn screenshot(&self, page: &Path, width: u32, height: u32, to: &Path) {
        let out = self
            .command(
                &format!("shot-{width}"),
                &[
                    format!("--window-size={width},{height}"),
                    format!("--screenshot={}", to.display()),
                    file_url(page),
                ],
            )
            .output()
            .expect("run chromium");
        assert!(
            out.status.success() && to.is_file(),
            "chromium --screenshot failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

pub fn file_url(page: &Path) -> String {
    format!(
        "file://{}",
        page.canonicalize().expect("page exists").display()
    )
}

/// URLs of the requests a page started, from Chromium's network log: a request the browser
/// makes for itself has the initiator "not an origin"; one a `file://` page makes has the page's
/// opaque origin (`null`) or a `file://` initiator.
pub fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).expect("chromium wrote its network log");
    // Chromium may be killed before it closes the JSON array; close it ourselves then.
    let log: Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("the network log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64();
    log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_u64() == start_job)
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect()
}

/// The spread of a PNG's pixel values (variance of the RGB channels): a blank page is ~0.
pub fn pixel_variance(png_file: &Path) -> f64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_file).expect("open screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let bytes = &buf[..info.buffer_size()];
    let values: Vec<f64> = bytes
        .chunks(channels)
        .flat_map(|px| px.iter().take(3).map(|&v| f64::from(v)))
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
}
