//! A scripted HTTP/1.1 server on 127.0.0.1 for tests of probes, gates, smoke suites and
//! notifications. Hand-written on std threads so it does not depend on any async runtime, and
//! the test (which usually runs the shipit binary) stays a plain synchronous function.
//!
//! ```ignore
//! let server = Server::start([("/health", Behaviour::ok("up")), ("/api", Behaviour::status(500))]);
//! let url = server.url();                                // http://127.0.0.1:PORT
//! server.set("/health", Behaviour::seq([Behaviour::ok("up"), Behaviour::status(503)]));
//! assert_eq!(server.hits("/health"), 3);
//! assert!(server.max_in_flight() <= 8);
//! ```
//!
//! Behaviours can change by request count ([`Behaviour::seq`], [`Behaviour::cycle`]), over time
//! ([`Behaviour::switch_after`]), or whenever the test calls [`Server::set`]. Dropping the server
//! stops it: the listener closes, and connections that hang or wait notice within ~20ms.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often waiting threads look at the stop flag.
const TICK: Duration = Duration::from_millis(20);

/// An answer: status, headers, body, and how long to wait before sending it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// Adds a response header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Waits this long before answering.
    #[must_use]
    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

/// What the server does with a request on one path.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answers.
    Reply(Reply),
    /// Reads the request, then closes the connection without a byte of answer.
    Close,
    /// Reads the request and never answers (until the server is dropped).
    Hang,
    /// The n-th request on this path gets the n-th behaviour; the last one repeats.
    Seq(Vec<Behaviour>),
    /// Like `Seq`, but starts over at the end: flapping.
    Cycle(Vec<Behaviour>),
    /// By the value of a request header (name in lower case): the case whose value matches,
    /// else `otherwise`. Fly's proxy routes `Fly-Force-Instance-Id` to one machine this way.
    ByHeader {
        name: String,
        cases: Vec<(String, Behaviour)>,
        otherwise: Box<Behaviour>,
    },
    /// By the request's query string, percent-decoded: the first case whose text it contains,
    /// else `otherwise` (a fake Prometheus answers each PromQL query this way).
    ByQuery {
        cases: Vec<(String, Behaviour)>,
        otherwise: Box<Behaviour>,
    },
    /// `before` until `after` has passed since this behaviour was set, then `then`.
    Switch {
        after: Duration,
        before: Box<Behaviour>,
        then: Box<Behaviour>,
    },
}

impl Behaviour {
    /// 200 with this body.
    pub fn ok(body: &str) -> Behaviour {
        Behaviour::Reply(Reply::new(200, body))
    }

    /// This status with a short body naming it.
    pub fn status(status: u16) -> Behaviour {
        Behaviour::Reply(Reply::new(status, format!("status {status}")))
    }

    /// 200 with a JSON body and its content type.
    pub fn json(body: &str) -> Behaviour {
        Behaviour::Reply(Reply::new(200, body).header("Content-Type", "application/json"))
    }

    /// 200 with this body after `delay`.
    pub fn slow(delay: Duration, body: &str) -> Behaviour {
        Behaviour::Reply(Reply::new(200, body).delay(delay))
    }

    pub fn seq(items: impl IntoIterator<Item = Behaviour>) -> Behaviour {
        Behaviour::Seq(items.into_iter().collect())
    }

    pub fn cycle(items: impl IntoIterator<Item = Behaviour>) -> Behaviour {
        Behaviour::Cycle(items.into_iter().collect())
    }

    /// Statuses by request count, e.g. `statuses([200, 200, 500])`; the last repeats.
    pub fn statuses(codes: impl IntoIterator<Item = u16>) -> Behaviour {
        Behaviour::seq(codes.into_iter().map(Behaviour::status))
    }

    pub fn switch_after(after: Duration, before: Behaviour, then: Behaviour) -> Behaviour {
        Behaviour::Switch {
            after,
            before: Box::new(before),
            then: Box::new(then),
        }
    }

    /// The plain behaviour for the `n`-th request (0-based) at `elapsed` since it was set.
    fn resolve(&self, n: usize, elapsed: Duration, request: &Recorded) -> Behaviour {
        match self {
            Behaviour::ByHeader {
                name,
                cases,
                otherwise,
            } => {
                let value = request.header(name);
                cases
                    .iter()
                    .find(|(v, _)| Some(v.as_str()) == value)
                    .map_or(otherwise.as_ref(), |(_, b)| b)
                    .resolve(n, elapsed, request)
            }
            Behaviour::ByQuery { cases, otherwise } => {
                let query = decode(request.target.split_once('?').map_or("", |(_, q)| q));
                cases
                    .iter()
                    .find(|(part, _)| query.contains(part.as_str()))
                    .map_or(otherwise.as_ref(), |(_, b)| b)
                    .resolve(n, elapsed, request)
            }
            Behaviour::Seq(items) if !items.is_empty() => {
                items[n.min(items.len() - 1)].resolve(n, elapsed, request)
            }
            Behaviour::Cycle(items) if !items.is_empty() => {
                items[n % items.len()].resolve(n, elapsed, request)
            }
            Behaviour::Seq(_) | Behaviour::Cycle(_) => Behaviour::status(500),
            Behaviour::Switch {
                after,
                before,
                then,
            } => {
                if elapsed < *after {
                    before.resolve(n, elapsed, request)
                } else {
                    then.resolve(n, elapsed, request)
                }
            }
            other => other.clone(),
        }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path with its query string.
    pub target: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Route {
    behaviour: Behaviour,
    set_at: Instant,
    hits: usize,
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, Route>>,
    requests: Mutex<Vec<Recorded>>,
    total: AtomicUsize,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    stopping: AtomicBool,
}

/// The running server. Dropping it stops it.
pub struct Server {
    addr: SocketAddr,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server on a free port of 127.0.0.1 with these routes. Paths not listed answer
    /// 404. Paths are matched without their query string.
    pub fn start<'a>(routes: impl IntoIterator<Item = (&'a str, Behaviour)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State::default());
        for (path, behaviour) in routes {
            state.routes.lock().unwrap().insert(
                path.to_owned(),
                Route {
                    behaviour,
                    set_at: Instant::now(),
                    hits: 0,
                },
            );
        }
        let st = Arc::clone(&state);
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                st.connections.fetch_add(1, Ordering::SeqCst);
                let st = Arc::clone(&st);
                std::thread::spawn(move || serve(&st, stream));
            }
        });
        Server {
            addr,
            state,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of a path on this server.
    pub fn url_for(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    /// Replaces a path's behaviour (and restarts its request count and its clock).
    pub fn set(&self, path: &str, behaviour: Behaviour) {
        self.state.routes.lock().unwrap().insert(
            path.to_owned(),
            Route {
                behaviour,
                set_at: Instant::now(),
                hits: 0,
            },
        );
    }

    /// Requests on this path so far (any behaviour since the server started).
    pub fn hits(&self, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.target.split('?').next() == Some(path))
            .count()
    }

    /// Requests on every path so far.
    pub fn total(&self) -> usize {
        self.state.total.load(Ordering::SeqCst)
    }

    /// Connections accepted so far (a client that reuses connections opens few).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// The most requests that were being handled at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// A query string with `%XX` and `+` decoded.
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A URL on which connections are refused: a port that was free a moment ago.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}")
}

/// Sleeps up to `d`, in ticks, returning false early if the server is stopping.
fn wait(state: &State, d: Duration) -> bool {
    let until = Instant::now() + d;
    loop {
        if state.stopping.load(Ordering::SeqCst) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep(TICK.min(until - now));
    }
}

/// Serves one connection: requests one after the other (keep-alive) until the client closes,
/// a behaviour closes it, or the server stops.
fn serve(state: &State, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(TICK));
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    loop {
        let Some(request) = read_request(state, &mut reader) else {
            return;
        };
        let path = request.target.split('?').next().unwrap_or("").to_owned();
        let behaviour = {
            let mut routes = state.routes.lock().unwrap();
            match routes.get_mut(&path) {
                Some(route) => {
                    let b = route
                        .behaviour
                        .resolve(route.hits, route.set_at.elapsed(), &request);
                    route.hits += 1;
                    b
                }
                None => Behaviour::Reply(Reply::new(404, format!("no route for {path}"))),
            }
        };
        let close_after = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        state.requests.lock().unwrap().push(request);
        state.total.fetch_add(1, Ordering::SeqCst);
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let keep = act(state, &mut writer, &behaviour);
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep || close_after {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Carries out a behaviour; returns whether the connection stays open.
fn act(state: &State, w: &mut TcpStream, behaviour: &Behaviour) -> bool {
    match behaviour {
        Behaviour::Close => false,
        Behaviour::Hang => {
            while wait(state, Duration::from_secs(3600)) {}
            false
        }
        Behaviour::Reply(r) => {
            if !wait(state, r.delay) {
                return false;
            }
            let mut head = format!(
                "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
                r.status,
                reason(r.status),
                r.body.len()
            );
            for (k, v) in &r.headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            w.write_all(head.as_bytes())
                .and_then(|()| w.write_all(&r.body))
                .and_then(|()| w.flush())
                .is_ok()
        }
        // Composite behaviours are resolved to a plain one before acting (see `serve`).
        Behaviour::Seq(_)
        | Behaviour::Cycle(_)
        | Behaviour::Switch { .. }
        | Behaviour::ByHeader { .. }
        | Behaviour::ByQuery { .. } => {
            unreachable!("composite behaviours are resolved before acting")
        }
    }
}

/// Reads one request (head and `Content-Length` body). `None` when the client closed, the
/// request is malformed, or the server is stopping.
fn read_request(state: &State, r: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        if state.stopping.load(Ordering::SeqCst) {
            return None;
        }
        match r.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) => {
                if !line.ends_with('\n') {
                    continue;
                }
                let l = line.trim_end_matches(['\r', '\n']).to_owned();
                line.clear();
                if l.is_empty() {
                    if lines.is_empty() {
                        continue;
                    }
                    break;
                }
                lines.push(l);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
    let mut first = lines[0].split_whitespace();
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines[1..]
        .iter()
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let mut got = 0;
    while got < len {
        if state.stopping.load(Ordering::SeqCst) {
            return None;
        }
        match r.read(&mut body[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
