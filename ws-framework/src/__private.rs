//! Items used by the code `#[ws_service]` generates. Not a public API.
