//! ws-suite: the examples and end-to-end tests of ws-framework. Nothing public lives here; the
//! library target exists so that trybuild (`tests/ui.rs`) forwards this package's features
//! (`macros`) to the crates it compiles, which it only does for packages with a library.
