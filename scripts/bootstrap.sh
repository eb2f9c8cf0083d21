#!/usr/bin/env bash
# Installs, idempotently and only when missing, what Proxima needs on a fresh Debian machine:
# native libraries and the Python reference stack (apt), npm tools (s3rver), and the NuGet restore.
# A second run only checks and takes a few seconds. Set PROXIMA_SKIP_RESTORE=1 to skip the restore.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[bootstrap] %s\n' "$*" >&2; }

apt_packages=(
  libnetcdf19 netcdf-bin libblosc1 libzstd1 liblz4-1 libhdf5-103-1
  python3-xarray python3-zarr python3-numcodecs python3-netcdf4 python3-h5py python3-pandas
  python3-dask python3-distributed python3-grpcio python3-protobuf
  python3-nbclient python3-ipykernel python3-matplotlib
  python3-jwt python3-dnslib
)
missing=()
for p in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  log "installing apt packages: ${missing[*]}"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm tools live in tools/npm/node_modules (s3rver for the S3 tests).
if [ ! -x tools/npm/node_modules/.bin/s3rver ]; then
  log "installing npm tools (s3rver)"
  (cd tools/npm && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

if [ "${PROXIMA_SKIP_RESTORE:-0}" != "1" ]; then
  stamp=".bootstrap/restore.stamp"
  mkdir -p .bootstrap
  newest=$(find . -path ./artifacts -prune -o -path ./tools/npm/node_modules -prune -o \
    \( -name '*.csproj' -o -name 'Directory.*.props' -o -name 'global.json' \) -newer "$stamp" -print 2>/dev/null | head -n 1 || true)
  if [ ! -f "$stamp" ] || [ -n "$newest" ]; then
    log "dotnet restore"
    dotnet restore Proxima.slnx --verbosity quiet >/dev/null
    touch "$stamp"
  fi
fi
