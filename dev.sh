#!/usr/bin/env bash
# Entry point for people and CI. Needs only python3 (3.11) on the machine.
#   ./dev.sh main [args]   the main job (offline demo run; see README)
#   ./dev.sh test [args]   every test: all nox sessions (args go to nox, e.g. -s model)
#   ./dev.sh model-check --base main   train base and working tree alike, compare (report)
#   ./dev.sh lock          regenerate requirements.lock from requirements.in
set -euo pipefail
cd "$(dirname "$0")"

tools_dir=.tools
if [ ! -x "$tools_dir/bin/nox" ] || [ ! -x "$tools_dir/bin/uv" ]; then
  echo "dev.sh: installing uv and nox into $tools_dir (one time)" >&2
  python3 -m venv "$tools_dir"
  "$tools_dir/bin/python" -m pip install --quiet --disable-pip-version-check -r tools-requirements.txt
fi
export PATH="$PWD/$tools_dir/bin:$PATH"

# System packages some tests need (headless Chromium for the Space app's browser test).
install_system_packages() {
  command -v chromium >/dev/null 2>&1 && return 0
  local as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo -n)
  if command -v apt-get >/dev/null 2>&1 && "${as_root[@]}" true 2>/dev/null; then
    echo "dev.sh: installing Debian's chromium for browser tests" >&2
    "${as_root[@]}" apt-get update -qq >/dev/null
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "dev.sh: chromium is missing and cannot be installed without root or sudo and apt;" \
      "browser tests will be skipped" >&2
  fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  main) exec nox -s main -- "$@" ;;
  model-check) exec nox -s model_check -- "$@" ;;
  test) install_system_packages; exec nox "$@" ;;
  lock)
    exec uv pip compile --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
      --generate-hashes requirements.in -o requirements.lock ;;
  *) sed -n '2,7p' "$0" >&2; exit 2 ;;
esac
