#!/usr/bin/env bash
# tests/readme_quickstart_test.sh — runs the README's quick-start block verbatim against a real
# `openpcc up` (issue 9: the README cannot drift from the product).
#
#   readme_quickstart_test.sh SOURCE_DIR OPENPCC_BINARY
#
# `openpcc up` runs with its default ports (as the README says) and a throwaway state directory;
# once the proxy answers a first request (the directory is published once the nodes registered,
# as the README tells the reader to wait), the first ```sh block under "### Use it" runs from the source
# directory with bash -euo pipefail. Its output must hold a streamed answer's [DONE] and the
# verification of a simulated node.
set -euo pipefail
SOURCE="$1"
BIN="$2"
TMP="$(mktemp -d)"
export OPENPCC_STATE_DIR="$TMP/state" XDG_CONFIG_HOME="$TMP/config"
UP_PID=""
cleanup() {
  if [[ -n "$UP_PID" ]] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -INT "$UP_PID"
    wait "$UP_PID" || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

block="$(awk '/^### Use it/ {in_section = 1} in_section && /^```sh$/ {in_block = 1; next}
              in_block && /^```$/ {exit} in_block {print}' "$SOURCE/README.md")"
[[ -n "$block" ]] || { echo "README: no \`\`\`sh block under '### Use it'" >&2; exit 1; }
# The block calls build/release/src/openpcc; this test's binary must be that one.
[[ "$(realpath "$BIN")" == "$(realpath "$SOURCE/build/release/src/openpcc")" ]] ||
  { echo "the block names build/release/src/openpcc, the test runs $BIN" >&2; exit 1; }

"$BIN" up > "$TMP/up.log" 2>&1 &
UP_PID=$!
ready=""
for _ in $(seq 1 240); do
  kill -0 "$UP_PID" 2>/dev/null || { echo "openpcc up exited:" >&2; cat "$TMP/up.log" >&2; exit 1; }
  if curl -sf -m 30 http://127.0.0.1:7600/v1/chat/completions -H 'content-type: application/json' \
       -d '{"model":"tiny","max_tokens":2,"messages":[{"role":"user","content":"ready?"}]}' > /dev/null; then
    ready=1
    break
  fi
  sleep 1
done
[[ -n "$ready" ]] || { echo "the proxy never answered:" >&2; cat "$TMP/up.log" >&2; exit 1; }

out="$(cd "$SOURCE" && bash -euo pipefail -c "$block" 2>&1)" || { echo "$out" >&2; echo "the README block failed" >&2; exit 1; }
grep -q 'data: \[DONE\]' <<< "$out" || { echo "$out" >&2; echo "no streamed answer ending in [DONE]" >&2; exit 1; }
grep -q '"simulated":true' <<< "$out" || { echo "$out" >&2; echo "no verification report" >&2; exit 1; }
echo "README quick start: ok"
