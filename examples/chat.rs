//! Chat rooms with their own web page, on one port. Run it, then open the printed URL in two
//! browser tabs (or two browsers), pick one room and two names, and talk:
//!
//! ```sh
//! cargo run --example chat                          # then open http://127.0.0.1:8080/
//! cargo run --example chat -- --addr 127.0.0.1:0    # any free port: open the URL it prints
//! ```
//!
//! Ctrl-C stops it; open connections get 1001 "going away" (and the pages reconnect when the
//! server comes back).
//!
//! - `GET /` serves the page (`examples/chat.html`, compiled in) through
//!   [`Listener::http_route`], beside the WebSocket service on the same port.
//! - The page connects to `ws://HOST/chat/{room}?name=NAME`: the room is a path parameter,
//!   the name a query parameter, both bound by name in the `#[on_upgrade]` hook.
//! - The service keeps the connection's room and name in `Self` (`&mut self`: `/name NEW`
//!   renames), joins the room's group (`caller.join`) and broadcasts to it
//!   (`caller.group(room)`); the listener drops a closed connection from its groups itself.
//! - The shared state (`state = Rooms`, `#[state]`) keeps the last [`HISTORY`] messages of
//!   each room, sent to every newcomer, so a late joiner sees what was said.
//! - The page reconnects by itself with backoff (0.5 s, 1 s, 2 s, ... up to 15 s) when the
//!   connection drops, and shows whether permessage-deflate was negotiated.
//!
//! The page sends plain text; the server sends JSON objects tagged by `type`: `welcome`,
//! `history`, `message`, `join`, `leave`, `rename` and `error`. Rooms and history live in
//! memory only.

use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use ws_framework::bytes::Bytes;
use ws_framework::http::{header, Response};
use ws_framework::{on_close, on_open, on_text, on_upgrade, ws_service, Caller, Listener};
use ws_framework::{Result, UpgradeError};

/// How many messages each room keeps for late joiners.
pub const HISTORY: usize = 50;
/// Longest message kept, in characters (longer ones are cut).
const MAX_TEXT: usize = 2000;
/// Longest name, in characters.
const MAX_NAME: usize = 24;
/// The web page, compiled into the binary.
const PAGE: &str = include_str!("chat.html");

/// One chat message, as kept in the history and sent to the room.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    /// Increases by one per message in a room: the page uses it to skip messages it has.
    id: u64,
    name: String,
    text: String,
    /// Milliseconds since the Unix epoch.
    at: u64,
}

/// What the server sends, as JSON: `{"type": "message", ...}`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Out<'a> {
    /// To a newcomer: where it is and who is there.
    Welcome {
        room: &'a str,
        name: &'a str,
        online: Vec<String>,
    },
    /// To a newcomer: the room's last messages, oldest first.
    History {
        messages: Vec<Line>,
    },
    Message(&'a Line),
    /// To the others in the room; `online` are the names there now.
    Join {
        name: &'a str,
        online: Vec<String>,
    },
    Leave {
        name: &'a str,
        online: Vec<String>,
    },
    /// `you` is true in the copy sent to the one who renamed.
    Rename {
        old: &'a str,
        new: &'a str,
        you: bool,
    },
    /// To the sender only: what was wrong with its command.
    Error {
        text: &'a str,
    },
}

/// The state all connections share: each room's last messages.
#[derive(Debug, Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Room>>,
}

#[derive(Debug, Default)]
struct Room {
    next_id: u64,
    recent: VecDeque<Line>,
}

impl Rooms {
    /// Records a message in `room`'s history and returns it, numbered.
    fn post(&self, room: &str, name: &str, text: String) -> Line {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let room = rooms.entry(room.to_owned()).or_default();
        room.next_id += 1;
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let line = Line {
            id: room.next_id,
            name: name.to_owned(),
            text,
            at,
        };
        if room.recent.len() == HISTORY {
            room.recent.pop_front();
        }
        room.recent.push_back(line.clone());
        line
    }

    /// `room`'s last messages, oldest first.
    fn recent(&self, room: &str) -> Vec<Line> {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms
            .get(room)
            .map(|r| r.recent.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// One connection: its room and the name it chats under.
#[derive(Debug)]
pub struct Chat {
    room: String,
    name: String,
}

#[ws_service("/chat/{room}", state = Rooms, max_message_size = 16 << 10)]
impl Chat {
    /// `room` is the path parameter, `name` the query parameter `?name=`; a bad one gets 400.
    #[on_upgrade]
    async fn upgrade(room: String, name: Option<String>) -> Result<Self, UpgradeError> {
        let room = valid_room(&room).ok_or_else(|| {
            UpgradeError::bad_request("the room must be 1-32 letters, digits, '-' or '_'")
        })?;
        let name = valid_name(name.as_deref().unwrap_or_default()).ok_or_else(|| {
            UpgradeError::bad_request("?name= must be 1-24 characters, no control characters")
        })?;
        Ok(Self { room, name })
    }

    /// Joins the room's group, greets the newcomer with who is there and the room's history,
    /// and tells the others.
    #[on_open]
    async fn open(&self, caller: &Caller, #[state] rooms: &Rooms) -> Result<()> {
        caller.set_attribute("name", self.name.clone());
        // Join first, then read the history: a message posted in between arrives twice
        // (live and in the history) rather than not at all; the page skips ids it has.
        caller.join(&self.room)?;
        let online = names(caller, &self.room);
        caller
            .write_message(&Out::Welcome {
                room: &self.room,
                name: &self.name,
                online: online.clone(),
            })
            .await?;
        let messages = rooms.recent(&self.room);
        if !messages.is_empty() {
            caller.write_message(&Out::History { messages }).await?;
        }
        let joined = Out::Join {
            name: &self.name,
            online,
        };
        caller
            .group(&self.room)
            .except(caller.id())
            .send_message(&joined)
            .await?;
        Ok(())
    }

    /// A message goes to everyone in the room, the sender included; `/name NEW` renames.
    #[on_text]
    async fn text(&mut self, caller: &Caller, #[state] rooms: &Rooms, text: String) -> Result<()> {
        let text = text.trim();
        if let Some(new) = text.strip_prefix("/name ") {
            let Some(new) = valid_name(new) else {
                let text = "a name is 1-24 characters, no control characters";
                return caller.write_message(&Out::Error { text }).await;
            };
            let old = std::mem::replace(&mut self.name, new);
            caller.set_attribute("name", self.name.clone());
            let renamed = |you| Out::Rename {
                old: &old,
                new: &self.name,
                you,
            };
            caller.write_message(&renamed(true)).await?;
            let others = caller.group(&self.room).except(caller.id());
            others.send_message(&renamed(false)).await?;
        } else if !text.is_empty() {
            let text = text.chars().take(MAX_TEXT).collect();
            let line = rooms.post(&self.room, &self.name, text);
            caller
                .group(&self.room)
                .send_message(&Out::Message(&line))
                .await?;
        }
        Ok(())
    }

    /// The peer closed, or the connection dropped (1006): tell the room.
    #[on_close]
    async fn close(&self, caller: &Caller) {
        caller.leave(&self.room);
        let left = Out::Leave {
            name: &self.name,
            online: names(caller, &self.room),
        };
        let _ = caller.group(&self.room).send_message(&left).await;
    }
}

/// The names of the open connections in `room`, sorted.
fn names(caller: &Caller, room: &str) -> Vec<String> {
    let mut names: Vec<String> = caller
        .hub()
        .members(room)
        .iter()
        .filter(|c| c.is_open())
        .filter_map(|c| c.attribute::<String>("name"))
        .collect();
    names.sort();
    names
}

fn valid_room(room: &str) -> Option<String> {
    let ok = (1..=32).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| room.to_owned())
}

fn valid_name(name: &str) -> Option<String> {
    let name = name.trim();
    let count = name.chars().count();
    let ok = (1..=MAX_NAME).contains(&count) && !name.chars().any(char::is_control);
    ok.then(|| name.to_owned())
}

/// Binds `addr` and sets the chat up on it: the page at `/`, the service at `/chat/{room}`.
/// Start it with [`Listener::start`] or [`ws_framework::run_until_ctrl_c`].
pub async fn chat_listener(addr: &str) -> Result<Listener> {
    let listener = Listener::bind(addr).await?;
    listener.attach::<Chat>()?;
    listener.http_route("/", |_request| async {
        let mut page = Response::new(Bytes::from_static(PAGE.as_bytes()));
        let headers = page.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            "text/html; charset=utf-8".parse().unwrap(),
        );
        headers.insert(header::CACHE_CONTROL, "no-cache".parse().unwrap());
        page
    })?;
    Ok(listener)
}

/// The URL to open in a browser.
pub fn page_url(listener: &Listener) -> String {
    let mut addr = listener.local_addr();
    if addr.ip().is_unspecified() {
        // Bound to every interface (0.0.0.0 or [::]): this machine's loopback reaches it.
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => [127, 0, 0, 1].into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}/")
}

fn main() -> Result<()> {
    let addr = std::env::args()
        .skip_while(|a| a != "--addr")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    ws_framework::block_on(None, async {
        let listener = chat_listener(&addr).await?;
        println!("chat: open {} in two browser tabs", page_url(&listener));
        println!("(Ctrl-C stops the server)");
        ws_framework::run_until_ctrl_c(&listener).await
    })?
}
