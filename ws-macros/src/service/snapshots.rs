//! Expansion snapshots: each `tests/expand/NAME.rs` (at the workspace root) is expanded by this
//! macro, pretty-printed with `prettyplease` and compared with `NAME.expanded.rs`, so any change
//! of the generated code shows in review. Refresh with `WS_EXPAND_OVERWRITE=1 cargo test -p
//! ws-macros snapshots`. The snapshots also compile (trybuild runs them as pass tests).

use std::path::{Path, PathBuf};
use syn::{Item, Meta};

fn expand_file(source: &str) -> String {
    let mut file: syn::File = syn::parse_str(source).expect("snapshot input parses");
    let mut items = Vec::new();
    for item in file.items.drain(..) {
        let Item::Impl(mut imp) = item else {
            items.push(item);
            continue;
        };
        let Some(pos) = imp
            .attrs
            .iter()
            .position(|a| a.path().is_ident("ws_service"))
        else {
            items.push(Item::Impl(imp));
            continue;
        };
        let attr = imp.attrs.remove(pos);
        let args = match attr.meta {
            Meta::List(list) => list.tokens,
            _ => proc_macro2::TokenStream::new(),
        };
        let out = super::expand(args, quote::quote!(#imp));
        let expanded: syn::File = syn::parse2(out).expect("the expansion parses");
        items.extend(expanded.items);
    }
    file.items = items;
    prettyplease::unparse(&file)
}

fn inputs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/expand");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/expand exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rs")
                && !p.to_string_lossy().ends_with(".expanded.rs")
        })
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn expansion_snapshots() {
    let overwrite = std::env::var_os("WS_EXPAND_OVERWRITE").is_some();
    let mut stale = Vec::new();
    for input in inputs() {
        let expanded = expand_file(&std::fs::read_to_string(&input).expect("readable"));
        let snapshot = input.with_extension("expanded.rs");
        let current = std::fs::read_to_string(&snapshot).ok();
        if current.as_deref() == Some(expanded.as_str()) {
            continue;
        }
        if overwrite || current.is_none() {
            std::fs::write(&snapshot, &expanded).expect("writable");
            eprintln!("wrote {}", snapshot.display());
        } else {
            stale.push(snapshot.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "the expansion changed for {stale:?}; review with `WS_EXPAND_OVERWRITE=1 cargo test -p ws-macros snapshots` and `git diff`"
    );
}
