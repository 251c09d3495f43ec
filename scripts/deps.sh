#!/usr/bin/env bash
# Installs what muster's demo and tests need on a Debian machine, idempotently:
# Go modules, and Debian packages (OpenSSH server and client for the loopback
# test hosts, ClusterShell and pdsh for the side-by-side compatibility tests
# and benchmarks, GNU time for peak-memory figures, tmux for the terminal
# test of the interactive mode, tcsh and fish as login shells for the mesh
# ssh start, python3-mitogen for the mesh benchmark). Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have sshd || need+=(openssh-server)
have ssh || need+=(openssh-client)
have ssh-keygen || need+=(openssh-client)
have nodeset || need+=(clustershell)
have clush || need+=(clustershell)
have pdsh || need+=(pdsh)
[ -x /usr/bin/time ] || need+=(time)
have tmux || need+=(tmux)
have tcsh || need+=(tcsh)   # the mesh ssh start must survive csh and fish
have fish || need+=(fish)   # login shells (TestStartCommandLoginShells)
[ -d /usr/lib/python3/dist-packages/mitogen ] || need+=(python3-mitogen)
# de-duplicate
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u | sed '/^$/d')

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: missing Debian packages: ${need[*]} (not root and no sudo/apt-get; tests that need them skip outside CI)" >&2
  else
    echo "deps: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null
    # Keep the package's own sshd service from starting: tests start their own daemons.
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

go mod download
if [ -f bench/go.mod ]; then (cd bench && go mod download); fi
