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
  # The longest first (as measured by CI runs: 2026-12-07), so that parallel runs end close
  # together; then the others by name.
  slowest=(deploy stack nginx cloudflared rolling gunicorn ufw prod-tunnel systemd)
  mapfile -t scenarios < <(
    for name in "${slowest[@]}"; do [ -f "molecule/$name/molecule.yml" ] && echo "$name"; done
    for file in molecule/*/molecule.yml; do basename "$(dirname "$file")"; done | grep -v -x -F "${slowest[@]/#/-e}")
fi

# Molecule's step lines ("converge: Executing") prefixed with the seconds since the scenario
# started, so that a log shows where its time went (steps below).
stamp_steps() {
  local start=$1 line
  while IFS= read -r line; do
    [[ $line == *Executing* || $line == *Executed* ]] && line="[$((SECONDS - start))s] $line"
    printf '%s\n' "$line"
  done
}

# The seconds each molecule step took, from a log's stamped lines: "converge 310 verify 402 ...".
steps() {
  sed -E 's/\x1b\[[0-9;]*m//g' "$1" |
    awk '$2 !~ /^(INFO|WARNING)$/ { next }
         /: Executing$/ { step = $0; sub(/:.*/, "", step); sub(/.* /, "", step); begin = substr($1, 2) + 0 }
         /: Executed/ { printf "%s %d  ", step, substr($1, 2) - begin }'
}

# One scenario: its log, then a line "<name> <seconds> <exit code>" in its result file.
# Its test sequence (.config/molecule/config.yml) starts with create, not molecule's destroy
# playbook: the containers and network a killed run left behind are removed here, and a fresh
# ephemeral directory means molecule's state knows of none.
run_scenario() {
  local name=$1 start=$SECONDS
  local prefix=${MOLECULE_INSTANCE_PREFIX:-sc}-$name
  docker ps -aq --filter "name=^$prefix-" | xargs -r docker rm -f >/dev/null
  docker network ls -q --filter "name=^$prefix$" | xargs -r docker network rm >/dev/null
  rm -rf "build/molecule/$name" && mkdir -p "build/molecule/$name"
  MOLECULE_EPHEMERAL_DIRECTORY=$PWD/build/molecule/$name molecule test -s "$name" 2>&1 | stamp_steps "$start" >"$logs/molecule-$name.log"
  local rc=${PIPESTATUS[0]}
  echo "$name $((SECONDS - start)) $rc" >"$logs/molecule-$name.result"
  printf '%-10s %5ss  %s\n' "$name" "$((SECONDS - start))" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")"
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

echo "=== molecule scenarios (seconds: whole scenario, then each step) ==="
for name in "${scenarios[@]}"; do
  read -r _ seconds rc <"$logs/molecule-$name.result" 2>/dev/null || { seconds=0 rc=1; }
  printf '%-11s %5ss  %-16s %s\n' "$name" "$seconds" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")" "$(steps "$logs/molecule-$name.log")"
done
exit $status
