// Two users chat through examples/chat.html in headless Chromium; run by tests/browser_chat.rs.
//
//   node tests/browser/chat.mjs BASE_URL SCREENSHOT_PATH
//
// BASE_URL is the chat server (http://127.0.0.1:PORT). The script prints progress on stdout;
// when it prints the line `@drop` it waits for the line `dropped` on stdin (the Rust test cuts
// every connection on the server in between), then checks that both pages reconnect. It exits
// 0 when every check passed and non-zero otherwise; the whole run is bounded by DEADLINE_MS.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error("usage: node chat.mjs BASE_URL SCREENSHOT_PATH");
  process.exit(64);
}
const DEADLINE_MS = 150_000;
const STEP_MS = 30_000;
const deadline = setTimeout(() => {
  console.error(`FAIL: the browser test did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(3);
}, DEADLINE_MS);

const stdin = createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();
async function expectLine(wanted) {
  const { value, done } = await lines.next();
  if (done || value.trim() !== wanted) throw new Error(`expected "${wanted}" on stdin, got ${done ? "EOF" : JSON.stringify(value)}`);
}

function check(ok, message) {
  if (!ok) throw new Error(message);
  console.log(`ok: ${message}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Playwright adds --headless, --no-sandbox (chromiumSandbox: false) and a fresh
  // --user-data-dir itself; these keep Chromium off the (closed) network.
  args: [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: STEP_MS,
});

let failed = false;
try {
  // Two contexts: two users who share nothing (storage, cookies).
  const open = async (who) => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.on("console", (m) => m.type() === "error" && console.log(`[${who} console] ${m.text()}`));
    page.on("pageerror", (e) => console.log(`[${who} page error] ${e.message}`));
    return page;
  };
  const alice = await open("alice");
  const bob = await open("bob");

  const connected = (page, opens = 1) =>
    page.waitForFunction(
      (n) => window.chat && window.chat.opens >= n && window.chat.socket && window.chat.socket.readyState === 1,
      opens,
    );
  const say = async (page, text) => {
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  };
  const sees = (page, text) => page.locator("#messages .msg p", { hasText: text }).first().waitFor();
  const notice = (page, text) => page.locator("#messages .notice", { hasText: text }).first().waitFor();
  const count = (page, text) => page.locator("#messages .msg p", { hasText: text }).count();

  // Alice comes first and talks to an empty room.
  await alice.goto(`${base}/?room=lobby&name=Alice`);
  await connected(alice);
  check(true, "Alice's page loaded and connected");
  await say(alice, "hello from Alice");
  await sees(alice, "hello from Alice");
  check(true, "Alice sees her own message");

  // Bob comes late: the history brings him Alice's message; Alice is told he joined.
  await bob.goto(`${base}/?room=lobby&name=Bob`);
  await connected(bob);
  await sees(bob, "hello from Alice");
  check(true, "Bob, joining late, got the earlier message from the history");
  await notice(alice, "Bob joined");
  check(true, "Alice was told that Bob joined");

  await say(bob, "hi Alice, Bob here");
  await sees(alice, "hi Alice, Bob here");
  await sees(bob, "hi Alice, Bob here");
  await say(alice, "how are you, Bob?");
  await sees(bob, "how are you, Bob?");
  await sees(alice, "how are you, Bob?");
  check(true, "messages in both directions reach both pages");

  for (const [who, page] of [["Alice", alice], ["Bob", bob]]) {
    const extensions = await page.evaluate(() => window.chat.socket.extensions);
    check(extensions.includes("permessage-deflate"), `${who}'s WebSocket.extensions = "${extensions}" (permessage-deflate negotiated)`);
  }

  // A room elsewhere hears nothing of the lobby.
  const carol = await open("carol");
  await carol.goto(`${base}/?room=kitchen&name=Carol`);
  await connected(carol);
  await say(carol, "anyone in the kitchen?");
  await sees(carol, "anyone in the kitchen?");
  check((await count(alice, "kitchen")) === 0 && (await count(carol, "Alice")) === 0, "rooms are separate");
  await carol.context().close();

  // The server cuts every connection; both pages reconnect by themselves, without
  // duplicating what they already show, and the chat goes on.
  console.log("@drop");
  await expectLine("dropped");
  await connected(alice, 2);
  await connected(bob, 2);
  await notice(alice, "Connection lost");
  await notice(alice, "Reconnected");
  check(true, "both pages reconnected after the server dropped their connections");
  await say(bob, "back again");
  await sees(alice, "back again");
  await sees(bob, "back again");
  check((await count(bob, "hello from Alice")) === 1, "the history sent again after the reconnect is not shown twice");
  check(true, "messages flow again after the reconnect");

  await alice.screenshot({ path: screenshot });
  console.log(`screenshot: ${screenshot}`);
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.stack || e}`);
} finally {
  await browser.close().catch(() => {});
  stdin.close();
  clearTimeout(deadline);
}
process.exit(failed ? 1 : 0);
