use ws_framework::{on_text, ws_service};

struct Point {
    x: i32,
}

#[derive(Default)]
struct Svc;

#[ws_service("/svc")]
impl Svc {
    #[on_text]
    async fn text(&self, point: Point) {
        let _ = point.x;
    }
}

fn main() {}
