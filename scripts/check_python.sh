#!/bin/sh
# `make venv` runs this first: Beacon needs Python >= 3.11, and a virtualenv made by another Python
# (an old 3.10 one, or one made before PYTHON=... was given) is removed so it is rebuilt, never reused.
#   scripts/check_python.sh PYTHON VENV EXPLICIT   (EXPLICIT=1: PYTHON was given on the command line)
# One line on stderr and exit 1 when no usable interpreter is found.
set -eu
PYTHON=$1 VENV=$2 EXPLICIT=${3:-0}
MIN_MAJOR=3 MIN_MINOR=11

minor_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }
new_enough() { "$1" -c "import sys; sys.exit(sys.version_info[:2] < ($MIN_MAJOR, $MIN_MINOR))" 2>/dev/null; }

venv_minor=""
if [ -e "$VENV" ]; then
  # pyvenv.cfg names the interpreter that made the venv: `version = 3.10.13` (venv) or `version_info` (uv).
  venv_minor=$(sed -n 's/^version\(_info\)\{0,1\} *= *\([0-9]*\.[0-9]*\).*/\2/p' "$VENV/pyvenv.cfg" 2>/dev/null | head -n 1)
  if [ -z "$venv_minor" ] || [ ! -x "$VENV/bin/python" ]; then
    echo "make: $VENV is not a working virtualenv; removing it so it is rebuilt" >&2
    rm -rf "$VENV"
    venv_minor=""
  elif new_enough "$VENV/bin/python" && [ "$EXPLICIT" != 1 ]; then
    exit 0  # a good venv and no interpreter asked for: keep it
  fi
fi

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "make: PYTHON=$PYTHON not found; Beacon needs Python >= $MIN_MAJOR.$MIN_MINOR: install one and run e.g. make venv PYTHON=python3.11" >&2
  exit 1
fi
found=$(minor_of "$PYTHON" || true)
if [ -z "$found" ]; then
  # e.g. a pyenv shim of a version that is installed but not selected
  echo "make: PYTHON=$PYTHON is on PATH but does not run ($PYTHON -V fails); Beacon needs Python >= $MIN_MAJOR.$MIN_MINOR: run e.g. make venv PYTHON=python3.11" >&2
  exit 1
fi
if ! new_enough "$PYTHON"; then
  echo "make: Beacon needs Python >= $MIN_MAJOR.$MIN_MINOR but PYTHON=$PYTHON is ${found:-unknown}; install 3.11+ and run e.g. make venv PYTHON=python3.11" >&2
  exit 1
fi
if [ -n "$venv_minor" ] && [ "$venv_minor" != "$found" ]; then
  echo "make: $VENV was made by Python $venv_minor, PYTHON=$PYTHON is $found; removing it so it is rebuilt" >&2
  rm -rf "$VENV"
fi
