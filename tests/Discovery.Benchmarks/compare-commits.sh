#!/usr/bin/env bash
# Measures two commits side by side, in one session, and prints one markdown table (figure | old | new | change) with the
# commands, the machine and its load, ready to paste into docs/benchmarks.md. Made for issue #13 (a refactor that must
# not move the figures), usable for any before/after question.
#
#   tests/Discovery.Benchmarks/compare-commits.sh [--quick] [--keep] OLD [NEW]      (NEW defaults to HEAD)
#
# Figures, each measured for OLD and NEW back to back (the experiments interleaved old, new, new, old, ...):
#   (a) TryGetSnapshot                      BenchmarkDotNet, SnapshotLookupBenchmarks
#   (b) handler overhead with the floor     BenchmarkDotNet, HandlerOverheadBenchmarks: plain client, floor handler, ours
#   (c) change -> visible p50/p99           --experiment core-propagation
#   (d) core scale: memory, full sync time  --experiment core-scale --scope auto (10,000 Services)
#   (e) churn soak: stale picks (must be 0) the reliability test ChurnSoakTests (its figures file, DISCOVERY_RELIABILITY_REPORT;
#                                           the test executable started directly is xunit's own runner: -class, not --filter-class)
#
# How: each commit is checked out with `git worktree add --detach` into a temporary folder (mktemp -d under $TMPDIR or
# /tmp), built once in Release (tests/Discovery.Benchmarks and tests/Discovery.Reliability.Tests), and measured with its
# OWN benchmark and test code; a benchmark or experiment that a commit does not have shows as "n/a". The worktrees are
# removed at the end (also on failure or Ctrl-C; --keep leaves them for inspection). Logs, BenchmarkDotNet results and
# the table go to BenchmarkDotNet.Artifacts/compare-commits/<UTC time>/ in this repository (ignored by git).
#
# BenchmarkDotNet: each commit's own job (BenchConfig: out of process, 1 launch, 5 warm-up and 15 measured iterations),
# (a) and (b) in ONE BenchmarkDotNet run per commit, old then new: every run rebuilds the whole project graph for its
# host process without the compiler server (1-2 minutes on a quiet 2-core machine, 4+ under load), so one build per
# commit, not one per figure. A job given on the command line (-i, --iterationCount ...) would not replace BenchConfig's
# job but run beside it. --quick sets BENCH_DRY=1 (BenchConfig's Dry job: one iteration, numbers meaningless).
#
#                 full (default)                        --quick (to check the script itself)
#   (c)           5 runs per commit x 500 changes       2 runs x 100 changes
#   (d)           2 runs per commit, 10,000 Services    1 run, 1,000 Services
#   (e)           1 run per commit, medium mode (2 min) 1 run, short mode (8 s)
#   time, 2 cores about 20-25 minutes quiet (estimate)    about 8-10 minutes quiet; 21-23 minutes at load 30-55
#
# Overrides (environment): COMPARE_PROPAGATION_RUNS, COMPARE_PROPAGATION_CHANGES, COMPARE_SCALE_RUNS,
# COMPARE_SCALE_SERVICES, COMPARE_SOAK_RUNS, COMPARE_SOAK_MODE (short|medium|long), COMPARE_FIGURES (e.g. "a b c d e").
# Needs git, dotnet, python3 (for the summary). All traffic stays on loopback (the emulator and the test servers).
set -euo pipefail

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  echo "Options: --quick (short runs, to check the script), --keep (keep the worktrees). See the header of $0."
}

quick=0
keep=0
refs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --keep) keep=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) refs+=("$1") ;;
  esac
  shift
done
if [ ${#refs[@]} -lt 1 ] || [ ${#refs[@]} -gt 2 ]; then
  usage >&2
  exit 2
fi
for tool in git dotnet python3; do
  command -v "$tool" >/dev/null || { echo "compare-commits: $tool is needed" >&2; exit 2; }
done

repo=$(cd "$(dirname "$0")" && git rev-parse --show-toplevel)
old_ref=${refs[0]}
new_ref=${refs[1]:-HEAD}
old_sha=$(git -C "$repo" rev-parse --verify "$old_ref^{commit}")
new_sha=$(git -C "$repo" rev-parse --verify "$new_ref^{commit}")

if [ "$quick" -eq 1 ]; then
  mode=quick
  bench_dry=1
  prop_runs=2 prop_changes=100 scale_runs=1 scale_services=1000 soak_runs=1 soak_mode=short
else
  mode=full
  bench_dry=0
  prop_runs=5 prop_changes=500 scale_runs=2 scale_services=10000 soak_runs=1 soak_mode=medium
fi
prop_runs=${COMPARE_PROPAGATION_RUNS:-$prop_runs}
prop_changes=${COMPARE_PROPAGATION_CHANGES:-$prop_changes}
scale_runs=${COMPARE_SCALE_RUNS:-$scale_runs}
scale_services=${COMPARE_SCALE_SERVICES:-$scale_services}
soak_runs=${COMPARE_SOAK_RUNS:-$soak_runs}
soak_mode=${COMPARE_SOAK_MODE:-$soak_mode}
figures=${COMPARE_FIGURES:-a b c d e}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$repo/BenchmarkDotNet.Artifacts/compare-commits/$stamp"
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/discovery-compare.XXXXXX")

cleanup() {
  if [ "$keep" -eq 1 ]; then
    echo "kept the worktrees in $work (remove with: git worktree remove --force $work/old; git worktree remove --force $work/new)"
    return
  fi
  for side in old new; do
    if [ -d "$work/$side" ]; then
      git -C "$repo" worktree remove --force "$work/$side" 2>/dev/null || true
    fi
  done
  git -C "$repo" worktree prune
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

progress() {
  echo "[$(date -u +%T)] $*" | tee -a "$out/progress.log"
}

# Records the load before a figure: one line per figure in loads.tsv (figure, UTC time, `uptime`).
record_load() {
  printf '%s\t%s\t%s\n' "$1" "$(date -u +%FT%TZ)" "$(uptime)" >>"$out/loads.tsv"
}

# run LOG DIR SECONDS COMMAND...: runs COMMAND in DIR with a time limit; output in LOG, exit code in LOG.rc, never aborts.
run() {
  local log=$1 dir=$2 limit=$3
  shift 3
  local rc=0
  (cd "$dir" && timeout --kill-after=30 "$limit" "$@") >"$log" 2>&1 || rc=$?
  echo "$rc" >"$log.rc"
  if [ "$rc" -ne 0 ]; then
    progress "  exit code $rc (see $log)"
  fi
}

start_time=$(date -u +%FT%TZ)
started=$(date +%s)
{
  echo "mode: $mode"
  echo "old: $old_sha ($old_ref) $(git -C "$repo" log -1 --format=%s "$old_sha")"
  echo "new: $new_sha ($new_ref) $(git -C "$repo" log -1 --format=%s "$new_sha")"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket)' || true
  free -h | head -2
  grep PRETTY_NAME /etc/os-release || true
  echo "dotnet SDK $(dotnet --version)"
} >"$out/machine.txt"
progress "compare-commits ($mode): old $old_sha, new $new_sha; results in $out"

# Worktrees and one Release build of each commit.
record_load build
for side in old new; do
  sha=$old_sha
  [ "$side" = new ] && sha=$new_sha
  git -C "$repo" worktree add --detach --quiet "$work/$side" "$sha"
  progress "build $side ($sha)"
  # Only what the chosen figures need: the benchmark project for (a)-(d), the reliability tests for (e).
  if [ "$figures" != e ]; then
    run "$out/build-$side.log" "$work/$side" 1800 dotnet build tests/Discovery.Benchmarks -c Release -nologo
  fi
  if [ -d "$work/$side/tests/Discovery.Reliability.Tests" ] && case " $figures " in *" e "*) true ;; *) false ;; esac; then
    run "$out/build-reliability-$side.log" "$work/$side" 1800 dotnet build tests/Discovery.Reliability.Tests -c Release -nologo
  fi
done

bench_dir=tests/Discovery.Benchmarks
bench_dll=bin/Release/net10.0/Discovery.Benchmarks.dll
soak_dir=tests/Discovery.Reliability.Tests/bin/Release/net10.0
commands=()

# (a) and (b): one BenchmarkDotNet run per commit, old then new.
bdn() {
  local label=$1
  shift
  record_load "$label"
  for side in old new; do
    progress "($label) BenchmarkDotNet $side"
    run "$out/bdn-$side.log" "$work/$side/$bench_dir" 2400 \
      env BENCH_DRY="$bench_dry" dotnet "$bench_dll" --filter "$@" --exporters json --artifacts "$out/bdn-$side"
  done
  commands+=("($label) cd <worktree>/$bench_dir && BENCH_DRY=$bench_dry dotnet $bench_dll --filter $(printf "'%s' " "$@")--exporters json --artifacts <results>/bdn-<old|new>")
}

bdn_filters=()
case " $figures " in *" a "*) bdn_filters+=('*SnapshotLookupBenchmarks*') ;; esac
case " $figures " in *" b "*) bdn_filters+=('*HandlerOverheadBenchmarks.Plain*' '*HandlerOverheadBenchmarks.Floor*' '*HandlerOverheadBenchmarks.Ours*') ;; esac

# Interleaved runs of an experiment: old, new, new, old, old, new, ... (so that a drift in load hits both alike).
experiment() {
  local figure=$1 runs=$2
  shift 2
  record_load "$figure"
  for ((i = 1; i <= runs; i++)); do
    local order="old new"
    [ $((i % 2)) -eq 0 ] && order="new old"
    for side in $order; do
      progress "($figure) run $i/$runs $side: $*"
      run "$out/$figure-$side-$i.log" "$work/$side/$bench_dir" 900 dotnet "$bench_dll" "$@"
    done
  done
  commands+=("($figure) cd <worktree>/$bench_dir && dotnet $bench_dll $*   # $runs run(s) per commit, interleaved")
}

soak() {
  record_load e
  local limit
  case "$soak_mode" in long) limit=1500 ;; medium) limit=600 ;; *) limit=300 ;; esac
  for ((i = 1; i <= soak_runs; i++)); do
    local order="old new"
    [ $((i % 2)) -eq 0 ] && order="new old"
    for side in $order; do
      progress "(e) churn soak run $i/$soak_runs $side ($soak_mode mode)"
      local long=0
      [ "$soak_mode" = long ] && long=1
      if [ -x "$work/$side/$soak_dir/Discovery.Reliability.Tests" ]; then
        run "$out/e-$side-$i.log" "$work/$side/$soak_dir" "$limit" \
          env DISCOVERY_RELIABILITY_MODE="$soak_mode" DISCOVERY_RELIABILITY_LONG="$long" DISCOVERY_RELIABILITY_REPORT="$out/e-$side-$i.md" \
          ./Discovery.Reliability.Tests -class Discovery.Reliability.Tests.ChurnSoakTests
      else
        echo "no Discovery.Reliability.Tests in this commit" >"$out/e-$side-$i.log"
      fi
    done
  done
  commands+=("(e) cd <worktree>/$soak_dir && DISCOVERY_RELIABILITY_MODE=$soak_mode DISCOVERY_RELIABILITY_REPORT=<results>/e-<old|new>-<run>.md ./Discovery.Reliability.Tests -class Discovery.Reliability.Tests.ChurnSoakTests   # $soak_runs run(s) per commit")
}

for figure in $figures; do
  case "$figure" in
    a) bdn "a, b" "${bdn_filters[@]}" ;;
    b) case " $figures " in *" a "*) ;; *) bdn b "${bdn_filters[@]}" ;; esac ;;
    c) experiment c "$prop_runs" --experiment core-propagation --changes "$prop_changes" ;;
    d) experiment d "$scale_runs" --experiment core-scale --scope auto --services "$scale_services" ;;
    e) soak ;;
    *) echo "unknown figure $figure" >&2 ;;
  esac
done
record_load end
end_time=$(date -u +%FT%TZ)
elapsed=$(($(date +%s) - started))

printf '%s\n' "${commands[@]}" >"$out/commands.txt"
{
  echo "start: $start_time"
  echo "end: $end_time"
  echo "elapsed: $((elapsed / 60)) min $((elapsed % 60)) s"
} >>"$out/machine.txt"

python3 - "$out" "$mode" "$prop_runs" "$prop_changes" "$scale_runs" "$scale_services" "$soak_runs" "$soak_mode" "$bench_dry" >"$out/compare.md" <<'PY'
import glob, json, os, re, statistics, sys

out, mode, prop_runs, prop_changes, scale_runs, scale_services, soak_runs, soak_mode, bench_dry = sys.argv[1:]
rows = []  # (figure, old, new, change)


def fmt_num(v, unit, digits=1):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f} {unit}".strip()


def pct(old, new):
    if old is None or new is None or old == 0:
        return "n/a"
    return f"{(new - old) / old * 100:+.1f} %"


def diff(old, new, unit):
    if old is None or new is None:
        return "n/a"
    return f"{new - old:+,.0f} {unit}".strip()


def number(value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if v != v else v  # NaN (one iteration) -> None


# ---- BenchmarkDotNet (a, b): JSON report -> {(method, parameters): (mean ns, error ns, allocated B)}
def bdn(figure, side):
    result = {}
    kind = {"a": "SnapshotLookupBenchmarks", "b": "HandlerOverheadBenchmarks"}[figure]
    for path in glob.glob(os.path.join(out, f"bdn-{side}", "results", f"*{kind}*.json")):
        with open(path) as f:
            data = json.load(f)
        for b in data.get("Benchmarks", []):
            stats = b.get("Statistics") or {}
            mean = number(stats.get("Mean"))
            error = number((stats.get("ConfidenceInterval") or {}).get("Margin"))
            alloc = (b.get("Memory") or {}).get("BytesAllocatedPerOperation")
            result[(b["Method"], b.get("Parameters") or "")] = (mean, error, alloc, b.get("MethodTitle", b["Method"]).strip("'"))
    return result


def bdn_cell(m):
    if m is None or m[0] is None:
        return "n/a"
    mean, error, alloc, _ = m
    text = f"{mean:,.1f} ns"
    if error is not None:
        text += f" ± {error:,.1f}"
    if alloc is not None:
        text += f", {alloc:,} B"
    return text


def bdn_change(o, n):
    if o is None or n is None or o[0] is None or n[0] is None:
        return "n/a"
    text = pct(o[0], n[0])
    if o[2] is not None and n[2] is not None:
        text += f", {n[2] - o[2]:+,} B"
    return text


a_old, a_new = bdn("a", "old"), bdn("a", "new")
for key in sorted(set(a_old) | set(a_new), key=lambda k: (k[1], k[0] != "TryGetSnapshot", k[0])):
    o, n = a_old.get(key), a_new.get(key)
    title = (o or n)[3]
    rows.append((f"(a) {title} [{key[1]}]: mean, allocated", bdn_cell(o), bdn_cell(n), bdn_change(o, n)))

b_old, b_new = bdn("b", "old"), bdn("b", "new")
for category, suffix in (("no header", ""), ("Accept header", "WithHeader")):
    for method, label in (("Plain", "plain client"), ("Floor", "floor handler"), ("Ours", "Discovery handler")):
        key = (method + suffix, "")
        o, n = b_old.get(key), b_new.get(key)
        rows.append((f"(b) {category}: {label}: mean, allocated", bdn_cell(o), bdn_cell(n), bdn_change(o, n)))

    def over(d, a, b):
        x, y = d.get((a + suffix, "")), d.get((b + suffix, ""))
        if x is None or y is None or x[0] is None or y[0] is None:
            return None
        return (x[0] - y[0], None if x[2] is None or y[2] is None else x[2] - y[2])

    for a, b, label in (("Ours", "Plain", "ours − plain"), ("Floor", "Plain", "floor − plain"), ("Ours", "Floor", "ours − floor")):
        o, n = over(b_old, a, b), over(b_new, a, b)
        cell = lambda v: "n/a" if v is None else f"{v[0]:+,.1f} ns" + ("" if v[1] is None else f", {v[1]:+,} B")
        change = "n/a" if o is None or n is None else f"{n[0] - o[0]:+,.1f} ns" + ("" if o[1] is None or n[1] is None else f", {n[1] - o[1]:+,} B")
        rows.append((f"(b) {category}: {label}", cell(o), cell(n), change))


# ---- experiments (c, d): the markdown table each prints on stdout
def to_ms(text):
    m = re.match(r"\s*([0-9.,]+)\s*(ms|s|µs|us)\s*$", text)
    if not m:
        return None
    v = float(m.group(1).replace(",", ""))
    return {"ms": v, "s": v * 1000, "µs": v / 1000, "us": v / 1000}[m.group(2)]


def table_rows(path, first_header):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and cells[0] == first_header:
            result = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                result.append([c.strip() for c in row.strip().strip("|").split("|")])
            return result
    return []


def runs(figure, side, count):
    return [os.path.join(out, f"{figure}-{side}-{i}.log") for i in range(1, int(count) + 1)]


def summary(values, unit, digits):
    values = [v for v in values if v is not None]
    if not values:
        return None, "n/a"
    med = statistics.median(values)
    text = fmt_num(med, unit, digits)
    if len(values) > 1:
        text += f" ({min(values):,.{digits}f}–{max(values):,.{digits}f})"
    return med, text


def prop(side):
    p50, p99 = [], []
    for path in runs("c", side, prop_runs):
        r = table_rows(path, "changes")
        if r and len(r[0]) >= 5:
            p50.append(to_ms(r[0][1]))
            p99.append(to_ms(r[0][3]))
    return p50, p99


c_old, c_new = prop("old"), prop("new")
for index, name in ((0, "p50"), (1, "p99")):
    (mo, to), (mn, tn) = summary(c_old[index], "ms", 3), summary(c_new[index], "ms", 3)
    rows.append((f"(c) change → visible {name}: median of {prop_runs} runs × {prop_changes} changes (min–max)", to, tn, pct(mo, mn)))


def scale(side):
    times, memory, failures = [], [], []
    for path in runs("d", side, scale_runs):
        r = table_rows(path, "services")
        if not r:
            continue
        if r[0][1] == "failed":
            failures.append(r[0][2])
            continue
        times.append(to_ms(r[0][2]))
        m = re.match(r"([0-9.,]+) MB", r[0][3])
        memory.append(float(m.group(1).replace(",", "")) if m else None)
    return times, memory, failures


d_old, d_new = scale("old"), scale("new")
services = f"{int(scale_services):,}"
(mo, to), (mn, tn) = summary([t / 1000 for t in d_old[0] if t is not None], "s", 2), summary([t / 1000 for t in d_new[0] if t is not None], "s", 2)
rows.append((f"(d) core scale, {services} Services × 10 endpoints (`Auto`): time to full sync, median of {scale_runs} (min–max)", to, tn, pct(mo, mn)))
(mo, to), (mn, tn) = summary(d_old[1], "MB", 1), summary(d_new[1], "MB", 1)
rows.append((f"(d) core scale, {services} Services: managed memory (client), median of {scale_runs}", to, tn, pct(mo, mn)))
if d_old[2] or d_new[2]:
    rows.append(("(d) core scale: failed runs", "; ".join(d_old[2]) or "0", "; ".join(d_new[2]) or "0", ""))


# ---- churn soak (e): the reliability test's figures file
def soak(side):
    stale, attempts, requests, verdicts = [], [], [], []
    for i in range(1, int(soak_runs) + 1):
        path = os.path.join(out, f"e-{side}-{i}.md")
        rc_path = os.path.join(out, f"e-{side}-{i}.log.rc")
        rc = open(rc_path).read().strip() if os.path.exists(rc_path) else None
        verdicts.append("passed" if rc == "0" else ("n/a" if rc is None else f"failed (exit {rc})"))
        try:
            text = open(path, encoding="utf-8").read()
        except OSError:
            continue
        m = re.search(r"\|\s*stale picks[^|]*\|\s*([0-9,]+)\s*\|", text)
        stale.append(int(m.group(1).replace(",", "")) if m else None)
        m = re.search(r"\|\s*attempts checked\s*\|\s*([0-9,]+)\s*\|", text)
        attempts.append(int(m.group(1).replace(",", "")) if m else None)
    return stale, attempts, verdicts


e_old, e_new = soak("old"), soak("new")
total = lambda v: "n/a" if not v or None in v else f"{sum(v):,}"
rows.append((f"(e) churn soak ({soak_mode} mode, {soak_runs} run(s)): stale picks (must be 0)", total(e_old[0]), total(e_new[0]),
             "n/a" if total(e_old[0]) == "n/a" or total(e_new[0]) == "n/a" else f"{sum(e_new[0]) - sum(e_old[0]):+,}"))
rows.append(("(e) churn soak: attempts checked", total(e_old[1]), total(e_new[1]),
             "n/a" if total(e_old[1]) == "n/a" or total(e_new[1]) == "n/a" else pct(sum(e_old[1]), sum(e_new[1]))))
rows.append(("(e) churn soak: test result", ", ".join(e_old[2]), ", ".join(e_new[2]), ""))

# ---- output
machine = open(os.path.join(out, "machine.txt")).read().rstrip()
commands = open(os.path.join(out, "commands.txt")).read().rstrip()
loads = [line.rstrip("\n").split("\t") for line in open(os.path.join(out, "loads.tsv"))]
print(f"### Before/after, side by side ({mode} mode)\n")
print("| figure | old | new | change |")
print("|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
job = "Dry (BENCH_DRY=1: one iteration, numbers meaningless)" if bench_dry == "1" else "each commit's BenchConfig (out of process, 1 launch, 5 warm-up + 15 iterations)"
print(f"BenchmarkDotNet: job {job}; mean ± half the 99.9 % confidence interval. "
      "Experiments: old and new interleaved (old, new, new, old, ...). Change: new relative to old.\n")
print("Load (`uptime` before each figure):\n")
print("| before | UTC | uptime |")
print("|---|---|---|")
for figure, when, up in loads:
    print(f"| {figure} | {when} | {up.strip()} |")
print("\nCommands (each in the commit's own worktree, `git worktree add --detach <tmp>/<old|new> <commit>`, "
      "built once with `dotnet build tests/Discovery.Benchmarks -c Release` and `dotnet build tests/Discovery.Reliability.Tests -c Release`):\n")
print("```\n" + commands + "\n```\n")
print("Machine:\n\n```\n" + machine + "\n```")
PY

cat "$out/compare.md"
echo
echo "(written to $out/compare.md; logs beside it)"
