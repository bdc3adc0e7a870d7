//! The chat example (`examples/chat.rs` + `chat.html`) in a real browser: headless Chromium,
//! driven by playwright-core from `tests/browser/chat.mjs`, opens the page twice, chats both
//! ways, checks the late joiner's history, the join notice, that the rooms are separate, that
//! the browser negotiated permessage-deflate, and that both pages reconnect by themselves
//! after the server cut their connections. It saves a screenshot to
//! `target/tmp/browser_chat.png`.
//!
//! Needs `/usr/bin/chromium` (or `$CHROMIUM`), `node`, and `npm ci --prefix tests/browser`.
//! Without them the test passes with a note, except under `CI=true` (`.ci/run` installs them),
//! where it fails.

#![cfg(feature = "macros")]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[allow(dead_code)]
#[path = "../examples/chat.rs"]
mod chat;

/// The whole run: Chromium's start on a busy 2-core machine is the slow part.
const LIMIT: Duration = Duration::from_secs(240);

struct Tools {
    node: PathBuf,
    chromium: PathBuf,
    script: PathBuf,
}

fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok(v) if !v.is_empty() && v != "false" && v != "0")
}

/// Chromium, node and playwright-core, or why they are not there.
fn find_tools() -> Result<Tools, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return Err(format!(
            "no Chromium at {} (apt-get install chromium, or set CHROMIUM)",
            chromium.display()
        ));
    }
    let node = PathBuf::from("node");
    let version = std::process::Command::new(&node)
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    match version {
        Ok(out) if out.status.success() => {}
        _ => return Err("no `node` on PATH (install Node.js 20 or later)".to_owned()),
    }
    let browser_dir = root.join("tests/browser");
    if !browser_dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return Err("playwright-core is not installed (npm ci --prefix tests/browser)".to_owned());
    }
    Ok(Tools {
        node,
        chromium,
        script: browser_dir.join("chat.mjs"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browser_pages_chat_and_reconnect() {
    let tools = match find_tools() {
        Ok(tools) => tools,
        Err(why) if in_ci() => panic!("the browser test cannot run under CI: {why}"),
        Err(why) => {
            // Straight to stderr: the test harness captures `println!` of passing tests.
            use std::io::Write as _;
            let note = format!("note: browser_chat SKIPPED: {why}\n");
            let _ = std::io::stderr().write_all(note.as_bytes());
            return;
        }
    };

    let listener = chat::chat_listener("127.0.0.1:0").await.unwrap();
    listener.start().unwrap();
    let base = chat::page_url(&listener).trim_end_matches('/').to_owned();
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser_chat.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut child = tokio::process::Command::new(&tools.node)
        .arg(&tools.script)
        .arg(&base)
        .arg(&screenshot)
        .env("CHROMIUM", &tools.chromium)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();

    let run = async {
        let mut drops = 0;
        while let Some(line) = stdout.next_line().await.expect("read the script's output") {
            println!("[browser] {line}");
            if line == "@drop" {
                // What a network failure looks like to the pages: the connections just end.
                let open = listener.hub().connections();
                assert!(
                    open.len() >= 2,
                    "expected both pages connected, found {}",
                    open.len()
                );
                for caller in open {
                    caller.websocket().abort();
                }
                drops += 1;
                stdin.write_all(b"dropped\n").await.unwrap();
                stdin.flush().await.unwrap();
            }
        }
        (child.wait().await.expect("wait for node"), drops)
    };
    let (status, drops) = tokio::time::timeout(LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("the browser test took longer than {LIMIT:?}"));
    listener.immediate_stop();

    assert!(status.success(), "tests/browser/chat.mjs failed: {status}");
    assert_eq!(
        drops, 1,
        "the script never asked for the connections to be dropped"
    );
    assert!(
        screenshot.is_file(),
        "no screenshot at {}",
        screenshot.display()
    );
    println!("screenshot: {}", screenshot.display());
}
