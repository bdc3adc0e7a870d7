use ws_framework::ws_service;

#[derive(Default)]
struct Svc;

#[ws_service(
    "/svc",
    require_origin = "yes",
    auth = "secret",
    write_buffer_limit = -1,
    overflow_close = "1013",
)]
impl Svc {}

fn main() {}
