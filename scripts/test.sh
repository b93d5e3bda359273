#!/usr/bin/env bash
# `npm test`: every unit and integration test (node:test; real PostgreSQL and pg-boss), then the end-to-end tests
# (Playwright driving Chromium against the real server). `npm test -- unit` runs only the first part.
# Prints one plain "N passed, N failed" line per runner.
set -uo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
status=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Static checks first: a type error or lint error fails the run.
if [ "$what" != "e2e" ]; then
  npx prisma generate >/dev/null && npx tsc --noEmit -p . && npx eslint . || { echo "static checks failed"; status=1; }
fi

# Node 20 does not expand globs for --test: the shell does.
node --import tsx --test --test-concurrency=2 test/*.test.ts 2>&1 | tee "$log"
unit_rc=${PIPESTATUS[0]}
pass=$(grep -E '^# pass [0-9]+' "$log" | tail -1 | awk '{print $3}')
fail=$(grep -E '^# fail [0-9]+' "$log" | tail -1 | awk '{print $3}')
echo "unit: ${pass:-0} passed, ${fail:-0} failed"
if [ "$unit_rc" -ne 0 ] || [ -z "$pass" ] || [ "${pass}" = "0" ]; then status=1; fi

if [ "$what" = "all" ] || [ "$what" = "e2e" ]; then
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
