#!/usr/bin/env bash
# Regenerates sounds/*.ogg from nothing: examples/gen_sounds.rs synthesises float
# WAV masters into a temporary folder, then oggenc encodes them with fixed settings.
#
# Needs a Rust toolchain (cargo) and these Debian packages:
#   vorbis-tools   (oggenc)
# e.g. `apt-get install vorbis-tools`.
#
# Deterministic: the generator uses fixed seeds and never reads the clock, and the
# quality and Ogg stream serial of every file are fixed below, so with the same
# toolchain, libm and libvorbis the output is byte-identical.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v oggenc >/dev/null 2>&1; then
    echo "gen-sounds: oggenc not found; install the Debian package vorbis-tools" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo run --release --quiet --example gen_sounds -- "$work"

mkdir -p sounds
# name, Vorbis quality, stream serial. Quality 3 (~110 kbit/s stereo) keeps the
# soft highs of the beds clean; the short one-shots get 4 so their long, bare
# decaying tones stay free of codec artefacts.
while read -r name quality serial; do
    oggenc --quiet \
        --quality "$quality" \
        --serial "$serial" \
        --title "$name" \
        --artist "sanctum (synthesised by examples/gen_sounds.rs)" \
        --comment "LICENSE=CC0-1.0" \
        --output "sounds/$name.ogg" \
        "$work/$name.wav"
done <<'TABLE'
drone-d   3 7301
pad-a     3 7302
pad-f     3 7303
pad-rise  3 7304
rain      3 7305
ocean     3 7306
bowl-low  4 7307
bowl-high 4 7308
chime     4 7309
TABLE

du -b sounds/*.ogg | sort -k2
du -cb sounds | tail -n 1 | awk '{ printf "sounds/ total: %.2f MB\n", $1 / 1e6 }'
