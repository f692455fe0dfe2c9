//! The language server's stdio transport, with bounded memory whatever the client sends.
//!
//! Contract: [`stdio`] returns the server's end of a `lsp_server::Connection` and the threads
//! that move frames between it and stdin/stdout. A frame's header lines are at most
//! [`MAX_HEADER_LINE`] bytes and its body at most [`MAX_FRAME`] bytes: a larger body is read and
//! discarded in small pieces (never allocated), a malformed header or a body that is not a JSON-RPC
//! message is skipped, and each of these is answered with a JSON-RPC error with `id: null`
//! (-32700 parse error, -32600 invalid request), after which the server goes on reading. Output
//! frames are written whole, one at a time, by one lock. Reading stops at the end of stdin or after
//! the `exit` notification.

use std::io::{BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use lsp_server::{Connection, Message};

/// The largest message body accepted: 64 MiB (a document of a few million lines).
pub const MAX_FRAME: u64 = 64 << 20;
/// The longest header line accepted.
pub const MAX_HEADER_LINE: usize = 8 << 10;

/// The reader and writer threads of [`stdio`].
pub struct Transport {
    reader: JoinHandle<std::io::Result<()>>,
    writer: JoinHandle<std::io::Result<()>>,
}

impl Transport {
    /// Waits for both threads (the writer ends once every sender of the server's end is dropped).
    pub fn join(self) -> Result<(), String> {
        let r = self
            .reader
            .join()
            .map_err(|_| "the stdin thread panicked")?;
        let w = self
            .writer
            .join()
            .map_err(|_| "the stdout thread panicked")?;
        r.and(w).map_err(|e| format!("stdio: {e}"))
    }
}

/// A frame read from the client.
enum Frame {
    Message(Message),
    /// Skipped, with the JSON-RPC error code and why.
    Bad(i32, String),
    End,
}

/// The server's end of a connection over stdin and stdout (see the module contract).
pub fn stdio() -> (Connection, Transport) {
    let (server, client) = Connection::memory();
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let writer = {
        let out = Arc::clone(&out);
        let from_server = client.receiver;
        std::thread::Builder::new()
            .name("btl-lsp-writer".into())
            .spawn(move || {
                for msg in from_server {
                    let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
                    msg.write(&mut *out)?;
                }
                Ok(())
            })
            .expect("a thread can be started")
    };
    let to_server = client.sender;
    let reader = std::thread::Builder::new()
        .name("btl-lsp-reader".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            loop {
                match read_frame(&mut input)? {
                    Frame::Message(msg) => {
                        let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                        if to_server.send(msg).is_err() || exit {
                            return Ok(());
                        }
                    }
                    Frame::Bad(code, why) => {
                        let error = serde_json::json!({
                            "jsonrpc": "2.0",
                            "id": null,
                            "error": { "code": code, "message": why },
                        })
                        .to_string();
                        let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
                        write!(out, "Content-Length: {}\r\n\r\n{error}", error.len())?;
                        out.flush()?;
                    }
                    Frame::End => return Ok(()),
                }
            }
        })
        .expect("a thread can be started");
    (server, Transport { reader, writer })
}

/// One header line without its line end, at most [`MAX_HEADER_LINE`] bytes (the rest of a
/// longer line is read and dropped); `None` at the end of the input.
fn header_line(input: &mut impl BufRead) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok((!line.is_empty() || too_long).then_some((line, too_long)));
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = MAX_HEADER_LINE.saturating_sub(line.len());
        line.extend_from_slice(&buf[..take.min(room)]);
        too_long |= take > room;
        input.consume(take);
        if done {
            while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                line.pop();
            }
            return Ok(Some((line, too_long)));
        }
    }
}

fn read_frame(input: &mut impl BufRead) -> std::io::Result<Frame> {
    let mut length: Option<Result<u64, String>> = None;
    let mut bad_header = None;
    loop {
        let Some((line, too_long)) = header_line(input)? else {
            return Ok(Frame::End);
        };
        if line.is_empty() {
            break;
        }
        if too_long {
            bad_header = Some(format!("a header line longer than {MAX_HEADER_LINE} bytes"));
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let Some((name, value)) = text.split_once(':') else {
            bad_header = Some(format!("malformed header `{}`", text.trim()));
            continue;
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("malformed Content-Length `{}`", value.trim())),
            );
        }
    }
    let length = match length {
        Some(Ok(n)) => n,
        Some(Err(why)) => return Ok(Frame::Bad(-32700, why)),
        None => {
            let why = bad_header.unwrap_or_else(|| "a frame without Content-Length".into());
            return Ok(Frame::Bad(-32700, why));
        }
    };
    if length > MAX_FRAME {
        // Read past the body without holding it.
        let skipped = std::io::copy(&mut input.take(length), &mut std::io::sink())?;
        let why = format!(
            "a message of {length} bytes is larger than the limit of {MAX_FRAME} bytes{}",
            if skipped < length {
                " (the input ended before it)"
            } else {
                ""
            }
        );
        return Ok(Frame::Bad(-32600, why));
    }
    let mut body = Vec::with_capacity(length as usize);
    input.take(length).read_to_end(&mut body)?;
    if (body.len() as u64) < length {
        return Ok(Frame::End);
    }
    if let Some(why) = bad_header {
        return Ok(Frame::Bad(-32700, why));
    }
    match serde_json::from_slice::<Message>(&body) {
        Ok(msg) => Ok(Frame::Message(msg)),
        Err(e) => Ok(Frame::Bad(-32700, format!("not a JSON-RPC message: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<String> {
        let mut r = std::io::BufReader::new(input);
        let mut out = Vec::new();
        loop {
            match read_frame(&mut r).unwrap() {
                Frame::Message(m) => {
                    out.push(format!("message {}", serde_json::to_string(&m).unwrap()))
                }
                Frame::Bad(code, why) => out.push(format!("bad {code}: {why}")),
                Frame::End => return out,
            }
        }
    }

    #[test]
    fn huge_or_broken_frames_are_skipped_and_reading_goes_on() {
        let ok = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let mut input = Vec::new();
        input.extend_from_slice(b"Content-Length: 99999999999\r\n\r\n");
        input.extend_from_slice(b"Content-Length: 18446744073709551615\r\n\r\n");
        let text = format!("Content-Length: {}\r\n\r\n{ok}", ok.len());
        let all: Vec<u8> = [input.as_slice(), text.as_bytes()].concat();
        // The first frame's body swallows the rest: it is skipped, bounded, and reading ends.
        let got = frames(&all);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("bad -32600: a message of 99999999999 bytes"),
            "{got:?}"
        );

        let mut input = Vec::new();
        input.extend_from_slice(b"Content-Length: x\r\n\r\n");
        input.extend_from_slice(b"Content-Length: 3\r\n\r\n{{{");
        input.extend_from_slice(&vec![b'a'; MAX_HEADER_LINE + 10]);
        input.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\n{}");
        input.extend_from_slice(text.as_bytes());
        let got = frames(&input);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[0].contains("malformed Content-Length `x`"), "{got:?}");
        assert!(got[1].contains("not a JSON-RPC message"), "{got:?}");
        assert!(got[2].contains("header line longer"), "{got:?}");
        assert!(got[3].starts_with("message"), "{got:?}");
    }
}
