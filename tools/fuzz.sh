#!/usr/bin/env bash
# Coverage-guided fuzzing of every reader (docs/reliability.md): each Jazzer @FuzzTest class runs in
# its own JVM for SECONDS (default 300). A crashing input is written by Jazzer into the target's
# src/test/resources/.../<Class>Inputs/fuzz/ directory; commit it (after fixing the reader) and every
# plain `mvn test` replays it from then on. The generated corpus goes to <module>/.cifuzz-corpus/
# (git-ignored) and is reused by the next run.
#
#   tools/fuzz.sh [SECONDS] [module:FuzzTestClass ...]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:-300}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(sdk:NpyFuzzTest converters:SafetensorsReaderFuzzTest converters:TorchZipReaderFuzzTest
           converters:RestrictedUnpicklerFuzzTest zoo:RegistryFuzzTest zoo:ImagePreprocessorFuzzTest)
fi
failed=()
for t in "${targets[@]}"; do
  mod=${t%%:*}
  cls=${t#*:}
  echo "== fuzzing $cls ($mod) for $secs s"
  log=$mod/target/fuzz-$cls.log
  mkdir -p "$mod/target"
  if mvn -B -pl "$mod" -am test -Dfuzz -Dfuzz.seconds="$secs" -Dtest="$cls" \
      -Dsurefire.failIfNoSpecifiedTests=false >"$log" 2>&1; then
    grep -E '^Done [0-9]+ runs' "$log" | tail -1 | sed "s/^/   $cls: /"
  else
    echo "   $cls: FINDING or failure, see $log"
    failed+=("$cls")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
