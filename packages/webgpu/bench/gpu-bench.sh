#!/usr/bin/env bash
# The WebGPU benchmark on a machine with a GPU but no Node (docs/webgpu.md, "Running on a GPU machine without Node").
#
#   bash packages/webgpu/bench/gpu-bench.sh pack [DIR]   # here, in the repository: builds @ecf8/core and
#       @ecf8/webgpu, bundles bench/gpu-bench.mjs with them into DIR/bench.mjs (default DIR: .cache/wgpu in the
#       repository root, ignored by git), and puts Node, Dawn (dawn.node of the npm `webgpu` package) and the test
#       vectors beside it, xz-compressed (about 31 MB).
#   bash DIR/run.sh [--sizes=8,32,64,128,256,512] [--iterations=10] [--rounds=3]   # there, from the repository
#       root: unpacks and runs; prints the vector checks, then the table (decode kernel vs copy kernel per size and
#       kernel path, with and without the GPU CRC). If the Vulkan loader is missing there and Debian packages of it
#       were carried in ./.gl/ (see the device notes), they are unpacked first.
set -euo pipefail
cmd=${1:-pack}
case "$cmd" in
pack)
  root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
  dir=${2:-$root/.cache/wgpu}
  mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
  cd "$root"
  npm run build -w @ecf8/core -w @ecf8/webgpu >/dev/null
  mkdir -p "$dir/node_modules/webgpu/dist/linux-x64"
  npx esbuild packages/webgpu/bench/gpu-bench.mjs --bundle --platform=node --format=esm --external:webgpu \
    --outfile="$dir/bench.mjs" --log-level=warning
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json node_modules/webgpu/LICENSE.md "$dir/node_modules/webgpu/"
  dawn=node_modules/webgpu/dist/linux-x64/dawn.node
  [ "$dir/node_modules/webgpu/dist/linux-x64/dawn.node.xz" -nt "$dawn" ] || xz -T2 -c "$dawn" >"$dir/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
  [ "$dir/node.xz" -nt "$(command -v node)" ] || xz -T2 -c "$(command -v node)" >"$dir/node.xz"
  rm -rf "$dir/vectors" && cp -r test-vectors "$dir/vectors"
  cp packages/webgpu/bench/gpu-bench.sh "$dir/gpu-bench.sh"
  printf '#!/usr/bin/env bash\nexec bash "$(dirname "$0")/gpu-bench.sh" run "$(dirname "$0")" "$@"\n' >"$dir/run.sh"
  echo "packed into $dir ($(du -sh "$dir" | cut -f1)); run there, from the repository root: bash ${dir#"$root"/}/run.sh [--sizes=...]"
  ;;
run)
  dir=${2:?run needs the packed directory}
  shift 2
  if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 && ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  cd "$dir"
  nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nv" ]; then export VK_DRIVER_FILES=$nv; fi
  [ -x node ] || { xz -dkf node.xz && chmod +x node; }
  d=node_modules/webgpu/dist/linux-x64
  [ -f $d/dawn.node ] || xz -dkf $d/dawn.node.xz
  exec ./node bench.mjs "$@"
  ;;
*)
  echo "usage: gpu-bench.sh pack [DIR] | gpu-bench.sh run DIR [--sizes=...]" >&2
  exit 2
  ;;
esac
