//! A chat room: per-connection state in `Self`, shared state in `Rooms`.

use std::sync::Mutex;
use ws_framework::{
    on_close, on_message, on_open, on_upgrade, ws_service, Caller, UpgradeError, UpgradeRequest,
};

#[derive(Default)]
pub struct Rooms {
    members: Mutex<Vec<(String, Caller)>>,
}

pub struct ChatServer {
    room: String,
    name: String,
    sent: usize,
}

#[ws_service("/chat/{room}", state = Rooms, protocols = ["chat"], idle_timeout = 30)]
impl ChatServer {
    #[on_upgrade]
    async fn join(
        request: &UpgradeRequest,
        room: String,
        name: Option<String>,
        #[header("x-token")] token: String,
    ) -> Result<Self, UpgradeError> {
        if token != "secret" || request.origin() == Some("https://evil.example") {
            return Err(UpgradeError::forbidden("not allowed"));
        }
        Ok(Self {
            room,
            name: name.unwrap_or_else(|| "anonymous".into()),
            sent: 0,
        })
    }

    #[on_open]
    async fn open(&self, caller: &Caller, #[state] rooms: &Rooms) -> String {
        rooms
            .members
            .lock()
            .unwrap()
            .push((self.room.clone(), caller.clone()));
        format!("{} joined {}", self.name, self.room)
    }

    #[on_message]
    async fn message(&mut self, #[state] rooms: &Rooms, text: String) {
        self.sent += 1;
        let members = rooms.members.lock().unwrap().clone();
        for (room, member) in members {
            if room == self.room {
                let _ = member.write_text(format!("{}: {text}", self.name)).await;
            }
        }
    }

    #[on_close]
    async fn close(&self, caller: &Caller, #[state] rooms: &Rooms, code: u16) {
        rooms
            .members
            .lock()
            .unwrap()
            .retain(|(_, m)| m.id() != caller.id());
        let _ = code;
    }
}

fn main() {}
