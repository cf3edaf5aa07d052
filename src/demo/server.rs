//! The demo's HTTP server on 127.0.0.1: `/health` and `/` answer as the live release would
//! (500 for an image tagged `-broken`), and `POST /hooks` receives the demo's notifications.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::DemoPlatform;

pub(crate) struct DemoServer {
    pub port: u16,
    /// Bodies of the notifications received on `/hooks`.
    pub hooks: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DemoServer {
    pub(crate) async fn start(platform: DemoPlatform) -> std::io::Result<DemoServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let hooks = Arc::new(Mutex::new(Vec::new()));
        let h = hooks.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    continue;
                };
                let platform = platform.clone();
                let hooks = h.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Read the head, then as much body as Content-Length says.
                    let (head_end, length) = loop {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    l.strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            break (pos + 4, len);
                        }
                    };
                    while buf.len() < head_end + length {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                    let request_line = head.lines().next().unwrap_or_default();
                    let (status, body) = if request_line.starts_with("POST /hooks") {
                        let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
                        hooks
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(body);
                        ("204 No Content", String::new())
                    } else {
                        let live = platform.world().live_image();
                        match live {
                            Some(image) if image.ends_with("-broken") => (
                                "500 Internal Server Error",
                                "{\"ok\":false,\"error\":\"database connection refused\"}"
                                    .to_owned(),
                            ),
                            Some(image) => {
                                ("200 OK", format!("{{\"ok\":true,\"image\":\"{image}\"}}"))
                            }
                            None => (
                                "503 Service Unavailable",
                                "{\"ok\":false,\"error\":\"no release\"}".to_owned(),
                            ),
                        }
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(response.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Ok(DemoServer { port, hooks, task })
    }
}
