use ws_framework::ws_service;

#[derive(Default)]
struct Svc;

#[ws_service(
    "/svc",
    origins = ["https://*.example.com", "https://a*.example.com", "https://app.example.com/chat", "https://app.example.com:https"],
    allowed_origins = ["https://app.example.com"],
    write_timeout = 0,
    overflow_close = 1000,
    write_buffer_limit = 0,
)]
impl Svc {}

#[derive(Default)]
struct Empty;

#[ws_service("/empty", origins = [])]
impl Empty {}

fn main() {}
