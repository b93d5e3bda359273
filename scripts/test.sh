#!/usr/bin/env bash
# `npm test`: static checks, then the node:test sets in test/ (unit: pure, no database, network or processes;
# integration: real PostgreSQL, pg-boss and HTTP servers; contract: the drivers against the fake gateways and the fakes
# against recordings of real releases), the interop tests against real OpenClaw gateways (installed from the npm registry
# into .cache/openclaw on first use), and the end-to-end tests (Playwright driving Chromium against the real server).
# `npm test -- <unit|integration|contract|interop|e2e>` runs one set (`static` only the static checks).
# Prints one plain "<set>: N passed, N failed" line per runner.
set -uo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
case "$what" in
  all | static | unit | integration | contract | interop | e2e) ;;
  *) echo "usage: scripts/test.sh [static|unit|integration|contract|interop|e2e]" >&2; exit 2 ;;
esac
status=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Runs node:test over the given files and prints its summary as "<label>: N passed, N failed".
node_tests() {
  local label="$1" concurrency="$2"
  shift 2
  node --import tsx --test --test-concurrency="$concurrency" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local pass fail
  pass=$(grep -E '^# pass [0-9]+' "$log" | tail -1 | awk '{print $3}')
  fail=$(grep -E '^# fail [0-9]+' "$log" | tail -1 | awk '{print $3}')
  echo "$label: ${pass:-0} passed, ${fail:-0} failed"
  if [ "$rc" -ne 0 ] || [ -z "$pass" ] || [ "${pass}" = "0" ]; then status=1; fi
}

runs() { [ "$what" = "all" ] || [ "$what" = "$1" ]; }

# Static checks first: a type error or lint error fails the run.
if runs static; then
  npx prisma generate >/dev/null && npx tsc --noEmit -p . && npx eslint . && npx knip --no-progress || { echo "static checks failed"; status=1; }
fi

# Node 20 does not expand globs for --test: the shell does (one set per folder).
if runs unit; then node_tests unit 2 test/unit/*.test.ts; fi
if runs integration; then node_tests integration 2 test/integration/*.test.ts; fi
if runs contract; then node_tests contract 2 test/contract/*.test.ts; fi

# One gateway at a time: each interop file starts real gateways, which take a core each while they boot.
if runs interop; then
  node_tests interop 1 test/interop/*.test.ts
fi

if runs e2e; then
  rm -f test-results/e2e-results.json
  npx playwright test
  e2e_rc=$?
  if [ -f test-results/e2e-results.json ]; then
    node -e '
      const r = require("./test-results/e2e-results.json");
      const s = r.stats || {};
      console.log(`e2e: ${s.expected ?? 0} passed, ${(s.unexpected ?? 0) + (s.flaky ?? 0)} failed`);
    '
  else
    echo "e2e: 0 passed, 1 failed"
  fi
  if [ "$e2e_rc" -ne 0 ]; then status=1; fi
fi
exit $status
