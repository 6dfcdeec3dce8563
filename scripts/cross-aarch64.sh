#!/usr/bin/env bash
# Cross-builds sanctum for aarch64 (Raspberry Pi 3/4/5 on a 64-bit OS) from x86_64 Debian 12
# with Debian's own packages only, runs the aarch64 binary under qemu-user, and compares its
# render of the demo with the x86_64 one.
#
#   scripts/cross-aarch64.sh [--install] [--deb] [--check-only]
#
#   --install     install the toolchain first (root, apt; ≈ 400 MB): rustc-web (1.96, from
#                 bookworm-security; plain bookworm's rustc is too old), its aarch64 std,
#                 the aarch64 gcc and libc, ALSA's arm64 headers and qemu-user-static
#   --deb         also build target/debian/sanctum_<version>-1_arm64.deb (needs cargo-deb)
#   --check-only  exit 0 if the toolchain is here, 3 if it is not (prints what is missing)
#
# Environment: X86_BIN (the x86_64 sanctum to compare with; default target/release/sanctum,
# else target/debug/sanctum), CROSS_TARGET_DIR (default target/cross), OUT (scratch folder).
#
# Why each setting (see /work/shared/reference and docs/BENCHMARKS.md, "aarch64"):
# - RUSTC=/usr/bin/rustc: rustup's rustc comes first in PATH and has no aarch64 std (rustup
#   cannot download one here); Debian's rustc-web has it as libstd-rust-web-dev:arm64.
# - QEMU_LD_PREFIX is NOT set: with it a tokio binary hangs at start. The binary is run as
#   `qemu-aarch64-static <bin>` (binfmt is not set up here); qemu finds the aarch64 loader
#   through the multiarch paths libc6:arm64 installs.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
PACKAGES=(rustc-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  libasound2-dev:arm64 qemu-user-static)

install=0 deb=0 check_only=0
for a in "$@"; do
  case "$a" in
    --install) install=1 ;;
    --deb) deb=1 ;;
    --check-only) check_only=1 ;;
    *) echo "unknown option $a (see the header of $0)" >&2; exit 2 ;;
  esac
done

missing() {
  local m=()
  [ -x /usr/bin/rustc ] || m+=("/usr/bin/rustc (rustc-web)")
  [ -d /usr/lib/rustlib/$TARGET/lib ] || m+=("the aarch64 std (libstd-rust-web-dev:arm64)")
  command -v aarch64-linux-gnu-gcc >/dev/null || m+=("aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu)")
  [ -e /usr/lib/aarch64-linux-gnu/pkgconfig/alsa.pc ] || m+=("ALSA's arm64 headers (libasound2-dev:arm64)")
  command -v qemu-aarch64-static >/dev/null || m+=("qemu-aarch64-static (qemu-user-static)")
  if [ ${#m[@]} -gt 0 ]; then printf '%s\n' "${m[@]}"; fi
}

if [ "$install" = 1 ] && [ -n "$(missing)" ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi

gone=$(missing)
if [ -n "$gone" ]; then
  echo "aarch64 toolchain missing:" >&2
  printf '  %s\n' "$gone" >&2
  echo "install it with: sudo $0 --install" >&2
  exit 3
fi
if [ "$check_only" = 1 ]; then
  echo "aarch64 toolchain present: $(/usr/bin/rustc --version)"
  exit 0
fi

export RUSTC=/usr/bin/rustc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig
unset QEMU_LD_PREFIX
# Its own target folder: a different rustc would otherwise rebuild the host's artefacts.
export CARGO_TARGET_DIR="${CROSS_TARGET_DIR:-target/cross}"

started=$(date +%s)
cargo build --release --locked --target "$TARGET" --bin sanctum
built=$(date +%s)
bin="$CARGO_TARGET_DIR/$TARGET/release/sanctum"
echo "built $bin in $((built - started)) s: $(file -b "$bin" | cut -d, -f1-2)"

arm() { qemu-aarch64-static "$bin" "$@"; }

echo "== aarch64: sanctum check scenes/"
arm check scenes/

out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
x86="${X86_BIN:-}"
if [ -z "$x86" ]; then
  for c in target/release/sanctum target/debug/sanctum; do
    if [ -x "$c" ]; then x86=$c; break; fi
  done
fi
if [ -z "$x86" ]; then
  (unset RUSTC CARGO_TARGET_DIR; cargo build --release --locked --bin sanctum)
  x86=target/release/sanctum
fi

echo "== render scenes/demo (32-bit float) on aarch64 (qemu) and on x86_64 ($x86)"
t0=$(date +%s.%N)
arm render scenes/demo --float --out "$out/demo-aarch64.wav" </dev/null
t1=$(date +%s.%N)
"$x86" render scenes/demo --float --out "$out/demo-x86_64.wav" </dev/null
t2=$(date +%s.%N)
printf 'render: aarch64 under qemu %.1f s, x86_64 %.1f s\n' \
  "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"

if cmp -s "$out/demo-aarch64.wav" "$out/demo-x86_64.wav"; then
  echo "RESULT: bit-identical ($(stat -c %s "$out/demo-x86_64.wav") bytes)"
else
  # Not identical: how far apart, as the peak and RMS level of the difference in dBFS (sox
  # mixes the two with the second inverted; `stats` reads levels far below 16-bit's floor).
  diff_stats=$(sox -m -v 1 "$out/demo-aarch64.wav" -v -1 "$out/demo-x86_64.wav" -n stats 2>&1)
  peak=$(awk '/^Pk lev dB/ {print $4}' <<<"$diff_stats")
  rms=$(awk '/^RMS lev dB/ {print $4}' <<<"$diff_stats")
  sizes="$(stat -c %s "$out/demo-aarch64.wav") vs $(stat -c %s "$out/demo-x86_64.wav") bytes"
  echo "RESULT: differs ($sizes): the difference peaks at $peak dBFS, RMS $rms dBFS"
  # The tolerance (docs/BENCHMARKS.md): a peak below -120 dBFS (1e-6 of full scale), far under
  # 24-bit quantisation: the last bit of a float sample, from FFT resampling taking NEON vs
  # AVX code paths (another summation order).
  if [ "$peak" = "-inf" ] || awk -v p="$peak" 'BEGIN {exit !(p < -120)}'; then
    echo "within the tolerance (peak < -120 dBFS)"
  else
    echo "OUTSIDE the tolerance (peak >= -120 dBFS)" >&2
    exit 1
  fi
fi

if [ "$deb" = 1 ]; then
  echo "== .deb for arm64"
  cargo deb --no-build --no-strip --target "$TARGET" --output target/debian/
  debfile=$(ls -t target/debian/sanctum_*_arm64.deb | head -1)
  dpkg-deb -I "$debfile" | sed -n '/Package:/,$p'
  dpkg-deb -c "$debfile"
  echo "deb: $debfile"
fi
