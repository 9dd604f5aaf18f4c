#!/usr/bin/env bash
# Run `molecule test` for each scenario (all of them by default), MOLECULE_JOBS at a time, each
# on its own containers (their names hold the scenario's) and into its own log under build/logs/.
# Every scenario runs even when one fails, so one run shows every failure; the end of the output says which scenarios
# failed, how long each took, and the lines that name what failed (CI shows only the tail).
set -uo pipefail
cd "$(dirname "$0")/.." || exit

jobs=${MOLECULE_JOBS:-2}
logs=build/logs
mkdir -p "$logs"
if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  # The longest first (as measured by CI runs), so that parallel runs end close together; then the
  # others by name.
  slowest=(stack deploy nginx gunicorn rolling cloudflared ufw systemd prod-tunnel)
  mapfile -t scenarios < <(
    for name in "${slowest[@]}"; do [ -f "molecule/$name/molecule.yml" ] && echo "$name"; done
    for file in molecule/*/molecule.yml; do basename "$(dirname "$file")"; done | grep -v -x -F "${slowest[@]/#/-e}")
fi

# One scenario: its log, then a line "<name> <seconds> <exit code>" in its result file.
run_scenario() {
  local name=$1 start=$SECONDS
  molecule test -s "$name" >"$logs/molecule-$name.log" 2>&1
  local rc=$?
  echo "$name $((SECONDS - start)) $rc" >"$logs/molecule-$name.result"
  printf '%-10s %5ss  %s\n' "$name" "$((SECONDS - start))" "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")"
}

for name in "${scenarios[@]}"; do rm -f "$logs/molecule-$name.result"; done
for name in "${scenarios[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  echo "--- molecule $name (log: $logs/molecule-$name.log)"
  run_scenario "$name" &
done
wait

status=0
failed=()
for name in "${scenarios[@]}"; do
  rc=$(awk '{print $3}' "$logs/molecule-$name.result" 2>/dev/null)
  if [ "${rc:-1}" -ne 0 ]; then
    status=1
    failed+=("$name")
  fi
done

# A log as plain lines: no colours, no frame that molecule draws around a step's output, and
# the lines it wrapped at the terminal's width joined again.
plain() {
  sed -E 's/\x1b\[[0-9;]*m//g; s/^ *[│└┌├╰╭─]+ ?//' "$1" |
    awk 'NR > 1 && /^  / { sub(/^ +/, ""); line = line (line ~ /^(FAILED|ERROR)$/ ? " " : "") $0; next } { if (NR > 1) print line; line = $0 } END { print line }'
}

for name in "${failed[@]}"; do
  echo "=== molecule $name failed; the lines that say why ($logs/molecule-$name.log) ==="
  # pytest's short summary, Ansible's failed tasks, molecule's verdicts.
  plain "$logs/molecule-$name.log" |
    grep -E '^(FAILED|ERROR) |^(fatal|failed): |Idempotence test failed|CRITICAL|^=+ .*(failed|error)' |
    grep -v 'glob failed' | cut -c1-400 | head -n 30
done

echo "=== molecule scenarios ==="
for name in "${scenarios[@]}"; do cat "$logs/molecule-$name.result" 2>/dev/null || echo "$name 0 1"; done |
  awk '{printf "%-10s %5ss  %s\n", $1, $2, ($3 == 0 ? "ok" : "FAILED (exit " $3 ")")}'
exit $status
