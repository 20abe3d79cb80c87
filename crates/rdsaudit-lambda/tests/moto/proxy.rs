//! A tiny HTTP proxy on 127.0.0.1 in front of moto, which cannot throttle: it answers the first
//! requests with the faults of its plan (`400 ThrottlingException`, `503`), then forwards.
//! One request per connection (it answers `Connection: close`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{Value, json};

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Forward it to moto.
    Forward,
    /// `400` with error code `ThrottlingException` (header and JSON body).
    Throttle,
    /// `503 Service Unavailable`.
    Unavailable,
    /// Forward the batch without its first entry, and answer that this entry failed with a
    /// retryable code: a partly accepted Kinesis `PutRecords` (`Records`, answered in order) or
    /// SQS `SendMessageBatch` (`Entries`, answered by id).
    FailFirstEntry,
    /// As [`Step::FailFirstEntry`], the SQS entry failing with this code, `SenderFault`
    /// false.
    FailFirstEntryWith(&'static str),
    /// Answer that every entry of the batch failed with this code, at the sender's fault,
    /// forwarding nothing: a destination whose configuration refuses everything (KMS access
    /// denied). SQS `SendMessageBatch` (`Entries`) or Kinesis `PutRecords` (`Records`).
    RefuseEveryEntry(&'static str),
    /// Read the request and never answer (the connection stays open until the client drops
    /// it): a service that hangs.
    Silent,
}

/// A running proxy.
pub struct Proxy {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// What it did, request by request.
    pub log: Arc<Mutex<Vec<Step>>>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:<port>`): request `i` gets `plan[i]`, the
    /// requests after the plan get `then`.
    pub fn start(upstream: &str, plan: Vec<Step>, then: Step) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let (upstream, l) = (upstream.to_owned(), Arc::clone(&log));
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let step = *plan
                    .get(count.fetch_add(1, Ordering::SeqCst))
                    .unwrap_or(&then);
                l.lock().unwrap().push(step);
                let upstream = upstream.clone();
                thread::spawn(move || serve(client, &upstream, step));
            }
        });
        Proxy { endpoint, log }
    }

    /// The steps taken so far.
    pub fn steps(&self) -> Vec<Step> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(mut client: TcpStream, upstream: &str, step: Step) {
    let Some((head, body)) = read_message(&mut client) else {
        return;
    };
    let answer = match step {
        Step::Forward => forward(upstream, &head, &body),
        Step::FailFirstEntry => fail_first_entry(upstream, &head, &body, "ThrottlingException"),
        Step::FailFirstEntryWith(code) => fail_first_entry(upstream, &head, &body, code),
        Step::RefuseEveryEntry(code) => refuse_every_entry(&body, code),
        Step::Throttle => canned(
            "400 Bad Request",
            "ThrottlingException",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        ),
        Step::Unavailable => canned("503 Service Unavailable", "ServiceUnavailable", ""),
        Step::Silent => {
            // Blocks until the client gives up and closes the connection.
            let _ = client.read(&mut [0; 1]);
            return;
        }
    };
    let _ = client.write_all(&answer);
}

fn canned(status: &str, code: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nx-amzn-ErrorType: {code}\r\nx-amzn-query-error: {code};Sender\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends the request to moto and returns its answer, both with `Connection: close`.
fn forward(upstream: &str, head: &str, body: &[u8]) -> Vec<u8> {
    let mut server = TcpStream::connect(upstream).expect("connect to moto");
    server.write_all(&with_close(head)).unwrap();
    server.write_all(body).unwrap();
    let (head, body) = read_message(&mut server).expect("moto answers");
    let mut answer = with_close(&head);
    answer.extend_from_slice(&body);
    answer
}

fn fail_first_entry(upstream: &str, head: &str, body: &[u8], code: &str) -> Vec<u8> {
    let mut request: Value = serde_json::from_slice(body).expect("a JSON request");
    let (list, kinesis) = if request.get("Records").is_some() {
        ("Records", true)
    } else {
        ("Entries", false)
    };
    let first = request[list].as_array_mut().expect("a batch").remove(0);
    let body = serde_json::to_vec(&request).unwrap();
    let answer = forward(upstream, &with_length(head, body.len()), &body);
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let mut response: Value = serde_json::from_slice(&answer[split + 4..]).unwrap();
    if kinesis {
        let failed = json!({"ErrorCode": "ProvisionedThroughputExceededException",
                            "ErrorMessage": "Rate exceeded for shard shardId-000000000000"});
        response["Records"]
            .as_array_mut()
            .unwrap()
            .insert(0, failed);
        response["FailedRecordCount"] =
            json!(response["FailedRecordCount"].as_u64().unwrap_or(0) + 1);
    } else {
        let failed = json!({"Id": first["Id"], "SenderFault": false,
                            "Code": code, "Message": "Rate exceeded"});
        match response["Failed"].as_array_mut() {
            Some(list) => list.push(failed),
            None => response["Failed"] = json!([failed]),
        }
    }
    let body = serde_json::to_vec(&response).unwrap();
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut out = with_length(&head, body.len()).into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(&body);
    out
}

fn refuse_every_entry(body: &[u8], code: &str) -> Vec<u8> {
    let request: Value = serde_json::from_slice(body).expect("a JSON request");
    let message = "The ciphertext refers to a customer master key that does not exist, or you are not allowed to use it";
    let response = if let Some(records) = request["Records"].as_array() {
        let failed: Vec<Value> = records
            .iter()
            .map(|_| json!({"ErrorCode": code, "ErrorMessage": message}))
            .collect();
        json!({"FailedRecordCount": failed.len(), "Records": failed})
    } else {
        let failed: Vec<Value> = request["Entries"]
            .as_array()
            .expect("a batch")
            .iter()
            .map(|e| json!({"Id": e["Id"], "SenderFault": true, "Code": code, "Message": message}))
            .collect();
        json!({"Successful": [], "Failed": failed})
    };
    let body = serde_json::to_vec(&response).unwrap();
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.{}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        u8::from(request.get("Records").is_some()),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// `head` with its `Content-Length` set to `len`.
fn with_length(head: &str, len: usize) -> String {
    head.split("\r\n")
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("content-length:") {
                format!("Content-Length: {len}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// `head` (the start line and headers, without the blank line) with `Connection: close`, and
/// the blank line.
fn with_close(head: &str) -> Vec<u8> {
    let mut out = String::new();
    for line in head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
    {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

/// One HTTP/1.1 message: its head (without the blank line) and its `Content-Length` body (read
/// to the end of the stream when it has no length).
fn read_message(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let head = head.trim_end().to_owned();
    let lower = head.to_ascii_lowercase();
    assert!(
        !lower.contains("transfer-encoding: chunked"),
        "the proxy reads no chunked bodies"
    );
    let length = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().expect("a Content-Length"));
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body).ok()?;
        }
        None if head.starts_with("HTTP/") => {
            reader.read_to_end(&mut body).ok()?;
        }
        None => {}
    }
    Some((head, body))
}
