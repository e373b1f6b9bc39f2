#!/usr/bin/env bash
# exports.sh - liboflash.so exports exactly the public API: every dynamic
# symbol it defines is named oflash_<letter or digit>..., none is internal
# (oflash__*, df_*, uc_*, xml*, zip_*), every exported function is declared
# in a public header and every function a public header declares is
# exported; liboflash.a has the same global symbols; the soname carries
# MAJOR.MINOR of the version in common.h.
. "$(dirname "$0")/lib.sh"
so=$(readlink -f "$OFLASH_BUILD/liboflash.so")
nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' | sort -u >"$WORK/exported"
n=$(wc -l <"$WORK/exported")
echo "liboflash.so exports $n symbols"
bad=$(grep -v '^oflash_[a-z0-9]' "$WORK/exported" || true)
check "only oflash_* symbols exported (found: ${bad:-none})" test -z "$bad"
check "some 100 functions exported ($n)" test "$n" -ge 100
for internal in df_ uc_open xmlReadMemory zip_open oflash__; do
    check "no $internal* symbol" bash -c "! grep -q '^$internal' '$WORK/exported'"
done

# Functions the public headers declare (preprocessed, so macros and
# comments do not count).
for h in $(cd "$OFLASH_SRC/include" && find oflash -name '*.h' | sort); do
    printf '#include "%s"\n' "$h"
done >"$WORK/all.c"
cc -E -P -I"$OFLASH_SRC/include" "$WORK/all.c" | tr ';{}' '\n\n\n' |
    sed -E 's/\( *\* *oflash_[a-z0-9_]+ *\)//g' |
    grep -oE 'oflash_[a-z0-9_]+ *\(' | grep -oE 'oflash_[a-z0-9_]+' | sort -u >"$WORK/declared"
# Work in progress on main: functions a header declares ahead of their
# implementation are listed in pending.txt (one name a line).  A pending
# name that is exported must leave the list; under CI=true the list must be
# empty, so a release never declares what it does not define.
pending="$(dirname "$0")/pending.txt"
grep -oE '^oflash_[a-z0-9_]+' "$pending" 2>/dev/null | sort -u >"$WORK/pending" || true
done_pending=$(comm -12 "$WORK/pending" "$WORK/exported" | tr '\n' ' ')
check "no pending.txt name is exported already (remove: ${done_pending:-none})" test -z "$done_pending"
if [ "${CI:-}" = true ]; then
    check "pending.txt is empty in CI ($(wc -l <"$WORK/pending") names)" test ! -s "$WORK/pending"
fi
comm -23 "$WORK/declared" "$WORK/pending" >"$WORK/declared_now"
missing=$(comm -23 "$WORK/declared_now" "$WORK/exported" | tr '\n' ' ')
extra=$(comm -13 "$WORK/declared" "$WORK/exported" | tr '\n' ' ')
check "every declared function is exported (missing: ${missing:-none})" test -z "$missing"
check "every exported symbol is declared in include/oflash (extra: ${extra:-none})" test -z "$extra"

# liboflash.a: the same names and nothing else are global (a program that
# links it statically sees no internal symbol).
nm "$OFLASH_BUILD/liboflash.a" | awk 'NF == 3 && $2 ~ /[A-Z]/ && $2 != "U" && $2 != "W" {print $3}' |
    sort -u >"$WORK/archive"
diff_a=$(diff "$WORK/exported" "$WORK/archive" | grep '^[<>]' | tr '\n' ' ' || true)
check "liboflash.a defines exactly the exported symbols globally (${diff_a:-same})" test -z "$diff_a"

v=$(hdr_version)
want="liboflash.so.${v%.*}"
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
check "soname $soname is $want" test "$soname" = "$want"
check "file name liboflash.so.$v" test "$(basename "$so")" = "liboflash.so.$v"
finish
