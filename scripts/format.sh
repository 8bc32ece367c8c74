#!/usr/bin/env bash
# Formats every tracked C++ file (git ls-files '*.cpp' '*.hpp' '*.h') with the repo's
# .clang-format, using clang-format 14 (Debian bookworm's; other versions format differently).
#   scripts/format.sh           rewrite the files in place
#   scripts/format.sh --check   change nothing; list the files that are not formatted, exit 1
# CLANG_FORMAT=/path/to/clang-format picks another binary (not checked against version 14).
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  -h|--help) sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "usage: scripts/format.sh [--check]" >&2; exit 2 ;;
esac

if [ -n "${CLANG_FORMAT:-}" ]; then
  command -v "$CLANG_FORMAT" >/dev/null || { echo "format.sh: CLANG_FORMAT=$CLANG_FORMAT: not found" >&2; exit 2; }
else
  CLANG_FORMAT=$(command -v clang-format-14 || command -v clang-format || true)
  if [ -z "$CLANG_FORMAT" ]; then
    echo "format.sh: clang-format is not installed (Debian bookworm's clang-format, version 14)." >&2
    if grep -qE '(^|[[:space:](])clang-format([[:space:])]|$)' scripts/install-deps.sh; then
      echo "  Install it with scripts/install-deps.sh." >&2
    else
      echo "  Install it with: sudo apt-get install clang-format" >&2
    fi
    exit 2
  fi
  version=$("$CLANG_FORMAT" --version | sed -n 's/.*clang-format version \([0-9]*\).*/\1/p')
  if [ "$version" != 14 ]; then
    echo "format.sh: $CLANG_FORMAT is clang-format ${version:-of unknown version}; the tree is" >&2
    echo "  formatted with clang-format 14 (Debian bookworm). Install clang-format-14, or set" >&2
    echo "  CLANG_FORMAT=$CLANG_FORMAT to use this one anyway." >&2
    exit 2
  fi
fi

git rev-parse --is-inside-work-tree >/dev/null 2>&1 || {
  echo "format.sh: not a git work tree (it formats the files git tracks)" >&2; exit 2; }
files=()
while IFS= read -r -d '' f; do
  [ -f "$f" ] && files+=("$f")  # skip files deleted in the work tree but still in the index
done < <(git ls-files -z -- '*.cpp' '*.hpp' '*.h')
[ ${#files[@]} -gt 0 ] || { echo "format.sh: no tracked C++ files" >&2; exit 0; }

if [ "$check" = 0 ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 -P "$(nproc)" "$CLANG_FORMAT" -i --style=file
  echo "format.sh: formatted ${#files[@]} files"
  exit 0
fi

# --dry-run --Werror prints one "file:line:col: error: code should be clang-formatted" per
# place that would change; anything else it prints is a real failure and is shown as is.
out=$(printf '%s\0' "${files[@]}" |
      xargs -0 -n 50 -P "$(nproc)" "$CLANG_FORMAT" --dry-run --Werror --style=file 2>&1) && rc=0 || rc=$?
unformatted=$(printf '%s\n' "$out" |
  sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' |
  sort | uniq -c | awk '{printf "  %s (%d place%s)\n", $2, $1, $1 == 1 ? "" : "s"}')
other=$(printf '%s\n' "$out" | grep -E '^[^ ].*: (error|warning|fatal error):' |
  grep -v 'code should be clang-formatted' || true)
if [ -n "$other" ]; then
  echo "format.sh: clang-format failed:" >&2
  printf '%s\n' "$other" | awk '!seen[$0]++' >&2
  exit 2
fi
if [ -n "$unformatted" ]; then
  count=$(printf '%s\n' "$unformatted" | wc -l)
  echo "format.sh --check: $count of ${#files[@]} files are not formatted (run scripts/format.sh):"
  printf '%s\n' "$unformatted"
  exit 1
fi
if [ "$rc" != 0 ]; then
  echo "format.sh: clang-format exited $rc:" >&2
  printf '%s\n' "$out" >&2
  exit 2
fi
echo "format.sh --check: all ${#files[@]} files are formatted"
