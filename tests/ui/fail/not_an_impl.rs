use ws_framework::ws_service;

#[ws_service("/svc")]
struct Svc;

fn main() {}
