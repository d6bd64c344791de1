#!/usr/bin/env bash
# Fresh-machine check: does a new user's first two commands work on a fresh clone?
#   1. `npm ci && npm test`   in a fresh clone, with an empty HOME (no ~/.cache/dllm-code, no ~/.npm, no ~/.npmrc)
#   2. `npm ci && npm start`  in another fresh clone with another empty HOME, in the background: the URL it prints
#      must answer HTTP 200 within 15 minutes; then Ctrl+C (SIGINT) must stop it, code-server included
#   3. `npm start` again in that clone: reuses the toolchain (no install) and answers 200 again
# Then it removes the clones and HOMEs, keeps the logs, and prints a verdict (exit 0 only if every step passed).
#
#   scripts/fresh-machine-check.sh [REV]        REV: branch, tag or commit of this repository (default HEAD)
#   REPO=url-or-path                            clone another repository instead of this one
#   FRESH_STEPS="test start"                    the steps to run (default both)
#   FRESH_LAYERS="unit e2e"                     only these test layers (`npm test -- unit e2e`; default all)
#   FRESH_LOGS=dir                              where the logs go (default /tmp/dllm-fresh-logs-<time>)
# The environment is a new login's: HOME, a standard PATH plus the folder of the `node` found now, locale and proxy
# variables. Debian packages are machine-wide, so they are only fresh on a fresh machine; run as root (or with
# passwordless sudo) so that `npm test` can install them, as a new user would.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-HEAD}
repo=${REPO:-$here}
steps=${FRESH_STEPS:-test start}
logs=${FRESH_LOGS:-/tmp/dllm-fresh-logs-$(date -u +%Y%m%dT%H%M%SZ)}
start_limit_s=900
work=$(mktemp -d "${TMPDIR:-/tmp}/dllm-fresh.XXXXXX")
mkdir -p "$logs"
verdicts=()
failed=0
start_pgid=

say() { echo "[fresh $(date -u +%H:%M:%S)] $*"; }
pass() { verdicts+=("PASS  $*"); say "PASS: $*"; }
fail() { verdicts+=("FAIL  $*"); say "FAIL: $*"; failed=1; }

stop_start() {
  [ -n "$start_pgid" ] || return 0
  if ! kill -0 -- "-$start_pgid" 2>/dev/null; then # signalling nothing would pass for a clean stop
    say "no process group $start_pgid to interrupt"; start_pgid=; return 1
  fi
  kill -INT -- "-$start_pgid" 2>/dev/null || true   # what Ctrl+C in a terminal does
  for _ in $(seq 1 30); do kill -0 -- "-$start_pgid" 2>/dev/null || break; sleep 1; done
  local left=0
  kill -0 -- "-$start_pgid" 2>/dev/null && { left=1; kill -KILL -- "-$start_pgid" 2>/dev/null || true; }
  start_pgid=
  return $left
}
cleanup() {
  stop_start || true
  # code-server's files in the cache are read-only in places
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node_dir=$(dirname "$(command -v node)")
# A new login's environment: nothing from this shell's npm, caches, DLLM_* or pyenv/nvm settings.
# It execs, so that `fresh_env ... &` leaves $! as the pid of the command itself (with setsid: its process group),
# not of a subshell that waits for it. Call it only in a subshell or in the background.
fresh_env() { # fresh_env HOME cmd...
  local home=$1; shift
  exec env -i HOME="$home" USER="${USER:-$(id -un)}" LOGNAME="${USER:-$(id -un)}" SHELL=/bin/bash TERM="${TERM:-dumb}" \
    LANG="${LANG:-C.UTF-8}" PATH="$node_dir:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    ${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} ${no_proxy:+no_proxy=$no_proxy} \
    ${HTTP_PROXY:+HTTP_PROXY=$HTTP_PROXY} ${HTTPS_PROXY:+HTTPS_PROXY=$HTTPS_PROXY} ${NO_PROXY:+NO_PROXY=$NO_PROXY} \
    "$@"
}

http_status() { # the HTTP status of a GET, or "none"
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(20000) }).then((r) => console.log(r.status), () => console.log("none"))' "$1"
}

clone() { # clone DIR
  git clone -q "$repo" "$1"
  git -C "$1" checkout -q --detach "$commit"
}

commit=$(git -C "$repo" rev-parse --verify "$rev^{commit}" 2>/dev/null || echo "$rev")
say "repository $repo at $commit ($(git -C "$repo" log -1 --format=%s "$commit" 2>/dev/null | cut -c1-70))"
say "node $(node --version) ($node_dir), npm $(npm --version); $(nproc) cores; logs in $logs"

if [[ " $steps " == *" test "* ]]; then
  clone "$work/test"
  mkdir -p "$work/home-test"
  say "step 1: npm ci && npm test ${FRESH_LAYERS:+-- $FRESH_LAYERS} (HOME=$work/home-test, log $logs/test.log)"
  t0=$SECONDS
  set +e
  (cd "$work/test" && fresh_env "$work/home-test" bash -c "npm ci && npm test ${FRESH_LAYERS:+-- $FRESH_LAYERS}") > "$logs/test.log" 2>&1
  rc=$?
  set -e
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/test.log" | tail -1 || true)
  took="$(( (SECONDS - t0) / 60 )) min"
  if [ $rc -eq 0 ] && [[ "$summary" == *" 0 failed"* ]]; then pass "npm ci && npm test: $summary (exit 0, $took)"
  else fail "npm ci && npm test: ${summary:-no summary line} (exit $rc, $took; see $logs/test.log)"; fi
  chmod -R u+w "$work/test" "$work/home-test" 2>/dev/null || true
  rm -rf "$work/test" "$work/home-test"
fi

# start_and_probe NAME LIMIT_S: runs `npm start` in $work/start in the background; passes if the printed URL answers 200.
start_and_probe() {
  local name=$1 limit=$2 log="$logs/$1.log" t0=$SECONDS url= code=
  # its own process group (setsid), so that SIGINT to the group is what Ctrl+C in its terminal would do
  fresh_env "$work/home-start" PORT="$port" DLLM_START_ROUTE=code-server \
    setsid bash -c "cd '$work/start' && $start_cmd" > "$log" 2>&1 &
  start_pgid=$!
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    if ! kill -0 "$start_pgid" 2>/dev/null; then fail "$name: exited before serving (see $log)"; start_pgid=; return; fi
    url=$(grep -oE 'Open: http://[^ ]+' "$log" | head -1 | cut -c7- || true)
    if [ -n "$url" ]; then
      code=$(http_status "$url")
      [ "$code" = 200 ] && break
    fi
    sleep 5
  done
  local took=$((SECONDS - t0))
  if [ "$code" = 200 ]; then pass "$name: $url answered 200 after ${took} s"
  else fail "$name: no 200 within ${limit} s (url: ${url:-none printed}, last status: ${code:-none}; see $log)"; fi
  if [ "$name" = "npm start (again)" ]; then
    if grep -q '\[setup\] installing\|\[toolchain\] \$ npm install' "$log"; then fail "$name: installed again instead of reusing the toolchain"
    else pass "$name: reused the installed toolchain (no install lines)"; fi
  fi
  if stop_start; then pass "$name: Ctrl+C (SIGINT) stopped it"; else fail "$name: still running 30 s after SIGINT"; fi
  if [ -n "$url" ] && [ "$(http_status "$url")" != none ]; then fail "$name: the URL still answers after Ctrl+C"; fi
}

if [[ " $steps " == *" start "* ]]; then
  clone "$work/start"
  mkdir -p "$work/home-start"
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  say "step 2: npm ci && npm start (HOME=$work/home-start, PORT=$port, log $logs/start.log); limit ${start_limit_s} s"
  start_cmd='npm ci && exec npm start'
  start_and_probe "npm ci && npm start" "$start_limit_s"
  say "step 3: npm start again in the same clone (log \"$logs/npm start (again).log\")"
  start_cmd='exec npm start'
  start_and_probe "npm start (again)" 300
fi

echo
echo "=== fresh-machine check: $commit ==="
printf '%s\n' "${verdicts[@]}"
if [ $failed -eq 0 ]; then echo "VERDICT: PASS"; else echo "VERDICT: FAIL"; fi
echo "logs: $logs"
exit $failed
