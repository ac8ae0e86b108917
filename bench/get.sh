#!/usr/bin/env bash
# Times `vault get` against the stock `age -d` on the same machine, in one
# run, interleaved, and prints the median ratio.
#
# The vault holds 1,000 secrets shared with 20 members, each with a plain
# identity file. The age baseline decrypts one age file with the same 20
# recipients, in the same order, with the same identity: the value's own
# ciphertext, taken out of the vault with `vault get --ciphertext`. That is
# the floor for `vault get`: one process and one decryption. One secret in
# ten is overdue, so `vault get` prints its reminder line as it would in a
# group that is behind.
#
#   bench/get.sh [RUNS]        (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
command -v age >/dev/null || { echo "bench: the age CLI is needed (apt-get install age)" >&2; exit 1; }

out=bench/out
mkdir -p "$out"
# The release build is static (CGO_ENABLED=0): it starts faster than a
# binary that loads libc, which the net package pulls in through cobra's
# flags. The default build is timed as well, for comparison.
CGO_ENABLED=0 go build -o "$out/vault" ./cmd/vault
go build -o "$out/vault-default-build" ./cmd/vault
# The vault is made again when the code that writes it changed (as in
# bench/compare.sh), and this machine's state for it starts empty.
fp=$(cat go.sum $(find vault bench/populate -name '*.go' ! -name '*_test.go' | sort) | sha256sum | cut -c1-12)
data=$out/get-data-$fp
if [ ! -f "$data/vault.db" ]; then
  echo "bench: making a vault of 1000 secrets shared with 20 members..." >&2
  rm -rf "$out"/get-data-* "$out/data"
  go run ./bench/populate -dir "$data" -secrets 1000 -members 20
fi
rm -rf "$out/state"

# Time a member in the middle of the reader list: neither the best case nor
# the worst for the search through the recipients.
export VAULT_FILE="$data/vault.db" VAULT_IDENTITY="$data/member-10.key"
# This machine's state for the benchmark's vault stays under bench/out, not in
# the user's own state folder (XDG_STATE_HOME must be absolute).
export XDG_STATE_HOME="$PWD/$out/state"
"$out/vault" get secret-0500 >/dev/null 2>&1
"$out/vault" get secret-0500 --ciphertext > "$out/value.age"

echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3), $(age --version 2>/dev/null | head -1)"
go build -o "$out/interleave" ./bench/interleave
echo "== vault get (static release build) vs age -d"
"$out/interleave" -n "$runs" \
  -a "$out/vault get secret-0500" \
  -b "age -d -i $VAULT_IDENTITY $out/value.age"
echo "== vault get (default go build) vs age -d"
"$out/interleave" -n "$runs" \
  -a "$out/vault-default-build get secret-0500" \
  -b "age -d -i $VAULT_IDENTITY $out/value.age"
# The first 'vault get' after the file changed also checks the structure of
# the whole file (later ones remember it was checked): timed by touching the
# file before every run.
echo "== vault get just after the file changed (static build) vs age -d"
"$out/interleave" -n "$runs" -touch "$VAULT_FILE" \
  -a "$out/vault get secret-0500" \
  -b "age -d -i $VAULT_IDENTITY $out/value.age"
# The reminders every command prints (here: 100 overdue secrets) must not
# slow 'vault get' measurably: compare with --quiet, which skips them.
echo "== vault get (with its reminder) vs vault get --quiet"
"$out/interleave" -n "$runs" \
  -a "$out/vault get secret-0500" \
  -b "$out/vault get secret-0500 --quiet"
# Through a running agent (issue 8): the key stays in the agent, and each
# 'vault get' asks it to unwrap the value's and the vault key's stanzas over
# its socket instead of reading the identity file. The agent's socket is
# under bench/out too.
export XDG_RUNTIME_DIR="$PWD/$out/runtime"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
"$out/vault" lock >/dev/null 2>&1 || true
"$out/vault" agent --idle 10m -q
trap '"$out/vault" lock -q >/dev/null 2>&1 || true' EXIT
"$out/vault" get secret-0500 >/dev/null 2>&1
echo "== vault get through the agent (static build) vs age -d"
"$out/interleave" -n "$runs" \
  -a "$out/vault get secret-0500" \
  -b "age -d -i $VAULT_IDENTITY $out/value.age"
