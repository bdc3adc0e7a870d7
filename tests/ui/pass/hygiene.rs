//! Generated code names nothing the user could shadow, and leaves no warning.
#![deny(warnings)]
#![allow(dead_code)]

use ws_framework::{on_close, on_error, on_message, on_open, on_upgrade, ws_service};

struct Result;
struct Option;
struct Box;
struct Caller;
struct Arc;
struct Vec;
struct String;
struct Error;
struct Ok;
struct Err;
struct Some;
struct None;
struct Duration;
trait Future {}
trait Send {}
mod core {}

struct Service {
    name: std::string::String,
}

#[ws_service("/h/{name}", idle_timeout = 5, close_timeout = 0.5)]
impl Service {
    #[on_upgrade]
    async fn new(
        name: std::string::String,
        q: std::option::Option<u8>,
    ) -> std::result::Result<Self, std::string::String> {
        let _ = q;
        std::result::Result::Ok(Self { name })
    }

    #[on_open]
    async fn open(&self, caller: &ws_framework::Caller) -> std::string::String {
        let _ = caller;
        self.name.clone()
    }

    #[on_message]
    async fn message(
        &mut self,
        text: std::string::String,
    ) -> std::result::Result<std::string::String, ws_framework::Error> {
        std::result::Result::Ok(text)
    }

    #[on_close]
    async fn close(&self, code: ws_framework::CloseCode) {
        let _ = code;
    }

    #[on_error]
    async fn error(&self, error: ws_framework::Error) {
        let _ = error;
    }
}

fn main() {}
