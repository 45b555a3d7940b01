#!/usr/bin/env bash
# Runs every micro-benchmark and end-to-end experiment reported in docs/benchmarks.md (about 20 minutes on 2 cores).
# Results: BenchmarkDotNet.Artifacts/results/*-report-github.md, BenchmarkDotNet.Artifacts/experiments/*.md, and machine.txt.
# Run it on a quiet machine: check `uptime` first (1-minute load average below ~1.5).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p BenchmarkDotNet.Artifacts
dotnet build -c Release
machine=BenchmarkDotNet.Artifacts/machine.txt
{
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket)'
  free -h | head -2
  grep PRETTY_NAME /etc/os-release
  echo "dotnet $(dotnet --version)"
  echo "start: $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$machine"
dotnet run -c Release --no-build -- --filter '*' 2>&1 | tee BenchmarkDotNet.Artifacts/bdn.log
echo "after micro-benchmarks: $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$machine"
dotnet run -c Release --no-build -- --experiment all 2>&1 | tee BenchmarkDotNet.Artifacts/experiments.log
echo "end: $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$machine"
cat "$machine"
