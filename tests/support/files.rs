//! A static file server on 127.0.0.1:0 for a release directory, recording each request's path
//! and User-Agent (so a test can tell curl from wget from bgw's own client).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A running file server; it stops with the test process.
pub struct FileServer {
    pub url: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl FileServer {
    /// Serves the files of `root` (GET only; 404 for anything else).
    pub fn start(root: PathBuf) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let root = root.clone();
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let mut agent = String::new();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = h.split_once(':')
                            && name.eq_ignore_ascii_case("user-agent")
                        {
                            agent = value.trim().to_owned();
                        }
                    }
                    seen.lock().unwrap().push((path.clone(), agent));
                    let file = root.join(path.trim_start_matches('/'));
                    let reply = match std::fs::read(&file) {
                        Ok(body) if !path.contains("..") => {
                            let mut r = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            r.extend_from_slice(&body);
                            r
                        }
                        _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot found"
                            .to_vec(),
                    };
                    let _ = stream.write_all(&reply);
                });
            }
        });
        FileServer { url, requests }
    }

    /// Every request so far: (path, User-Agent).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }
}
