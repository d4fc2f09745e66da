#!/usr/bin/env bash
# Runs `go test -v` over the given packages with the full log in bin/test.log, and prints a
# summary: every package's result line, each store engine's result, and the output of any
# failing test. Exit status is go test's.
set -uo pipefail
mkdir -p bin
log=bin/test.log
go test "$@" -v 2>&1 > "$log"
status=$?
grep -E -- '^ *--- (PASS|FAIL): (TestStoreSuite|TestMigrations)/(sqlite|postgres) ' "$log" |
  sed -E 's/^ *--- (PASS|FAIL): /store suite \1: /'
grep -E '^(ok|FAIL|\?) ' "$log" | grep -v 'no test files' || true
if [ $status -ne 0 ]; then
  echo "---- failures (full log: $log) ----"
  grep -E -B2 -A25 -- '--- FAIL|^panic:|DATA RACE' "$log" | head -400
fi
pass=$(grep -cE -- '^\s*--- PASS' "$log"); fail=$(grep -cE -- '^\s*--- FAIL' "$log"); skip=$(grep -cE -- '^\s*--- SKIP' "$log")
echo "tests: $pass passed, $fail failed, $skip skipped (tests and subtests)"
exit $status
