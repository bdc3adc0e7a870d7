#!/usr/bin/env python3
"""Helpers for scripts/autobahn.sh (Python 3, stdlib only).

Adapted from the workplace's autobahn helper scripts for ws-framework.

  ab_helper.py check-url URL_OR_PORT         -> prints "URL HOST PORT" (loopback only)
  ab_helper.py free-port [HOST]              -> prints a TCP port free on HOST (127.0.0.1)
  ab_helper.py spec-client URL AGENT OUTDIR CASES EXCLUDES > fuzzingclient.json
  ab_helper.py spec-server PORT OUTDIR CASES EXCLUDES      > fuzzingserver.json
  ab_helper.py wait-port HOST PORT SECONDS [--pid PID]
        exit 0 once HOST:PORT accepts TCP; 1 on time-out; 4 if process PID
        exited first (bounded polling, never longer than SECONDS)
  ab_helper.py wait-exit PID SECONDS          -> exit 0 once process PID is gone (or a
                                                zombie), 1 if it still runs after SECONDS
  ab_helper.py update-reports URL AGENT       -> asks a fuzzingserver to write reports
  ab_helper.py summary REPORT_DIR --side SIDE --agent A [--any-agent]
                       [--wstest-log FILE] [--seconds S] [--json FILE]
                       [--cases-out FILE] [--counts-out FILE] [--selection TEXT]
        prints the counts (one line) and the cases that do not pass;
        exit 0: every case OK / NON-STRICT / INFORMATIONAL,
             1: some case FAILED, UNIMPLEMENTED or another non-pass result,
             3: no usable index.json,
             4: the run did not complete (fewer cases in the report than
                wstest announced in --wstest-log)

The per-case file (--cases-out) has one line per case, sorted by case number:
    SIDE CASE BEHAVIOR BEHAVIOR_CLOSE
(spaces inside a result are written as '_', e.g. WRONG_CODE), so that two runs
can be compared with diff.
"""
import argparse
import ast
import base64
import json
import os
import re
import socket
import sys
import time
from urllib.parse import urlsplit

BEHAVIORS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
PASSING = ("OK", "NON-STRICT", "INFORMATIONAL")
PASSING_CLOSE = ("OK", "INFORMATIONAL")
LOOPBACK_HOSTS = ("localhost", "::1")


def die(msg, code=2):
    print("ab_helper: " + msg, file=sys.stderr)
    sys.exit(code)


def is_loopback(host):
    if host in LOOPBACK_HOSTS:
        return True
    return re.fullmatch(r"127\.\d{1,3}\.\d{1,3}\.\d{1,3}", host) is not None


def check_url(arg):
    if re.fullmatch(r"\d{1,5}", arg):
        arg = "ws://127.0.0.1:%s" % arg
    u = urlsplit(arg)
    if u.scheme not in ("ws", "wss"):
        die("URL must start with ws:// or wss:// (got %r)" % arg)
    host = u.hostname or ""
    if not is_loopback(host):
        die("refusing non-loopback host %r: only 127.0.0.0/8, localhost and [::1] are allowed" % host)
    port = u.port or (443 if u.scheme == "wss" else 80)
    return arg, host, port


def split_patterns(s):
    return [p.strip() for p in s.split(",") if p.strip()]


def case_key(cid):
    return tuple(int(x) if x.isdigit() else 0 for x in cid.split("."))


def cmd_check_url(a):
    url, host, port = check_url(a.url)
    print(url, host, port)


def cmd_free_port(a):
    if not is_loopback(a.host):
        die("refusing non-loopback host %r" % a.host)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((a.host, 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def cmd_spec_client(a):
    spec = {
        "options": {"failByDrop": False},
        "outdir": os.path.abspath(a.outdir),
        "servers": [{"agent": a.agent, "url": a.url}],
        "cases": split_patterns(a.cases) or ["*"],
        "exclude-cases": split_patterns(a.excludes),
        "exclude-agent-cases": {},
    }
    print(json.dumps(spec, indent=2))


def cmd_spec_server(a):
    spec = {
        "url": "ws://127.0.0.1:%d" % a.port,
        "options": {"failByDrop": False},
        "outdir": os.path.abspath(a.outdir),
        "cases": split_patterns(a.cases) or ["*"],
        "exclude-cases": split_patterns(a.excludes),
        "exclude-agent-cases": {},
    }
    print(json.dumps(spec, indent=2))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped by its parent) counts as gone
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def cmd_wait_port(a):
    deadline = time.monotonic() + a.seconds
    while True:
        if a.pid and not pid_alive(a.pid):
            sys.exit(4)
        try:
            socket.create_connection((a.host, a.port), timeout=1).close()
            return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            sys.exit(1)
        time.sleep(0.1)


def cmd_wait_exit(a):
    deadline = time.monotonic() + a.seconds
    while pid_alive(a.pid):
        if time.monotonic() >= deadline:
            sys.exit(1)
        time.sleep(0.05)


def cmd_update_reports(a):
    """Minimal RFC 6455 client: open /updateReports, wait for the server's
    close frame (sent after the reports are written), answer it."""
    url, host, port = check_url(a.url)
    if url.startswith("wss:"):
        die("update-reports supports ws:// only")
    key = base64.b64encode(os.urandom(16)).decode()
    path = "/updateReports?agent=%s" % a.agent
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key))
    try:
        s = socket.create_connection((host, port), timeout=a.timeout)
    except OSError as e:
        die("cannot connect to %s:%d: %s" % (host, port, e), 1)
    s.sendall(req.encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            die("connection closed during handshake", 1)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        die("handshake refused: %r" % head.split(b"\r\n", 1)[0], 1)
    buf = rest
    while True:  # read frames until a close frame (opcode 8)
        while len(buf) < 2:
            chunk = s.recv(4096)
            if not chunk:
                s.close()
                return
            buf += chunk
        opcode, ln = buf[0] & 0x0F, buf[1] & 0x7F
        hl = 2 + (2 if ln == 126 else 8 if ln == 127 else 0)
        while len(buf) < hl:
            buf += s.recv(4096)
        if ln == 126:
            ln = int.from_bytes(buf[2:4], "big")
        elif ln == 127:
            ln = int.from_bytes(buf[2:10], "big")
        while len(buf) < hl + ln:
            buf += s.recv(4096)
        buf = buf[hl + ln:]
        if opcode == 8:
            # masked, empty-bodied close frame in reply
            s.sendall(bytes([0x88, 0x80]) + os.urandom(4))
            try:
                s.recv(16)
            except OSError:
                pass
            s.close()
            return


def announced_cases(log_path):
    """The case ids wstest printed at start ("Cases = [...]"), or None."""
    try:
        with open(log_path, errors="replace") as f:
            for line in f:
                if line.startswith("Cases = ["):
                    return [str(c) for c in ast.literal_eval(line[len("Cases = "):].strip())]
    except (OSError, ValueError, SyntaxError):
        pass
    return None


def word(s):
    return "-" if s is None or s == "" else str(s).replace(" ", "_")


def short(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def cmd_summary(a):
    index = os.path.join(a.report_dir, "index.json")
    try:
        with open(index) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        print("AUTOBAHN %s: no usable report (%s)" % (a.side, e))
        sys.exit(3)
    agent = a.agent
    if agent not in data and a.any_agent and len(data) == 1:
        other = next(iter(data))
        print("ab_helper: agent %s not in the report; using the only agent there: %s"
              % (agent, other), file=sys.stderr)
        agent = other
    if agent not in data:
        print("AUTOBAHN %s: agent %s not in %s (agents there: %s)"
              % (a.side, agent, index, ", ".join(sorted(data)) or "none"))
        sys.exit(3)
    cases = data[agent]
    ids = sorted(cases, key=case_key)
    counts = dict((b, 0) for b in BEHAVIORS)
    other, not_passing, close_bad = {}, [], []
    for cid in ids:
        b = cases[cid].get("behavior")
        if b in counts:
            counts[b] += 1
        else:
            other[b] = other.get(b, 0) + 1
        if b not in PASSING:
            not_passing.append(cid)
        if b != "UNIMPLEMENTED" and cases[cid].get("behaviorClose") not in PASSING_CLOSE:
            close_bad.append(cid)

    expected = announced_cases(a.wstest_log) if a.wstest_log else None
    missing = [c for c in (expected or []) if c not in cases]
    incomplete = bool(missing) or (a.wstest_log is not None and expected is None)

    parts = ["%s=%d" % (b, counts[b]) for b in BEHAVIORS]
    parts += ["%s=%d" % (word(k), v) for k, v in sorted(other.items(), key=str)]
    line = "AUTOBAHN %s agent=%s cases=%d %s close-not-ok=%d" % (
        a.side, agent, len(ids), " ".join(parts), len(close_bad))
    if expected is not None:
        line += " expected=%d" % len(expected)
    if a.seconds is not None:
        line += " time=%ss" % a.seconds
    line += " not-passing=[%s]" % ",".join(not_passing)
    print(line)

    for cid in not_passing + [c for c in close_bad if c not in not_passing]:
        c = cases[cid]
        detail = ""
        try:
            with open(os.path.join(a.report_dir, c.get("reportfile", ""))) as f:
                rep = json.load(f)
            detail = "\n    description: %s\n    expectation: %s\n    result: %s\n    resultClose: %s" % (
                short(rep.get("description", "")), short(rep.get("expectation", "")),
                short(rep.get("result", "")), short(rep.get("resultClose", "")))
        except (OSError, ValueError):
            pass
        print("  %s %s behavior=%s behaviorClose=%s remoteCloseCode=%s report=%s%s" % (
            a.side, cid, word(c.get("behavior")), word(c.get("behaviorClose")),
            c.get("remoteCloseCode"), os.path.join(a.report_dir, c.get("reportfile", "?")), detail))
    if expected is None and a.wstest_log is not None:
        print("AUTOBAHN %s: could not read the announced case list from %s" % (a.side, a.wstest_log))
    if missing:
        print("AUTOBAHN %s: INCOMPLETE: %d of %d announced cases have no result: %s%s" % (
            a.side, len(missing), len(expected), ",".join(missing[:20]),
            " ..." if len(missing) > 20 else ""))

    if a.cases_out:
        with open(a.cases_out, "w") as f:
            for cid in ids:
                f.write("%s %s %s %s\n" % (a.side, cid, word(cases[cid].get("behavior")),
                                           word(cases[cid].get("behaviorClose"))))
            for cid in missing:
                f.write("%s %s MISSING MISSING\n" % (a.side, cid))
    if a.counts_out:
        with open(a.counts_out, "w") as f:
            f.write("# Autobahn|Testsuite, %s side, agent %s%s\n" % (
                a.side, agent, (", " + a.selection) if a.selection else ""))
            f.write("cases %d\n" % len(ids))
            for b in BEHAVIORS:
                f.write("%s %d\n" % (b, counts[b]))
            for k, v in sorted(other.items(), key=str):
                f.write("%s %d\n" % (word(k), v))
            f.write("close-not-ok %d\n" % len(close_bad))
            if expected is not None:
                f.write("missing %d\n" % len(missing))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"side": a.side, "agent": agent, "report": os.path.abspath(a.report_dir),
                       "seconds": a.seconds, "cases": len(ids), "counts": counts, "other": other,
                       "not_passing": not_passing, "close_not_ok": close_bad,
                       "expected": len(expected) if expected is not None else None,
                       "missing": missing}, f, indent=2)
    if incomplete:
        sys.exit(4)
    sys.exit(1 if not_passing else 0)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("check-url"); s.add_argument("url"); s.set_defaults(f=cmd_check_url)
    s = sub.add_parser("free-port"); s.add_argument("host", nargs="?", default="127.0.0.1")
    s.set_defaults(f=cmd_free_port)
    s = sub.add_parser("spec-client")
    for n in ("url", "agent", "outdir", "cases", "excludes"):
        s.add_argument(n)
    s.set_defaults(f=cmd_spec_client)
    s = sub.add_parser("spec-server"); s.add_argument("port", type=int)
    for n in ("outdir", "cases", "excludes"):
        s.add_argument(n)
    s.set_defaults(f=cmd_spec_server)
    s = sub.add_parser("wait-port"); s.add_argument("host"); s.add_argument("port", type=int)
    s.add_argument("seconds", type=float); s.add_argument("--pid", type=int)
    s.set_defaults(f=cmd_wait_port)
    s = sub.add_parser("wait-exit"); s.add_argument("pid", type=int)
    s.add_argument("seconds", type=float); s.set_defaults(f=cmd_wait_exit)
    s = sub.add_parser("update-reports"); s.add_argument("url"); s.add_argument("agent")
    s.add_argument("--timeout", type=float, default=120); s.set_defaults(f=cmd_update_reports)
    s = sub.add_parser("summary"); s.add_argument("report_dir")
    s.add_argument("--side", required=True); s.add_argument("--agent", required=True)
    s.add_argument("--any-agent", action="store_true",
                   help="if --agent is not in the report but exactly one other agent is, use it")
    s.add_argument("--wstest-log"); s.add_argument("--seconds")
    s.add_argument("--json"); s.add_argument("--cases-out"); s.add_argument("--counts-out")
    s.add_argument("--selection", help="text for the counts file's header")
    s.set_defaults(f=cmd_summary)
    a = p.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
