//! A Lambda Runtime API server for tests: plain HTTP/1.1 on 127.0.0.1, written here from the
//! API's documented routes, so the real `lambda_runtime` client in the function talks to it as
//! it would to Lambda.
//!
//! - `GET  /2018-06-01/runtime/invocation/next` hands out queued events (long poll);
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `/error`, and
//!   `POST /2018-06-01/runtime/init/error` are recorded as [`Post`]s.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const PREFIX: &str = "/2018-06-01/runtime/";

/// What the function posted back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostKind {
    Response,
    Error,
    InitError,
}

#[derive(Debug, Clone)]
pub struct Post {
    pub kind: PostKind,
    /// The invocation's request id (empty for `/init/error`).
    pub request_id: String,
    /// `Lambda-Runtime-Function-Error-Type`, when sent.
    pub error_type: Option<String>,
    pub body: Vec<u8>,
    /// From the moment the event's last byte was written to the function to the moment this
    /// post arrived: the invocation as Lambda sees it.
    pub turnaround: Option<Duration>,
}

impl Post {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "posted body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<(String, Vec<u8>)>>,
    queued: Condvar,
    posts: Mutex<Vec<Post>>,
    posted: Condvar,
    stop: AtomicBool,
    /// The time from handing an event out to its deadline, in ms (0: 15 minutes).
    deadline_ms: std::sync::atomic::AtomicU64,
    /// When each request id's event was handed out (its last byte written).
    handed: Mutex<std::collections::HashMap<String, Instant>>,
}

/// The server; stops (and unblocks every long poll) when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        let s = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = Arc::clone(&s);
                thread::spawn(move || serve(stream, &s));
            }
        });
        RuntimeApi { addr, shared }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Gives the next invocations `deadline` from the moment they are handed out
    /// (`Lambda-Runtime-Deadline-Ms`) instead of 15 minutes.
    pub fn set_deadline(&self, deadline: Duration) {
        let ms = u64::try_from(deadline.as_millis()).unwrap().max(1);
        self.shared.deadline_ms.store(ms, Ordering::SeqCst);
    }

    /// Queues an event for `/invocation/next`.
    pub fn enqueue(&self, request_id: &str, event: Vec<u8>) {
        self.shared
            .queue
            .lock()
            .unwrap()
            .push_back((request_id.to_owned(), event));
        self.shared.queued.notify_all();
    }

    /// Waits until `count` posts arrived; after `timeout`, `Err` with those that did.
    pub fn wait_posts(&self, count: usize, timeout: Duration) -> Result<Vec<Post>, Vec<Post>> {
        let deadline = Instant::now() + timeout;
        let mut posts = self.shared.posts.lock().unwrap();
        while posts.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(posts.clone());
            }
            posts = self.shared.posted.wait_timeout(posts, left).unwrap().0;
        }
        Ok(posts.clone())
    }

    pub fn posts(&self) -> Vec<Post> {
        self.shared.posts.lock().unwrap().clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.queued.notify_all();
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

struct Request {
    method: String,
    path: String,
    error_type: Option<String>,
    body: Vec<u8>,
}

/// Serves one keep-alive connection until the client closes it or the server stops.
fn serve(stream: TcpStream, shared: &Shared) {
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        let reply = route(&req, shared);
        let Some((status, headers, body)) = reply else {
            return;
        };
        let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
        let mut handed = None;
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
            if k == "Lambda-Runtime-Aws-Request-Id" {
                handed = Some(v);
            }
        }
        head.push_str("\r\n");
        if writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(&body))
            .and_then(|()| writer.flush())
            .is_err()
        {
            return;
        }
        if let Some(id) = handed {
            shared.handed.lock().unwrap().insert(id, Instant::now());
        }
    }
}

type Reply = (&'static str, Vec<(&'static str, String)>, Vec<u8>);

fn route(req: &Request, shared: &Shared) -> Option<Reply> {
    let path = req.path.strip_prefix(PREFIX).unwrap_or("");
    if req.method == "GET" && path == "invocation/next" {
        let (id, event) = next_event(shared)?;
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + match shared.deadline_ms.load(Ordering::SeqCst) {
                0 => 900_000,
                ms => u128::from(ms),
            };
        let headers = vec![
            ("Lambda-Runtime-Aws-Request-Id", id),
            ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:rdsaudit".to_owned(),
            ),
            (
                "Lambda-Runtime-Trace-Id",
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
                    .to_owned(),
            ),
            ("Content-Type", "application/json".to_owned()),
        ];
        return Some(("200 OK", headers, event));
    }
    let kind_and_id = if req.method != "POST" {
        None
    } else if path == "init/error" {
        Some((PostKind::InitError, String::new()))
    } else if let Some(rest) = path.strip_prefix("invocation/") {
        match rest.rsplit_once('/') {
            Some((id, "response")) => Some((PostKind::Response, id.to_owned())),
            Some((id, "error")) => Some((PostKind::Error, id.to_owned())),
            _ => None,
        }
    } else {
        None
    };
    let Some((kind, request_id)) = kind_and_id else {
        return Some(("404 Not Found", Vec::new(), b"{}".to_vec()));
    };
    let turnaround = shared
        .handed
        .lock()
        .unwrap()
        .get(&request_id)
        .map(Instant::elapsed);
    shared.posts.lock().unwrap().push(Post {
        kind,
        request_id,
        error_type: req.error_type.clone(),
        body: req.body.clone(),
        turnaround,
    });
    shared.posted.notify_all();
    Some((
        "202 Accepted",
        vec![("Content-Type", "application/json".to_owned())],
        br#"{"status":"OK"}"#.to_vec(),
    ))
}

/// Blocks until an event is queued; `None` once the server stops.
fn next_event(shared: &Shared) -> Option<(String, Vec<u8>)> {
    let mut queue = shared.queue.lock().unwrap();
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return None;
        }
        if let Some(item) = queue.pop_front() {
            return Some(item);
        }
        queue = shared
            .queued
            .wait_timeout(queue, Duration::from_millis(200))
            .unwrap()
            .0;
    }
}

/// Reads one request (`Content-Length` or chunked body); `None` at end of stream.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let (mut length, mut chunked, mut error_type) = (0usize, false, None);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "lambda-runtime-function-error-type" => error_type = Some(value.to_owned()),
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        read_exact(reader, length)?
    };
    Some(Request {
        method,
        path,
        error_type,
        body,
    })
}

fn read_exact(reader: &mut impl Read, len: usize) -> Option<Vec<u8>> {
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let chunk = read_exact(reader, size)?;
        body.extend_from_slice(&chunk);
        let mut crlf = String::new();
        reader.read_line(&mut crlf).ok()?;
        if size == 0 {
            return Some(body);
        }
    }
}
