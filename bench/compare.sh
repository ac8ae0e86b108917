#!/usr/bin/env bash
# Prints, in one run on this machine, every figure of the "Performance"
# section of issue 7, each measured side by side against its baseline
# (interleaved runs, median of the paired ratios; see bench/interleave):
#
#   1. vault get vs the stock 'age -d' of the same value's age file, same
#      identity: (a) nothing changed since this machine last opened the file;
#      (b) right after another member's change (another member, with a state
#      folder and identity of their own, runs 'vault set' on another secret
#      before each timed get; that step is not timed).
#   2. vault list vs 'gopass ls' (gopass v1.15.16, age backend, the same names
#      encrypted to the same 20 recipients), and vault list's peak memory.
#   3. vault add at the largest size vs vault add at the smallest.
#   4. vault.db's size vs the gopass store's (du -sb, and du -s for disk
#      usage): the file after a few changes (1b's), and, for information, what
#      the data in it adds up to and the file as AddMany first wrote it.
#   5. first open on a machine that never saw the vault (empty state folder
#      before each run: full verification of every operation).
#   6. vault merge of two copies of a MERGE_SIZE vault that diverged by
#      2 x MERGE_OPS operations ('vault set' by two members on a common copy).
#   7. vault sync with nothing to do, minus 'git pull --no-rebase && git push'
#      alone on the same repository (a bare remote on this machine).
#
# Every vault holds SIZE secrets shared with MEMBERS members (bench/populate;
# one secret in ten overdue, so commands print their reminder line as in a
# group that is behind). The timed member is member-10, with a plain identity
# file; member-05 is "another member", on a machine (state folder) of their
# own.
#
#   bench/compare.sh [SIZE ...]            (default: 1000 10000)
#
# Environment (all optional):
#   RUNS=100        runs of the fast comparisons (vault get vs age -d)
#   SLOW_RUNS=20    runs of the slower ones (get after a change, list, add,
#                   sync, merge)
#   FIRST_RUNS=5    runs of first open (each makes this machine's copy anew)
#   MEMBERS=20      members, all readers of every secret
#   MERGE_SIZE=1000 MERGE_OPS=100   the merge benchmark's vault and divergence
#   GOPASS_FILL=fast|insert   how the gopass store is filled: 'fast' writes
#                   the files gopass writes with bench/gopassfill (seconds),
#                   then checks them against files 'gopass insert' wrote;
#                   'insert' runs 'gopass insert' once per secret (about 90 ms
#                   each: 15 minutes at 10,000)
#   FRESH=1         make every cached store anew
#   KEEP_STORES=1   use the vaults cached by an earlier run even if the code
#                   changed since (faster while iterating; wrong once the
#                   file's format or layout changed)
#
# Everything it makes is under bench/out/ (git-ignored): the binaries, the
# cached stores (keys-M/: identities; vault-N-M-HASH/: the vault, made again
# when the code that writes it changes; gopass-N-M/: the gopass store;
# merge-N-M-HASH/: the diverged copies) and run/, the scratch copies that
# each run makes anew from the cache. gopass is built from the Go module
# proxy's source into bench/out/bin, never anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out

runs=${RUNS:-100}
slow_runs=${SLOW_RUNS:-20}
first_runs=${FIRST_RUNS:-5}
members=${MEMBERS:-20}
merge_size=${MERGE_SIZE:-1000}
merge_ops=${MERGE_OPS:-100}
fill=${GOPASS_FILL:-fast}
gopass_version=v1.15.16
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(1000 10000); fi
mapfile -t sizes < <(printf '%s\n' "${sizes[@]}" | sort -n -u)
small=${sizes[0]} large=${sizes[${#sizes[@]}-1]}

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }
for tool in age git go /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool is needed (apt-get install age git time)"
done
[ "$members" -ge 11 ] || die "MEMBERS must be at least 11 (member-10 is timed; member-05 and member-06 change things)"
[ "$small" -ge 8 ] || die "each SIZE must be at least 8 (member-05 changes secret-0007)"
[ "$merge_size" -gt $((2 * merge_ops)) ] || die "MERGE_SIZE must be larger than 2 x MERGE_OPS"

mkdir -p "$out/bin" "$out/cache"
[ "${FRESH:-}" = 1 ] && rm -rf "$out"/keys-* "$out"/vault-* "$out"/gopass-* "$out"/merge-*

# ---------------------------------------------------------------- binaries

say "building vault (the static release build) and the helpers..."
CGO_ENABLED=0 go build -o "$out/vault" ./cmd/vault
go build -o "$out/bin/interleave" ./bench/interleave
go build -o "$out/bin/populate" ./bench/populate
go build -o "$out/bin/gopassfill" ./bench/gopassfill
go build -o "$out/bin/peakrss" ./bench/peakrss
go build -o "$out/bin/bbolt" go.etcd.io/bbolt/cmd/bbolt
# This run uses its own copy, so that another script building bench/out/vault
# (bench/get.sh) meanwhile cannot change the program under test.
rm -rf "$out/run"; mkdir -p "$out/run/home"
cp "$out/vault" "$out/run/vault"
vault=$out/run/vault interleave=$out/bin/interleave gopass=$out/bin/gopass

# gopass as its release is built (CGO_ENABLED=0, -s -w; .goreleaser.yml).
# 'go install …@v1.15.16' is tried first; the module proxy here refuses the
# version list that go install reads to check for deprecation, so the
# fallback downloads that exact version's source into the module cache and
# builds it from there. If it needed a newer Go, GOTOOLCHAIN=go1.27.3 is the
# one approved way.
build_gopass() {
  local ld="-s -w -X main.version=${gopass_version#v}"
  if GOBIN=$out/bin CGO_ENABLED=0 go install -ldflags "$ld" "github.com/gopasspw/gopass@$gopass_version" 2>"$out/cache/gopass-build.log"; then
    return
  fi
  say "go install of gopass failed ($(grep -m1 -o '[0-9]* Forbidden' "$out/cache/gopass-build.log" || echo "see $out/cache/gopass-build.log")); building it from the module cache"
  local dir
  dir=$(go mod download -json "github.com/gopasspw/gopass@$gopass_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "could not download gopass $gopass_version"
  if ! (cd "$dir" && CGO_ENABLED=0 go build -ldflags "$ld" -o "$gopass" . 2>>"$out/cache/gopass-build.log"); then
    say "gopass does not build with $(go env GOVERSION); trying GOTOOLCHAIN=go1.27.3"
    (cd "$dir" && GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0 go build -ldflags "$ld" -o "$gopass" .) ||
      die "gopass $gopass_version does not build; see $out/cache/gopass-build.log"
  fi
}
# gopass writes a config even for --version: give it a home of its own.
gopass_v() { env HOME="$out/run/home" GOPASS_HOMEDIR="$out/run/home" GOPASS_NO_NOTIFY=true "$gopass" --version 2>&1 | head -1; }
if ! gopass_v | grep -q "gopass ${gopass_version#v} "; then
  say "building gopass $gopass_version..."
  build_gopass
fi

# ---------------------------------------------------------------- machine

dirty=$(git status --porcelain -- vault cmd go.mod go.sum | grep -q . && echo ", with uncommitted changes" || true)
echo "machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "go:      $(go version | cut -d' ' -f3-)"
echo "age:     $(age --version 2>&1 | head -1)"
echo "gopass:  $(gopass_v)"
echo "git:     $(git --version | cut -d' ' -f3)"
echo "vault:   $(git rev-parse --short HEAD)$dirty, CGO_ENABLED=0 go build"
echo "stores:  ${sizes[*]} secrets, each shared with $members members; runs: $runs fast, $slow_runs slow, $first_runs first-open"
echo

# ---------------------------------------------------------------- stores

# The vault's cache key: the code that writes and reads the file, so that a
# change of format or layout makes the stores anew.
fp=$(cat go.sum $(find vault bench/populate -name '*.go' ! -name '*_test.go' | sort) | sha256sum | cut -c1-12)
if [ "${KEEP_STORES:-}" = 1 ]; then
  kept=$(ls -td "$out"/vault-"$large"-"$members"-*/done 2>/dev/null | head -1)
  [ -n "$kept" ] && fp=$(basename "$(dirname "$kept")") fp=${fp##*-} && say "KEEP_STORES=1: using the stores made by an earlier run ($fp)"
fi
keys=$out/keys-$members
for d in "$out"/vault-*-*-* "$out"/merge-*-*-*; do
  [ -e "$d" ] && [ "${d##*-}" != "$fp" ] && rm -rf "$d"
done

vault_store() { # SIZE: prints the folder of the cached vault of SIZE secrets
  local n=$1 dir=$out/vault-$1-$members-$fp
  if [ ! -f "$dir/done" ]; then
    rm -rf "$dir"
    say "making a vault of $n secrets shared with $members members..."
    local t0=$SECONDS
    "$out/bin/populate" -dir "$dir" -keys "$keys" -secrets "$n" -members "$members" >&2
    say "  made in $((SECONDS - t0)) s"
    touch "$dir/done"
  fi
  echo "$dir"
}

gopass_env() { # SIZE: the environment gopass runs in: a home of its own
  local h=$out/gopass-$1-$members/home
  echo "HOME=$h XDG_CONFIG_HOME=$h/.config XDG_DATA_HOME=$h/.local/share XDG_CACHE_HOME=$h/.cache XDG_STATE_HOME=$h/.local/state GOPASS_HOMEDIR=$h GOPASS_NO_NOTIFY=true GOPASS_NO_REMINDER=true GOPASS_NO_AUTOSYNC=true GOPASS_AGE_PASSWORD=bench-passphrase"
}

gopass_init() { # ENV...: a new, empty gopass age store (fs storage: no git) for member-10
  mkdir -p "$(echo "$1" | sed 's/^HOME=//')"
  env "$@" "$gopass" age identities add "$(grep '^AGE-SECRET-KEY-' "$keys/member-10.key")" "$(sed -n 11p "$keys/recipients.txt")" </dev/null >/dev/null 2>&1
  # shellcheck disable=SC2046
  env "$@" "$gopass" init --crypto age --storage fs $(cat "$keys/recipients.txt") </dev/null >/dev/null 2>&1
}

gopass_insert() { # ENV... -- FIRST COUNT: what gopassfill writes, through 'gopass insert'
  local e=() ; while [ "$1" != -- ]; do e+=("$1"); shift; done; shift
  local i
  for ((i = $1; i < $1 + $2; i++)); do
    printf 'value-%04d-abcdefghijklmnop\nusername: user\n' "$i" | env "${e[@]}" "$gopass" insert -f "$(printf 'secret-%04d' "$i")" >/dev/null 2>&1
  done
}

gopass_store() { # SIZE: prints the gopass store's folder
  local n=$1 dir=$out/gopass-$1-$members
  local sum; sum=$(sha256sum <"$keys/recipients.txt" | cut -c1-16)
  # shellcheck disable=SC2046
  local env; read -ra env <<<"$(gopass_env "$n")"
  local store=$dir/home/.local/share/gopass/stores/root
  if [ "$(cat "$dir/done" 2>/dev/null)" != "$sum $fill" ]; then
    rm -rf "$dir"
    say "making a gopass age store of $n secrets ($fill)..."
    local t0=$SECONDS
    gopass_init "${env[@]}"
    [ -f "$store/.age-recipients" ] || die "gopass init failed (run: env $(gopass_env "$n") $gopass init --crypto age --storage fs)"
    if [ "$fill" = insert ]; then
      gopass_insert "${env[@]}" -- 0 "$n"
    else
      "$out/bin/gopassfill" -store "$store" -secrets "$n"
      # The files gopassfill wrote must be what 'gopass insert' writes: the
      # same plaintext, the same recipients, the same size, and gopass must
      # read them. Checked against a second store that gopass filled itself.
      local ref=$dir/check
      local renv; read -ra renv <<<"$(gopass_env "$n" | sed "s|$dir/home|$ref|g")"
      gopass_init "${renv[@]}"
      gopass_insert "${renv[@]}" -- 0 3
      local i f g
      for i in 0 1 2; do
        f=$(printf 'secret-%04d.age' "$i")
        g=$ref/.local/share/gopass/stores/root/$f
        [ -f "$g" ] || die "gopass insert wrote no $g"
        [ "$(stat -c %s "$store/$f")" = "$(stat -c %s "$g")" ] || die "gopassfill wrote $f in $(stat -c %s "$store/$f") bytes, gopass in $(stat -c %s "$g")"
        [ "$(grep -c -- '^-> X25519 ' "$store/$f")" = "$(grep -c -- '^-> X25519 ' "$g")" ] || die "gopassfill and gopass encrypt $f to different numbers of recipients"
        cmp -s <(age -d -i "$keys/member-03.key" "$store/$f") <(age -d -i "$keys/member-03.key" "$g") || die "gopassfill and gopass store different plaintexts in $f"
      done
      cmp -s <(env "${env[@]}" "$gopass" show -n secret-0001 2>/dev/null) <(env "${renv[@]}" "$gopass" show -n secret-0001 2>/dev/null) ||
        die "gopass does not read the files gopassfill wrote as its own"
      rm -rf "$ref"
    fi
    [ "$(env "${env[@]}" "$gopass" ls --flat | grep -c '^secret-')" = "$n" ] || die "the gopass store does not list $n secrets"
    say "  made in $((SECONDS - t0)) s"
    echo "$sum $fill" >"$dir/done"
  fi
  echo "$store"
}

# The diverged copies for the merge benchmark: member-05 sets MERGE_OPS
# secrets on copy a, member-06 as many others on copy b, each on a machine
# of their own; the state folder of member-05's machine is kept with a.
merge_store() {
  local n=$merge_size dir=$out/merge-$merge_size-$members-$fp
  if [ ! -f "$dir/done" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    local src; src=$(vault_store "$n")
    say "making two copies of the $n-secret vault that diverge by $merge_ops operations each..."
    cp "$src/vault.db" "$dir/a.db"; cp "$src/vault.db" "$dir/b.db"
    local i
    for ((i = 1; i <= merge_ops; i++)); do
      printf 'from-a-%d\n' "$i" | XDG_STATE_HOME=$dir/state-a "$vault" -q --vault "$dir/a.db" --identity "$keys/member-05.key" set "$(printf 'secret-%04d' "$i")" >&2
      printf 'from-b-%d\n' "$i" | XDG_STATE_HOME=$dir/state-b "$vault" -q --vault "$dir/b.db" --identity "$keys/member-06.key" set "$(printf 'secret-%04d' $((i + merge_ops)))" >&2
    done
    rm -rf "$dir/state-b"
    touch "$dir/done"
  fi
  echo "$dir"
}

# ---------------------------------------------------------------- results

results=$out/run/results.tsv
: >"$results"
rows=()
row() { rows+=("$(printf '%s\t' "$@")"); } # WHAT SIZE VAULT BASELINE RATIO TARGET VERDICT

field() { # LABEL COLUMN: a field of interleave's -result line (2: A s, 3: B s, 5: paired ratio)
  awk -F'\t' -v l="$1" -v c="$2" '$1 == l {v = $c} END {print v}' "$results"
}
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1e6}'; }
x() { awk -v r="$1" 'BEGIN {printf "%.2fx", r}'; }
ms() { awk -v s="$1" 'BEGIN {printf (s < 1 ? "%.1f ms" : "%.2f s"), (s < 1 ? s * 1000 : s)}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }
verdict() { if le "$1" "$2"; then echo ok; else echo MISS; fi; }
bench() { # LABEL TITLE interleave-args...
  local label=$1 title=$2; shift 2
  echo "== $title" >&2
  "$interleave" -result "$results" -label "$label" "$@" >&2
}
maxrss() { # ENV... -- COMMAND...: median of 3 runs' peak memory, in MB
  local e=(); while [ "$1" != -- ]; do e+=("$1"); shift; done; shift
  local i
  for i in 1 2 3; do
    env "${e[@]}" /usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p'
  done | sort -n | sed -n 2p | awk '{printf "%.1f", $1 / 1024}'
}

git_env="HOME=$out/run/home GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost"
mkdir -p "$out/run/home"
g() { env $git_env git "$@"; }

for n in "${sizes[@]}"; do
  src=$(vault_store "$n")
  store=$(gopass_store "$n")
  work=$out/run/$n
  mkdir -p "$work"
  cp "$src/vault.db" "$work/vault.db"
  k10=$keys/member-10.key k05=$keys/member-05.key
  v10="$vault --vault $work/vault.db --identity $k10"
  v05="$vault --vault $work/vault.db --identity $k05"
  s10="XDG_STATE_HOME=$work/state-10"
  mid=$(printf 'secret-%04d' $((n / 2))) # the secret timed: secret-0500 at 1,000 as in bench/get.sh

  # Each member's machine opens the vault once before anything is timed.
  say "$n: first opens by member-10 and member-05..."
  env "$s10" $v10 get $mid >/dev/null 2>&1 || die "vault get failed: $(env "$s10" $v10 get $mid 2>&1 >/dev/null | tail -1)"
  XDG_STATE_HOME=$work/state-05 $v05 get secret-0007 >/dev/null 2>&1
  env "$s10" $v10 get $mid --ciphertext >"$work/value.age" 2>/dev/null
  [ "$(age -d -i "$k10" "$work/value.age")" = "$(env "$s10" $v10 get $mid 2>/dev/null)" ] ||
    die "age -d of the value's age file does not give what vault get gives"

  # 1a. vault get, nothing changed.
  bench "get-$n" "$n: vault get vs age -d, nothing changed" -n "$runs" \
    -a "$v10 get $mid" -aenv "$s10" \
    -b "age -d -i $k10 $work/value.age"
  r=$(field "get-$n" 5)
  row "get, nothing changed" "$n" "$(ms "$(field "get-$n" 2)")" "$(ms "$(field "get-$n" 3)") age -d" "$(x "$r")" "<= 1.5x" "$(verdict "$r" 1.5)"

  # 1b. vault get right after another member's change (untimed 'vault set'
  # of another secret by member-05, on their own machine, before each get).
  bench "getchg-$n" "$n: vault get right after another member's change vs age -d" -n "$slow_runs" -warmup 2 \
    -before "echo changed-\$RUN | XDG_STATE_HOME=$work/state-05 $v05 -q set secret-0007" \
    -a "$v10 get $mid" -aenv "$s10" \
    -b "age -d -i $k10 $work/value.age"
  r=$(field "getchg-$n" 5)
  row "get, after another's change" "$n" "$(ms "$(field "getchg-$n" 2)")" "$(ms "$(field "getchg-$n" 3)") age -d" "$(x "$r")" "<= 2x" "$(verdict "$r" 2)"

  # 2. vault list vs gopass ls, and peak memory.
  genv=$(gopass_env "$n")
  bench "list-$n" "$n: vault list vs gopass ls" -n "$slow_runs" -warmup 2 \
    -a "$v10 list" -aenv "$s10" \
    -b "$gopass ls" -benv "$genv"
  r=$(field "list-$n" 5)
  t="<= 1x"; v=$(verdict "$r" 1); [ "$n" = 10000 ] || { t="(10,000: <= 1x)"; v=-; }
  row "list vs gopass ls" "$n" "$(ms "$(field "list-$n" 2)")" "$(ms "$(field "list-$n" 3)") gopass" "$(x "$r")" "$t" "$v"
  # shellcheck disable=SC2086
  mv=$(maxrss "$s10" -- $v10 list); mg=$(maxrss $genv -- "$gopass" ls)
  t="< 40 MB"; v=$(verdict "$mv" 39.999); [ "$n" = 10000 ] || { t="(10,000: < 40 MB)"; v=-; }
  row "list, peak memory (max RSS)" "$n" "$mv MB" "$mg MB gopass" "-" "$t" "$v"
  # shellcheck disable=SC2086
  read -r _ anon file < <(env "$s10" "$out/bin/peakrss" $v10 list)
  row "  of which heap / mapped files" "$n" "$(awk -v k="$anon" 'BEGIN {printf "%.1f MB", k / 1024}')" "$(awk -v k="$file" 'BEGIN {printf "%.1f MB", k / 1024}') mapped" "-" "(info, sampled)" "-"

  # 4. File size: the shared file as it is after the changes above (1b: a
  # few 'vault set's), which is what a group's file looks like; the file as
  # AddMany first wrote it is shown too, since the two can differ a lot.
  fill() { # FILE: bytes of data in it, and how full its pages are (bbolt stats)
    "$out/bin/bbolt" stats "$1" | awk '/Bytes actually used for (leaf|branch) data/ {u += $(NF-1)} /Bytes allocated for physical (leaf|branch) pages/ {a += $NF} END {printf "%d %.0f\n", u, (a ? 100 * u / a : 0)}'
  }
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
  vb=$(du -sb "$work/vault.db" | cut -f1) vd=$(du -s --block-size=1 "$work/vault.db" | cut -f1)
  gb=$(du -sb "$store" | cut -f1) gd=$(du -s --block-size=1 "$store" | cut -f1)
  r=$(ratio "$vb" "$gb")
  row "file size (apparent, du -sb)" "$n" "$(mb "$vb")" "$(mb "$gb") gopass" "$(x "$r")" "<= 1.5x" "$(verdict "$r" 1.5)"
  read -r used fillpc < <(fill "$work/vault.db")
  row "  of which data (pages ${fillpc}% full)" "$n" "$(mb "$used")" "$(mb "$gb") gopass" "$(x "$(ratio "$used" "$gb")")" "(info)" "-"
  row "file size (disk usage, du -s)" "$n" "$(mb "$vd")" "$(mb "$gd") gopass" "$(x "$(ratio "$vd" "$gd")")" "(info)" "-"
  pb=$(du -sb "$src/vault.db" | cut -f1)
  read -r _ pfill < <(fill "$src/vault.db")
  row "  as AddMany wrote it (${pfill}% full)" "$n" "$(mb "$pb")" "$(mb "$gb") gopass" "$(x "$(ratio "$pb" "$gb")")" "(info)" "-"
  row "this machine's replica (info)" "$n" "$(mb "$(du -sb "$work/state-10" | cut -f1)")" "-" "-" "(info)" "-"

  # 5. First open: an empty state folder before each run; the baseline is
  # the same get on a machine that opened the vault before.
  bench "first-$n" "$n: first open (vault get, empty state folder) vs the same get on a machine that saw it" \
    -n "$first_runs" -warmup 1 -before "rm -rf $work/state-fresh" \
    -a "$v10 get $mid" -aenv "XDG_STATE_HOME=$work/state-fresh" \
    -b "$v10 get $mid" -benv "$s10"
  s=$(field "first-$n" 2)
  t="< 1 s"; v=$(verdict "$s" 0.999999); [ "$n" = 10000 ] || { t="(10,000: < 1 s)"; v=-; }
  row "first open (get, full verify)" "$n" "$(ms "$s")" "$(ms "$(field "first-$n" 3)") seen" "$(x "$(field "first-$n" 5)")" "$t" "$v"

  # 7. vault sync with nothing to do, in a git working tree whose remote is
  # a bare repository on this machine.
  say "$n: setting up a git repository for vault sync..."
  gdir=$work/git
  g init --quiet --bare -b main "$gdir/remote.git"
  g clone --quiet "$gdir/remote.git" "$gdir/wt" 2>/dev/null
  # The copy this machine last saw (with member-05's changes of 1b), so that
  # there is nothing to put back.
  cp "$work/vault.db" "$gdir/wt/vault.db"
  g -C "$gdir/wt" add vault.db && g -C "$gdir/wt" commit --quiet -m vault && g -C "$gdir/wt" push --quiet origin main 2>/dev/null
  vs="$vault --vault $gdir/wt/vault.db --identity $k10"
  # shellcheck disable=SC2086
  env $git_env "$s10" $vs -q sync || die "vault sync failed"
  env $git_env "$s10" $vs -q sync
  before=$(g -C "$gdir/wt" rev-list --count HEAD)
  bench "sync-$n" "$n: vault sync (nothing to do) vs git pull --no-rebase && git push" -n "$slow_runs" -warmup 2 \
    -a "$vs sync" -aenv "$git_env $s10" \
    -b "git -C $gdir/wt pull --no-rebase && git -C $gdir/wt push" -bsh -benv "$git_env"
  [ "$(g -C "$gdir/wt" rev-list --count HEAD)" = "$before" ] || say "warning: vault sync committed something: it had something to do"
  d=$(awk -v a="$(field "sync-$n" 2)" -v b="$(field "sync-$n" 3)" 'BEGIN {printf "%.6f", a - b}')
  row "sync, nothing to do (minus git)" "$n" "$(ms "$(field "sync-$n" 2)")" "$(ms "$(field "sync-$n" 3)") git" "+$(ms "$d")" "< +300 ms" "$(verdict "$d" 0.3)"
done

# 3. vault add at the largest size vs at the smallest: the same command, a
# fresh name each run, the value on stdin, shared like the others.
if [ "$small" != "$large" ]; then
  add="add bench-add-{n} --username user --share @everyone"
  bench "add" "vault add at $large vs vault add at $small" -n "$slow_runs" -warmup 2 -stdin "added-{n}-abcdefghijklmnop" \
    -a "$vault --vault $out/run/$large/vault.db --identity $keys/member-10.key $add" -aenv "XDG_STATE_HOME=$out/run/$large/state-10" \
    -b "$vault --vault $out/run/$small/vault.db --identity $keys/member-10.key $add" -benv "XDG_STATE_HOME=$out/run/$small/state-10"
  r=$(field add 5)
  row "add at $large vs add at $small" "$large" "$(ms "$(field add 2)")" "$(ms "$(field add 3)") at $small" "$(x "$r")" "<= 1.3x" "$(verdict "$r" 1.3)"
fi

# 6. Merge: member-05's machine, which holds copy a, merges copy b. Before
# each run, copy a and that machine's state folder are put back as they were.
mdir=$(merge_store)
mw=$out/run/merge
vm="$vault --vault $mw/a.db --identity $keys/member-05.key"
reset="rm -rf $mw && mkdir -p $mw && cp -a $mdir/a.db $mdir/b.db $mdir/state-a $mw/"
sh -c "$reset"
got=$(XDG_STATE_HOME=$mw/state-a $vm merge "$mw/b.db" 2>&1 >/dev/null | grep -o 'merged [0-9]* change' || true)
[ "$got" = "merged $merge_ops change" ] || say "warning: the merge said '${got:-nothing}', not 'merged $merge_ops changes'"
bench "merge" "vault merge of two copies of a $merge_size-secret vault that diverged by $((2 * merge_ops)) operations" \
  -n "$slow_runs" -warmup 1 -before "$reset" \
  -a "$vm merge $mw/b.db" -aenv "XDG_STATE_HOME=$mw/state-a"
s=$(field merge 2)
row "merge, $((2 * merge_ops)) ops diverged" "$merge_size" "$(ms "$s")" "-" "-" "< 1 s" "$(verdict "$s" 0.999999)"

# After everything, each member's machine must still open its vault as
# before, twice (the first open after a change writes this machine's state;
# the second reads it): a command that fails here is a bug the timings above
# may hide.
for n in "${sizes[@]}"; do
  for who in 05 10 05 10; do
    if ! err=$(XDG_STATE_HOME=$out/run/$n/state-$who "$vault" -q --vault "$out/run/$n/vault.db" --identity "$keys/member-$who.key" get secret-0001 2>&1 >/dev/null); then
      say "warning: after the run, member-$who's machine cannot open the $n-secret vault: $err"
      row "WARNING: member-$who cannot open" "$n" "-" "-" "-" "see stderr" "FAIL"
      break
    fi
  done
done

# ---------------------------------------------------------------- table

echo
printf '%-33s %7s  %-10s  %-20s %-9s %-18s %s\n' what secrets vault baseline ratio target ""
printf '%s\n' "${rows[@]}" | while IFS=$'\t' read -r what n v b r t ok; do
  printf '%-33s %7s  %-10s  %-20s %-9s %-18s %s\n' "$what" "$n" "$v" "$b" "$r" "$t" "$ok"
done
echo
echo "ratio: median of the paired ratios of interleaved runs (vault / baseline); vault and baseline: medians."
echo "details of each comparison were printed on stderr above; raw results in ${results#"$root"/}."
