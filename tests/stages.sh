#!/usr/bin/env bash
# Run `make STAGE` for each stage in order, stop at the first failure, and print
# how long each stage took (also when one failed).
set -uo pipefail

declare -a report=()
status=0
for stage in "$@"; do
  echo "=== stage $stage ==="
  start=$SECONDS
  make --no-print-directory "$stage"
  rc=$?
  report+=("$(printf '%-10s %5ss  %s' "$stage" "$((SECONDS - start))" "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
  if [ $rc -ne 0 ]; then
    status=$rc
    break
  fi
done

echo "=== stage times ==="
printf '%s\n' "${report[@]}"
exit $status
