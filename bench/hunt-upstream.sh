#!/usr/bin/env bash
# The hunt for syzbot's "WARNING in free_mem_alloc_no_barrier" in
# bpf-ma-upstream (issue 11, docs/upstream.md "The hunt").
#
# usage: bench/hunt-upstream.sh [swarm|pct|deep|exhaustive|focused|all]   (default all)
#   OUT=/tmp/hunt      JSON reports, logs and summary.tsv
#   FX=/tmp/hunt-fx    where a counterexample would be saved
#   STOP=HH:MM         optional wall-clock (UTC) time by which every run has
#                      ended (the published hunt used 16:05); a job is skipped
#                      if it cannot start 60 s before, and each command is
#                      capped at 590 s and at STOP
#   a job whose report is already in $OUT is skipped, so a rerun resumes
#
# The lanes are independent: the published numbers came from running
# `swarm` beside `exhaustive`, `pct`, `deep`, `focused` (two lanes, --workers 1
# each) on a 2-core machine shared with other work. Summarise with
#   node bench/hunt-summary.mjs $OUT          (every run, every situation)
#   node bench/hunt-summary.mjs --doc $OUT    (the tables of docs/upstream.md)
# Nothing here found a violation. The ABA of docs/upstream.md "The ABA in
# alloc_bulk()" was built by hand; replay it with
#   node bin/allocspec.mjs replay counterexamples/bpf-ma-upstream/Conservation-8a068812.json
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/hunt}
FX=${FX:-/tmp/hunt-fx}
STOP=${STOP:-}
mkdir -p "$OUT" "$FX"
if [ -n "$STOP" ]; then stop_s=$(date -u -d "$STOP" +%s); else stop_s=$(($(date -u +%s) + 864000)); fi

run() { # run NAME ARGS...
  local name=$1; shift
  local now left t0 t1 rc
  [ -e "$OUT/$name.json" ] && return
  now=$(date -u +%s); left=$((stop_s - now))
  if [ "$left" -lt 60 ]; then printf '%s\tskipped\t-\t%s\n' "$name" "$*" >>"$OUT/summary.tsv"; return; fi
  [ "$left" -gt 590 ] && left=590
  t0=$(date +%s.%N)
  timeout "$left" node bin/allocspec.mjs check --policy bpf-ma-upstream --workers 1 \
    --json "$OUT/$name.json" --fixtures "$FX" --no-regress --quiet "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  printf '%s\t%s\t%.1f\t%s\n' "$name" "$rc" "$(echo "$t1 - $t0" | bc)" "$*" >>"$OUT/summary.tsv"
}

swarm() { # default generation (fast-check swarm), one configuration per report
  run swarm-rt-s1 --config rt --runs 150000 --seed 1
  for s in 1 2 3; do run "swarm-rt3-s$s" --config rt --cpus 3 --runs 60000 --seed "$s"; done
  for s in 2 3; do run "swarm-rt-s$s" --config rt --runs 150000 --seed "$s"; done
  run swarm-fixed-s1 --config fixed --runs 60000 --seed 1
  run swarm-percpu-s1 --config percpu --runs 60000 --seed 1
  run swarm-buckets-s1 --config buckets --runs 40000 --seed 1
  run swarm-wide-s1 --config wide --runs 40000 --seed 1
  for s in 4 5 6; do run "swarm-rt3-s$s" --config rt --cpus 3 --runs 60000 --seed "$s"; done
  for s in 4 5; do run "swarm-rt-s$s" --config rt --runs 150000 --seed "$s"; done
  run swarm-rt-s6 --config rt --runs 100000 --seed 6
  run swarm-rt-s7 --config rt --runs 150000 --seed 7
  run swarm-rt3-s7 --config rt --cpus 3 --runs 60000 --seed 7
  run swarm-rt-s8 --config rt --runs 150000 --seed 8
}

pct() { # PCT priority schedules, d-1 change points per run
  for d in 3 5; do run "pct$d-rt-s1" --config rt --strategy pct --pct-depth "$d" --runs 100000 --seed 1; done
  for d in 3 5; do run "pct$d-rt3-s1" --config rt --cpus 3 --strategy pct --pct-depth "$d" --runs 40000 --seed 1; done
  for d in 3 5; do run "pct$d-fixed-s1" --config fixed --strategy pct --pct-depth "$d" --runs 40000 --seed 1; done
  run pct5-wide-s1 --config wide --strategy pct --pct-depth 5 --runs 30000 --seed 1
  for d in 3 5; do run "pct$d-rt-s2" --config rt --strategy pct --pct-depth "$d" --runs 100000 --seed 2; done
  for d in 5 3; do run "pct$d-rt3-s2" --config rt --cpus 3 --strategy pct --pct-depth "$d" --runs 40000 --seed 2; done
  run focus-pct5-rt3-s2 --config rt --cpus 3 --no-nmi --no-faults --strategy pct --pct-depth 5 --runs 40000 --seed 2
  run pct5-rt-s3 --config rt --strategy pct --pct-depth 5 --runs 100000 --seed 3
  run pct3-rt-s3 --config rt --strategy pct --pct-depth 3 --runs 100000 --seed 3
  run pct5-rt-s4 --config rt --strategy pct --pct-depth 5 --runs 100000 --seed 4
  run pct5-rt3-s3 --config rt --cpus 3 --strategy pct --pct-depth 5 --runs 40000 --seed 3
}

deep() { # swarm with longer command lists (more preemption points per run), rt
  run deep-rt-s1 --config rt --max-commands 150 --runs 30000 --seed 1
  run deep-rt3-s1 --config rt --cpus 3 --max-commands 150 --nesting 3 --runs 15000 --seed 1
  run deep-rt-s2 --config rt --max-commands 150 --objects 48 --runs 30000 --seed 2
}

focused() { # rt without NMI programs and fault injection: fewer commands spent away from the ABA chain
  run focus-rt-s1 --config rt --no-nmi --no-faults --runs 150000 --seed 1
  run focus-pct5-rt-s1 --config rt --no-nmi --no-faults --strategy pct --pct-depth 5 --runs 100000 --seed 1
  run focus-rt-s2 --config rt --no-nmi --no-faults --max-commands 100 --runs 60000 --seed 2
  run focus-rt3-s1 --config rt --cpus 3 --no-nmi --no-faults --runs 60000 --seed 1
  run focus-pct5-rt3-s1 --config rt --cpus 3 --no-nmi --no-faults --strategy pct --pct-depth 5 --runs 40000 --seed 1
  run focus-rt-s3 --config rt --no-nmi --no-faults --runs 150000 --seed 3
}

exhaustive() { # bounded exhaustive BFS; --cpus 2 depth 6 would take ~10 min here, so it is capped
  for d in 5 6 7 8; do run "exh-rt-c1-d$d" --config rt --cpus 1 --exhaustive --depth "$d" --max-states 3000000; done
  for d in 3 4 5; do run "exh-rt-c2-d$d" --config rt --cpus 2 --exhaustive --depth "$d" --max-states 3000000; done
  run exh-rt-c2-d6-cap --config rt --cpus 2 --exhaustive --depth 6 --max-states 150000
}

case "${1:-all}" in
  swarm) swarm ;;
  pct) pct ;;
  deep) deep ;;
  focused) focused ;;
  exhaustive) exhaustive ;;
  all) swarm; pct; deep; exhaustive; focused ;;
  *) echo "usage: $0 [swarm|pct|deep|exhaustive|focused|all]" >&2; exit 2 ;;
esac
