#!/usr/bin/env bash
# Runs every shipped scenario (scenarios/*.yaml and scenarios/reference/*.yaml) with two
# clustersim binaries and compares the CSV files they write, byte for byte: summary.csv,
# replications.csv and, for scenarios with a compare: section, comparison.csv.
# Use it around a change that must not alter results:
#   git worktree add /tmp/before HEAD~3 && (cd /tmp/before && swift build -c release --product clustersim)
#   Tests/Scripts/same-results.sh /tmp/before/.build/release/clustersim .build/release/clustersim
# Exit status 0 when every file is identical, 1 otherwise.
set -uo pipefail
before=${1:?usage: same-results.sh BEFORE_BINARY AFTER_BINARY}
after=${2:?usage: same-results.sh BEFORE_BINARY AFTER_BINARY}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
files=0
for scenario in scenarios/*.yaml scenarios/reference/*.yaml; do
  name=$(basename "$scenario" .yaml)
  command=run
  grep -q '^compare:' "$scenario" && command=compare
  for side in before after; do
    binary=$before; [ $side = after ] && binary=$after
    "$binary" $command "$scenario" --quiet --out "$work/$side/$name" >"$work/$side-$name.log" 2>&1 \
      || { echo "$name: $side binary failed: $(tail -1 "$work/$side-$name.log")"; status=1; }
  done
  for file in summary.csv replications.csv comparison.csv; do
    [ -f "$work/before/$name/$file" ] || [ -f "$work/after/$name/$file" ] || continue
    files=$((files + 1))
    if cmp -s "$work/before/$name/$file" "$work/after/$name/$file"; then
      echo "same     $name/$file"
    else
      echo "DIFFERS  $name/$file"; status=1
    fi
  done
done
echo "$files files compared; $([ $status = 0 ] && echo "all identical" || echo "some differ")"
exit $status
