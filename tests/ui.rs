//! Compile tests of `#[ws_service]`: every accepted form builds, every misuse fails with the
//! message in its `.stderr`. Refresh with `TRYBUILD=overwrite cargo test --test ui`, then read
//! every changed `.stderr`.

#[test]
#[cfg(feature = "macros")]
fn ui() {
    let t = trybuild::TestCases::new();
    // The expansion snapshots (and their inputs) must compile too.
    t.pass("tests/expand/*.rs");
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
