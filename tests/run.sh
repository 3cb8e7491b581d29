#!/usr/bin/env bash
# The README's test command: installs dependencies, builds (plain, with sanitizers, and the
# libFuzzer targets with clang) and runs the whole ctest suite. Non-zero on any failure.
#
#   tests/run.sh                 everything (what CI runs)
#   tests/run.sh -L unit         only tests with that ctest label (unit, bpf, e2e, fuzz)
#   tests/run.sh -R regex        only tests whose name matches
#   tests/run.sh --no-sanitize   skip the sanitizer build (faster local iteration)
#   tests/run.sh --no-fuzz       skip the fuzzer build and runs
# Environment: WB_FUZZ_SECONDS (default 45) bounds each fuzzer run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

label="" regex="" sanitize=1 fuzz=1
while (($#)); do
  case $1 in
    -L) label=$2; shift 2 ;;
    -R) regex=$2; shift 2 ;;
    --no-sanitize) sanitize=0; shift ;;
    --no-fuzz) fuzz=0; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tests/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

./deploy/install-deps.sh

# Leftovers of a crashed earlier run would make tests pass or fail for the wrong reason.
cleanup() {
  ./deploy/topology.sh sweep wbt || true
  for pin in /sys/fs/bpf/wbt*; do [[ -e $pin ]] && rm -rf "$pin"; done
  pkill -f "$root/build[^ ]*/agent/cli/wirebump" 2>/dev/null || true
}
cleanup
trap cleanup EXIT

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout, so a fresh clone elsewhere (CI) hits the same cache entries.
  export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=true
fi
jobs=$(nproc)

configure_and_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "${launcher[@]}" "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs"
}

passed=0 failed=0
summary=$(mktemp)
run_ctest() {  # dir, ctest args...
  local dir=$1; shift
  local args=(--test-dir "$dir" --output-on-failure --no-tests=ignore)
  [[ -n $label ]] && args+=(-L "$label")
  [[ -n $regex ]] && args+=(-R "$regex")
  set +e
  ctest "${args[@]}" "$@" | tee "$summary"
  local rc=${PIPESTATUS[0]}
  set -e
  local line p t
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$summary" | tail -1 || true)
  if [[ -n $line ]]; then
    t=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    p=$(sed -E 's/.*tests passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    failed=$((failed + p)); passed=$((passed + t - p))
  fi
  # ctest failing without a failed test (crash, bad arguments) still fails the run.
  if ((rc != 0)) && [[ -z $line || $p -eq 0 ]]; then failed=$((failed + 1)); fi
}

# Each configuration is built and tested before the next, so a failure shows early.
# Release: the whole suite. Unit and BPF tests are independent and run in parallel; e2e tests
# share the CPU-bound data path and run one at a time.
mkdir -p build build-asan build-fuzz
echo "== build: release"
configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== tests: release build"
run_ctest build -j "$jobs" -LE 'e2e|fuzz'
run_ctest build -L e2e
# The side-by-side benchmark against sslsplit, Squid and mitmproxy in its quick mode (< 2 min):
# proves the script, the peers and every configuration's interception check keep working (its
# figures are not judged here; the full run is by hand, see docs/benchmarks/compare.md).
if [[ -z $label && -z $regex ]]; then
  echo "== bench: tests/bench/compare.sh --quick (release build)"
  if tests/bench/compare.sh --quick --build build; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

# Sanitizers: every parser, engine and handler test (unit, bpf) under ASan+UBSan, leaks too.
# (e2e tests run against the release build above: they exercise the system, and a second pass
# under the sanitizers would double CI time; run them with `-L e2e` in build-asan by hand.)
if ((sanitize)); then
  echo "== build: address,undefined sanitizers"
  configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DWIREBUMP_SANITIZE=address,undefined \
    -DWIREBUMP_BENCH=OFF
  echo "== tests: sanitizer build"
  run_ctest build-asan -j "$jobs" -LE 'e2e|fuzz'
fi

# libFuzzer targets (clang, ASan+UBSan), each for WB_FUZZ_SECONDS.
if ((fuzz)); then
  echo "== build: libFuzzer targets (clang)"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja "${launcher[@]}" -DWIREBUMP_FUZZ=ON \
    -DWIREBUMP_BENCH=OFF -DWB_FUZZ_SECONDS="${WB_FUZZ_SECONDS:-45}" >build-fuzz.configure.log 2>&1 ||
    { cat build-fuzz.configure.log; exit 1; }
  cmake --build build-fuzz -j "$jobs" --target wb_fuzzers
  echo "== fuzzers: ${WB_FUZZ_SECONDS:-45} s each, $jobs at a time"
  run_ctest build-fuzz -j "$jobs" -L fuzz
fi
rm -f "$summary"

echo
echo "tests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
