#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when missing (CI machines are fresh; developer machines
# keep them). WebGPU in Node (Dawn over Mesa's software rasterizer) needs EGL + Mesa; the browser test needs
# Chromium; the CUDA emulator needs cmake and g++. Skips quietly when not root or when apt-get is absent (then the tests that need them say why).
set -euo pipefail
# cmake and g++ build the CUDA block emulator and its test program (nvcc, when present, builds the kernels).
PACKAGES=(libegl1 libegl-mesa0 libgl1-mesa-dri libegl-dev chromium cmake g++)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup-system: cannot install ${missing[*]} (need root and apt-get); dependent tests will report why" >&2
  exit 0
fi
echo "setup-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
