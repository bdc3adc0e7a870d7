use ws_framework::ws_service;

#[derive(Default)]
struct Svc;

#[ws_service(
    "/svc",
    sub_protocols = ["chat"],
    idle_timeout = 10,
    idle_timeout = 20,
    close_timeout = -1,
    max_frame = 10,
    dispatcher_key = event,
)]
impl Svc {}

fn main() {}
