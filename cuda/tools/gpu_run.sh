#!/bin/bash
# gpu_run.sh -- everything the lent GPU machine runs in one call: build (sm_90), the test program on the GPU,
# compute-sanitizer memcheck and racecheck, and the benchmark. Logs go to $OUT (or ./gpu-out).
# Usage (repo root): bash cuda/tools/gpu_run.sh [all|test|bench]
set -u
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
what=${1:-all}
B=/tmp/ecf8-gpu-build
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv 2>&1 | tee "$OUT/gpu.txt"
cmake -S cuda -B $B -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >"$OUT/build.log" 2>&1 &&
  cmake --build $B -j16 >>"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
echo "build ok"
rc=0
if [ "$what" = all ] || [ "$what" = test ]; then
  $B/ecf8_test test-vectors --gpu=require 2>&1 | tee "$OUT/test.log" | tail -15; rc=$((rc | ${PIPESTATUS[0]}))
  SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
  if [ -n "$SAN" ]; then
    timeout 200 $SAN --tool memcheck --leak-check full --error-exitcode 9 $B/ecf8_test test-vectors --gpu=require --quick --fuzz=30 >"$OUT/memcheck.log" 2>&1
    echo "memcheck rc=$?"; tail -4 "$OUT/memcheck.log"
    timeout 150 $SAN --tool racecheck --error-exitcode 9 $B/ecf8_test test-vectors --gpu=require --quick --fuzz=5 >"$OUT/racecheck.log" 2>&1
    echo "racecheck rc=$?"; tail -4 "$OUT/racecheck.log"
  else
    echo "no compute-sanitizer"
  fi
fi
if [ "$what" = all ] || [ "$what" = bench ]; then
  $B/ecf8_bench ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.log"; rc=$((rc | ${PIPESTATUS[0]}))
  $B/ecf8_bench --sizes=512 --T=1024 --reps=10 2>&1 | tee "$OUT/bench-T1024.log" | grep "MB:"; rc=$((rc | ${PIPESTATUS[0]}))
fi
exit $rc
