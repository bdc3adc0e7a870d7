#!/usr/bin/env bash
# Install the Autobahn|Testsuite (wstest) into a private prefix.
# (ws-framework's copy of the workplace's autobahn setup script, used by
# scripts/autobahn.sh.)
#
# wstest is Python 2.7 code (PyPI autobahntestsuite 25.10.1 still is).
# Debian bookworm has no python2, so this script:
#   1. downloads CPython 2.7.18 and the two libraries bookworm lacks
#      (libssl1.1, libffi7) as .debs from Debian *bullseye*, using a private
#      apt configuration (the system's apt config and state are not touched);
#   2. unpacks them with `dpkg -x` into $PREFIX/py27 (nothing is installed
#      into /usr);
#   3. bootstraps pip 20.3.4 (last pip for Python 2) from PyPI and installs
#      autobahntestsuite with a fully pinned, tested dependency set;
#   4. writes wrappers $PREFIX/bin/wstest and $PREFIX/bin/python2.7.
#
# Idempotent: a second run only checks the install and prints the version.
# Force a rebuild with:  ./setup.sh --force
# Prefix: $AUTOBAHN_PREFIX (default /opt/autobahn).
#
# Needs: root (for /opt, and apt-get install of gcc if missing), network
# access to Debian's archive and PyPI, bash, dpkg, apt-get, python3 + pip
# (only to fetch the pip-for-py2 bootstrap wheel), gcc (for the wsaccel C
# extension; installed from the system's release if missing).
# The Debian archive used for bullseye is the one the system's own apt
# sources use for its release; set $AUTOBAHN_DEBIAN_MIRROR (e.g.
# http://HOST/debian) to use another.
set -euo pipefail

PREFIX="${AUTOBAHN_PREFIX:-/opt/autobahn}"
FORCE=0
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

WSTEST_VERSION=25.10.1
PY_DEB_VERSION=2.7.18-8+deb11u1
PY="$PREFIX/py27/usr/bin/python2.7"
STAMP="$PREFIX/.installed-autobahntestsuite-$WSTEST_VERSION"

log() { echo "[autobahn setup] $*" >&2; }

if [ "$FORCE" = 0 ] && [ -f "$STAMP" ] && [ -x "$PREFIX/bin/wstest" ] \
   && "$PREFIX/bin/wstest" -a >/dev/null 2>&1; then
  log "already installed in $PREFIX (use --force to rebuild)"
  "$PREFIX/bin/wstest" -a
  exit 0
fi

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }
[ "$(dpkg --print-architecture)" = amd64 ] || { log "only amd64 is supported"; exit 1; }

# ---------------------------------------------------------------- toolchain
need_pkgs=()
command -v x86_64-linux-gnu-gcc >/dev/null 2>&1 || need_pkgs+=(gcc)
[ -e /usr/include/stdio.h ] || need_pkgs+=(libc6-dev)
if ! command -v python3 >/dev/null 2>&1; then
  need_pkgs+=(python3 python3-pip)
elif ! python3 -m pip --version >/dev/null 2>&1; then
  need_pkgs+=(python3-pip)
fi
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need_pkgs+=(debian-archive-keyring)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing with apt-get: ${need_pkgs[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}"
fi

rm -rf "$PREFIX/py27" "$PREFIX/bin" "$STAMP"
mkdir -p "$PREFIX/bin" "$PREFIX/cache/debs" "$PREFIX/cache/pip" \
         "$PREFIX/apt/lists/partial" "$PREFIX/apt/cache/archives/partial"

# ------------------------------------------------- python2.7 from bullseye
APT_DIR="$PREFIX/apt"
MIRROR="${AUTOBAHN_DEBIAN_MIRROR:-}"
if [ -z "$MIRROR" ]; then
  # the archive the system's apt sources use for the system's own release
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  MIRROR="$(apt-get indextargets --no-release-info --format '$(RELEASE) $(REPO_URI)' 2>/dev/null \
            | awk -v c="$codename" '$1 == c { print $2; exit }')"
fi
[ -n "$MIRROR" ] || { log "no Debian archive found in the apt sources; set AUTOBAHN_DEBIAN_MIRROR"; exit 1; }
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || { log "missing $KEYRING (package debian-archive-keyring)"; exit 1; }
echo "deb [signed-by=$KEYRING] ${MIRROR%/} bullseye main" > "$APT_DIR/sources.list"
log "bullseye from ${MIRROR%/}"
APT_OPTS=(
  -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$APT_DIR/lists"
  -o "Dir::Cache=$APT_DIR/cache"
  -o "APT::Sandbox::User=root"
)
log "updating private bullseye package lists in $APT_DIR"
apt-get "${APT_OPTS[@]}" update -q >&2

DEBS=(
  "python2.7=$PY_DEB_VERSION"
  "python2.7-minimal=$PY_DEB_VERSION"
  "libpython2.7-minimal=$PY_DEB_VERSION"
  "libpython2.7-stdlib=$PY_DEB_VERSION"
  "libpython2.7=$PY_DEB_VERSION"
  "libpython2.7-dev=$PY_DEB_VERSION"
  "python2.7-dev=$PY_DEB_VERSION"
  libssl1.1
  libffi7
)
log "downloading: ${DEBS[*]}"
( cd "$PREFIX/cache/debs" && rm -f ./*.deb && apt-get "${APT_OPTS[@]}" download -q "${DEBS[@]}" >&2 )

log "unpacking into $PREFIX/py27"
mkdir -p "$PREFIX/py27"
for d in "$PREFIX"/cache/debs/*.deb; do dpkg -x "$d" "$PREFIX/py27"; done

LIBDIR="$PREFIX/py27/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="$LIBDIR"
# Debian's pyconfig.h includes <x86_64-linux-gnu/python2.7/pyconfig.h>;
# make both header dirs of the private prefix visible to gcc.
export CPATH="$PREFIX/py27/usr/include/python2.7:$PREFIX/py27/usr/include"
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONUSERBASE
export PIP_NO_PYTHON_VERSION_WARNING=1

"$PY" -E -s -c 'import ssl, ctypes, zlib, sqlite3, hashlib, sys; assert sys.version_info[:2] == (2, 7)' \
  || { log "private python2.7 does not start"; exit 1; }

# -------------------------------------------------------- pip for python 2
log "bootstrapping pip 20.3.4"
python3 -m pip download -q --no-deps --only-binary :all: -d "$PREFIX/cache/pip" pip==20.3.4 >&2
PIPWHL="$PREFIX/cache/pip/pip-20.3.4-py2.py3-none-any.whl"
"$PY" -E -s "$PIPWHL/pip" install -q --no-warn-script-location \
  pip==20.3.4 setuptools==44.1.1 wheel==0.37.1 >&2

# Fully pinned set, resolved once from autobahntestsuite 25.10.1's own pins
# (autobahn[twisted,accelerate]==0.10.9, Twisted==19.10.0, pyOpenSSL==19.1.0,
# cryptography==3.3.2, ...) and tested on Debian bookworm / x86-64.
# wsaccel is held at 0.6.2 (what autobahn 0.10.9 was made for; 0.6.6 declares
# Python >= 3.9 only in a misspelled field). Only txaio, autobahn, PyHamcrest
# and wsaccel come as sdists; the rest are py2 / cp27mu wheels.
cat > "$PREFIX/requirements-py27.txt" <<'EOF'
attrs==21.4.0
autobahn==0.10.9
autobahntestsuite==25.10.1
Automat==22.10.0
cffi==1.15.1
constantly==15.1.0
cryptography==3.3.2
enum34==1.1.10
hyperlink==21.0.0
idna==2.10
incremental==16.10.1
ipaddress==1.0.23
Jinja2==2.11.3
klein==17.10.0
linecache2==1.0.0
MarkupSafe==1.1.1
pyasn1==0.5.1
pyasn1-modules==0.3.0
pycparser==2.21
PyHamcrest==1.10.1
pyOpenSSL==19.1.0
service-identity==18.1.0
setuptools==44.0.0
six==1.16.0
traceback2==1.4.0
Twisted==19.10.0
txaio==2.1.0
typing==3.10.0.0
ujson==2.0.3
unittest2==1.1.0
Werkzeug==1.0.1
wsaccel==0.6.2
zope.interface==4.6.0
EOF
log "installing autobahntestsuite $WSTEST_VERSION and pinned dependencies (builds a few C extensions)"
"$PY" -E -s -m pip install -q --no-warn-script-location --no-build-isolation \
  -r "$PREFIX/requirements-py27.txt" >&2

# ---------------------------------------------------------------- wrappers
cat > "$PREFIX/bin/python2.7" <<EOF
#!/bin/sh
# private CPython 2.7 (Debian bullseye build) used by wstest
export LD_LIBRARY_PATH="$LIBDIR\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "$PY" -E -s -W "ignore:Python 2 is no longer supported" "\$@"
EOF
cat > "$PREFIX/bin/wstest" <<EOF
#!/bin/sh
# Autobahn|Testsuite $WSTEST_VERSION (installed by autobahn/setup.sh)
export LD_LIBRARY_PATH="$LIBDIR\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "$PY" -E -s -W "ignore:Python 2 is no longer supported" "$PREFIX/py27/usr/local/bin/wstest" "\$@"
EOF
chmod 755 "$PREFIX/bin/python2.7" "$PREFIX/bin/wstest"

# ------------------------------------------------------------------ checks
"$PREFIX/bin/python2.7" -c '
import wsaccel.utf8validator, wsaccel.xormask, OpenSSL, twisted, autobahn
from autobahn.websocket.compress import PerMessageDeflateOffer
import autobahntestsuite.fuzzing
' || { log "import check failed"; exit 1; }
"$PREFIX/bin/wstest" -a >/dev/null
touch "$STAMP"
log "done: $PREFIX/bin/wstest"
"$PREFIX/bin/wstest" -a
