#!/usr/bin/env bash
# Live CPU of `sanctum run` over a whole ceremony against the decode floor, in one run, and the
# idle daemon's CPU and wake-ups. Prints Markdown rows for docs/BENCHMARKS.md.
#
#   scripts/live-cpu.sh [BIN] [CEREMONY] [IDLE_SECS]
#
# BIN defaults to target/release/sanctum, CEREMONY to scenes/demo, IDLE_SECS to 60.
#
# - `null`: `sanctum run CEREMONY --output null --no-mqtt` (the paced silent output).
# - `alsa`: the same through cpal into ALSA's `file` plugin, writing into a FIFO that `pv`
#   (started here, not by ALSA, so its CPU is not counted as sanctum's) drains at
#   384000 B/s: real-time pacing by back-pressure, as in tests/alsa_demo.rs.
# - floor: the decoder threads log how much of each file they decoded (SANCTUM_LOG=debug,
#   "decoded <file>: <frames> frames at <rate> Hz (<n> more replayed from a cached copy)");
#   `sox FILE -n trim 0 SECS` decodes the same amount (both counts: the streams as played) of
#   the same files, one after the other (best of three each), and its user+sys time is the
#   floor.
# - idle: `sanctum daemon` with the ceremony's folder as its library and a broker of its own
#   (mosquitto on a free loopback port), for IDLE_SECS;
#   CPU and context switches summed over all its threads from /proc (before and after).
# CPU is user+sys from the rusage of the process (all threads, including finished decoders);
# "wake-ups" are voluntary context switches (a thread blocking: sleep, futex, poll).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${1:-target/release/sanctum}")"
ceremony="${2:-scenes/demo}"
idle_secs="${3:-60}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hz=$(getconf CLK_TCK)

# Runs "$@" under GNU time, its stdin and stdout on /dev/null; prints "user sys voluntary
# involuntary wall" (so the caller must not redirect timed's own stdout).
timed() {
  /usr/bin/time -o "$work/time" -f '%U %S %w %c %e' "$@" </dev/null >/dev/null
  tail -1 "$work/time"
}

# The floor for the decode log in $1: sox decoding the same amounts of the same files.
floor() {
  local total_u=0 total_s=0 n=0
  while read -r file frames rate; do
    secs=$(echo "scale=6; $frames / $rate" | bc)
    # A loop played past the file's end: sox decodes the file again for every pass.
    passes=$(( (frames + $(soxi -s "$file") - 1) / $(soxi -s "$file") ))
    inputs=()
    for ((p = 0; p < passes; p++)); do inputs+=("$file"); done
    # Best of three: GNU time counts in 10 ms ticks, and one decode takes a few of them.
    local bu="" bs=""
    for _ in 1 2 3; do
      read -r u s _ < <(timed sox "${inputs[@]}" -n trim 0 "$secs" 2>/dev/null)
      if [ -z "$bu" ] || [ "$(echo "$u + $s < $bu + $bs" | bc)" = 1 ]; then bu=$u bs=$s; fi
    done
    total_u=$(echo "$total_u + $bu" | bc)
    total_s=$(echo "$total_s + $bs" | bc)
    n=$((n + 1))
  done < <(sed -n 's/.*decoded \(.*\): \([0-9]*\) frames at \([0-9]*\) Hz (\([0-9]*\) more.*/\1 \2 \3 \4/p' "$1" |
    awk '$2 + $4 > 0 {print $1, $2 + $4, $3}')
  echo "$total_u $total_s $n"
}

run_once() { # $1 = label, rest = extra args/env handled by caller
  local label=$1 log="$work/$1.log"
  shift
  read -r u s vol inv wall < <(
    cd "$work" && STATE_DIRECTORY="$work/state-$label" SANCTUM_LOG=debug \
      timed "$@" 2>"$log"
  )
  read -r fu fs streams < <(floor "$log")
  local cpu floor_cpu
  cpu=$(echo "$u + $s" | bc)
  floor_cpu=$(echo "$fu + $fs" | bc)
  printf '| %s | %.1f s | %.2f s (%.2f + %.2f) | %.2f %% | %.0f | %.2f s (%d streams) | **%.1f×** |\n' \
    "$label" "$wall" "$cpu" "$u" "$s" "$(echo "100 * $cpu / $wall" | bc -l)" \
    "$(echo "$vol / $wall" | bc -l)" "$floor_cpu" "$streams" \
    "$(echo "$cpu / $floor_cpu" | bc -l)"
}

abs_ceremony="$(realpath "$ceremony")"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| output | wall | sanctum CPU (user + sys) | % of a core | wake-ups/s | decode floor (sox) | ÷ floor |"
echo "|---|---|---|---|---|---|---|"
run_once null "$bin" run "$abs_ceremony" --output null --no-mqtt

mkfifo "$work/alsa.fifo"
printf 'pcm.!default { type file; slave.pcm "null"; file "%s"; format "raw" }\n' \
  "$work/alsa.fifo" >"$work/.asoundrc"
# pv opens the FIFO read-write, so it never sees an end of file: cpal opens the device once to
# read its formats and closes it before it opens it to play, and a plain reader would take that
# first close as the end and leave the second open waiting for a reader for ever.
pv -q -L 384000 <>"$work/alsa.fifo" >/dev/null &
pv_pid=$!
HOME="$work" run_once alsa "$bin" run "$abs_ceremony" --output default --no-mqtt

# Idle daemon: CPU ticks and context switches of all threads, over idle_secs.
sample() { # pid -> "ticks voluntary involuntary"
  local t=0 v=0 i=0
  read -r -a st <"/proc/$1/stat"
  # utime, stime of the whole process (fields 14, 15; dead threads included).
  t=$((st[13] + st[14]))
  for f in /proc/"$1"/task/*/status; do
    v=$((v + $(awk '/^voluntary_ctxt_switches/ {print $2}' "$f")))
    i=$((i + $(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$f")))
  done
  echo "$t $v $i"
}
mkdir -p "$work/lib"
ln -s "$abs_ceremony" "$work/lib/$(basename "$abs_ceremony")"
rig="$(dirname "$abs_ceremony")/rig.toml"
[ -e "$abs_ceremony/rig.toml" ] && rig="$abs_ceremony/rig.toml"
# Its own broker on a free loopback port (never the machine's own on 1883).
port=$(comm -23 <(seq 20000 20999) <(ss -Htan | awk '{print $4}' | sed 's/.*://' | sort -u) | shuf -n1)
mosquitto -p "$port" >"$work/mosquitto.log" 2>&1 &
broker_pid=$!
sleep 0.5
for output in null default; do

  HOME="$work" STATE_DIRECTORY="$work/state-idle-$output" SANCTUM_LOG=warn \
    "$bin" daemon --library "$work/lib" --rig "$rig" --output "$output" \
    --broker "mqtt://127.0.0.1:$port" \
    </dev/null >/dev/null 2>"$work/idle-$output.log" &
  pid=$!
  sleep 8 # settle: loading, then 5 s idle and silent before the output closes
  read -r t0 v0 i0 < <(sample "$pid")
  sleep "$idle_secs"
  read -r t1 v1 i1 < <(sample "$pid")
  threads=$(ls /proc/"$pid"/task | wc -l)
  kill -TERM "$pid"
  wait "$pid" || true
  cpu=$(echo "scale=6; ($t1 - $t0) / $hz" | bc)
  printf '| idle daemon, output `%s`, %d s | %s s CPU | %.3f %% of a core | %.2f wake-ups/s (%d involuntary) | %d threads |\n' \
    "$output" "$idle_secs" "$cpu" "$(echo "100 * $cpu / $idle_secs" | bc -l)" \
    "$(echo "($v1 - $v0) / $idle_secs" | bc -l)" "$((i1 - i0))" "$threads"
done
kill "$broker_pid" "$pv_pid"
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
