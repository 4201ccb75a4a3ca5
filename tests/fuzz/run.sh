#!/usr/bin/env bash
# kumo's fuzzing: builds every tests/fuzz/fuzz_*.c with libFuzzer, ASan and
# UBSan (clang) and runs each for FUZZ_SECONDS (default 20). A target names
# the sources it needs in a "/* fuzz-sources: src/a.c src/b.c */" line;
# seeds live in tests/fuzz/corpus/<target>/, a dictionary in
# tests/fuzz/<target>.dict. New corpus entries go to build-fuzz/ (not the
# tree). Prints one line per target and "N passed, N failed".
# Usage: tests/fuzz/run.sh [TARGET...]
set -u
cd "$(dirname "$0")/../.." || exit 2
CLANG=${CLANG:-clang}
SECONDS_EACH=${FUZZ_SECONDS:-20}
OUT=build-fuzz
mkdir -p "$OUT"
if ! command -v "$CLANG" >/dev/null; then
  echo "fuzz: $CLANG not found (tools/deps.sh installs clang)"
  echo "0 passed, 1 failed"
  exit 1
fi
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude $(pkg-config --cflags lua5.4 libcurl libcrypto expat)"
libs="$(pkg-config --libs lua5.4 libcurl libcrypto expat) -lm"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
pass=0
fail=0
for name in "${targets[@]}"; do
  src=tests/fuzz/$name.c
  deps=$(sed -nE 's|.*fuzz-sources:(.*)\*/.*|\1|p' "$src" | head -n 1)
  # shellcheck disable=SC2086
  if ! $CLANG $flags -o "$OUT/$name" "$src" $deps $libs 2>"$OUT/$name.build.log"; then
    echo "$name: build failed"; cat "$OUT/$name.build.log"
    fail=$((fail + 1)); continue
  fi
  corpus="$OUT/corpus-$name"
  mkdir -p "$corpus"
  seeds=()
  [ -d "tests/fuzz/corpus/$name" ] && seeds+=("tests/fuzz/corpus/$name")
  dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict+=("-dict=tests/fuzz/$name.dict")
  log="$OUT/$name.log"
  "$OUT/$name" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 \
    -rss_limit_mb=1024 -artifact_prefix="$OUT/$name-" -print_final_stats=1 \
    "${dict[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
  if [ "$rc" -eq 0 ]; then
    echo "$name: ok, ${runs:-?} runs in ${SECONDS_EACH}s, ${cov:-cov: ?}"
    pass=$((pass + 1))
  else
    echo "$name: FAILED (exit $rc); crash input in $OUT/$name-*; log:"
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -n 20
    fail=$((fail + 1))
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
