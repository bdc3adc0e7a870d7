//! Compile tests of `#[ws_service]`: every accepted form builds, every misuse fails with the
//! message in its `.stderr`. Refresh with `TRYBUILD=overwrite cargo test --test ui`, then read
//! every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
