#!/usr/bin/env bash
# The test command: bootstrap (idempotent), build, run every test project.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh
dotnet build Proxima.slnx -c Release --nologo -v quiet
dotnet test Proxima.slnx -c Release --no-build --nologo "$@"
