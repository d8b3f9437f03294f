#!/bin/sh
# Builds one libFuzzer target with clang++ (standalone/CMakeLists.txt) and
# runs it for a while on the generated seed corpus. Called by the fuzz.*
# ctests (tests/fuzz/CMakeLists.txt).
#
# Usage: fuzz.sh CXX SOURCE_DIR BUILD_DIR TARGET SEEDS SECONDS MAX_LEN
#   CXX      clang++ to build with (empty if none was found)
#   SEEDS    seed corpus subfolder written by make_seed_corpus (tx, block)
# Exit: 0 no failure found; 1 a crash, sanitizer report or failed round trip
# (or a broken build); 77 skipped because clang++ or libFuzzer is missing.
set -u
cxx=$1 source_dir=$2 build_dir=$3 target=$4 seeds=$5 seconds=$6 max_len=$7
skip_code=77

if [ -z "$cxx" ] || ! command -v "$cxx" >/dev/null 2>&1; then
  echo "SKIPPED: clang++ not found, so the libFuzzer target $target cannot be built."
  echo "Install clang and its runtime (e.g. apt-get install clang libclang-rt-14-dev), then re-run cmake."
  exit $skip_code
fi
probe_dir=$build_dir/probe
mkdir -p "$probe_dir"
printf '#include <cstdint>\n#include <cstddef>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
  > "$probe_dir/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer "$probe_dir/probe.cpp" -o "$probe_dir/probe" >"$probe_dir/log" 2>&1; then
  echo "SKIPPED: $cxx cannot link a libFuzzer program (is libclang-rt-NN-dev installed?):"
  cat "$probe_dir/log"
  exit $skip_code
fi

set -e
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S "$source_dir/standalone" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx"
fi
nice cmake --build "$build_dir" --target "$target" make_seed_corpus
"$build_dir/make_seed_corpus" "$build_dir/seeds"
set +e

corpus=$build_dir/corpus/$target
artifacts=$build_dir/artifacts/$target
mkdir -p "$corpus" "$artifacts"
echo "fuzzing $target for ${seconds}s (corpus $corpus, seeds $build_dir/seeds/$seeds)"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
  "$build_dir/$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$corpus" "$build_dir/seeds/$seeds"
rc=$?
# libFuzzer's own failure exit code is 77 by default, the same as ctest's skip
# code here: map every failure to 1.
if [ $rc -ne 0 ]; then
  echo "FAILED: $target exited with $rc: libFuzzer found an input that crashes, trips a sanitizer or"
  echo "breaks the canonical round trip. Saved inputs:"
  ls -l "$artifacts"
  echo "Reproduce with: $build_dir/$target <input file>"
  exit 1
fi
echo "OK: $target found no failure in ${seconds}s"
exit 0
