use ws_framework::ws_service;

#[derive(Default)]
struct Svc;

trait Handlers {}

#[ws_service("/svc")]
impl Handlers for Svc {}

fn main() {}
