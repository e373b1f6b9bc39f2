#!/usr/bin/env bash
# headers.sh - every public header (include/oflash/, sys/ included) compiles
# alone and twice over, as C11 and as C++ (g++, when installed) with
# -pedantic -Werror; wraps its declarations in OFLASH_BEGIN_DECLS /
# OFLASH_END_DECLS (C linkage, exported); names no issue and no CLI flag.
# Every options struct with a version field has an _INIT macro, usable in
# C11 and C++20 without warnings; a C++ program links liboflash.a through
# the headers' C linkage.
. "$(dirname "$0")/lib.sh"
inc=$OFLASH_SRC/include
CC=${CC:-cc}
CXX=${CXX:-g++}
# A sanitizer build's archive links only with its compiler and flags.
case ${SDK_CC:-} in *clang*) [ -n "${SDK_CFLAGS:-}" ] && CXX=clang++ ;; esac
have_cxx=false
if command -v "$CXX" >/dev/null; then have_cxx=true; else echo "note: no $CXX, C++ checks skipped"; fi
cflags=(-std=c11 -pedantic -Wall -Wextra -Werror -I"$inc")
cxxflags=(-std=c++11 -pedantic -Wall -Wextra -Werror -I"$inc")

headers=$(cd "$inc" && find oflash -name '*.h' | sort)
for h in $headers; do
    printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$h" "$h" >"$WORK/t.c"
    check "$h compiles alone (C11)" "$CC" "${cflags[@]}" -c "$WORK/t.c" -o "$WORK/t.o"
    if $have_cxx; then
        check "$h compiles alone (C++11)" "$CXX" "${cxxflags[@]}" -x c++ -c "$WORK/t.c" -o "$WORK/t.o"
    fi
    f=$inc/$h
    if [ "$h" != oflash/common.h ]; then
        check "$h: OFLASH_BEGIN_DECLS/END_DECLS, no bare extern \"C\"" \
            bash -c "grep -q '^OFLASH_BEGIN_DECLS' '$f' && grep -q '^OFLASH_END_DECLS' '$f' && ! grep -q 'extern \"C\"' '$f'"
    fi
    check "$h: mentions no issue number" bash -c "! grep -inE 'issue *#?[0-9]' '$f'"
    check "$h: names no command-line flag" bash -c "! grep -nE '(^|[ (\`\"])--[a-z]' '$f'"
done

# _INIT macros: one for every struct with a version field (ops tables,
# initialised by their writers with designated initializers, excepted).
{
    for h in $headers; do printf '#include <%s>\n' "$h"; done
    printf 'int main(void)\n{\n'
} >"$WORK/init.c"
ninit=0
for t in $(cat $(printf "$inc/%s " $headers) | tr '\n' ' ' |
    grep -oE 'typedef struct oflash_[a-z0-9_]+ \{ *unsigned version;' |
    sed -E 's/typedef struct (oflash_[a-z0-9_]+) .*/\1/' | grep -v '_ops$'); do
    macro=$(echo "${t}_INIT" | tr a-z A-Z)
    check "$t has $macro" grep -rq "#define $macro\b" "$inc"
    printf '    %s v%d = %s;\n    (void)v%d;\n' "$t" $ninit "$macro" $ninit >>"$WORK/init.c"
    ninit=$((ninit + 1))
done
printf '    return 0;\n}\n' >>"$WORK/init.c"
check "$ninit options structs found" test "$ninit" -ge 8
# ... and code uses them: no options struct initialised from its version
# constant by position or field (ops tables, which are not options, aside).
# (Assigning the version field, as a version upgrade does, is fine.)
bad=$(cd "$OFLASH_SRC" && grep -rnE \
    '\{\s*(\.version\s*=\s*)?OFLASH_[A-Z_]*_OPTS_VERSION|^\s*\.version\s*=\s*OFLASH_[A-Z_]*_OPTS_VERSION\s*,' \
    src tests fuzz examples --include='*.c' --include='*.h' || true)
check "options structs are initialised with their _INIT macro (${bad:-all are})" test -z "$bad"
check "the _INIT macros compile as C11 without warnings" \
    "$CC" "${cflags[@]}" -Wmissing-field-initializers -c "$WORK/init.c" -o "$WORK/init.o"
if $have_cxx; then
    # (g++ -Wextra warns about the fields a designated initializer leaves
    # out, which C++20 zero-initializes as C does; common.h says so.)
    check "the _INIT macros compile as C++20" \
        "$CXX" -std=c++20 -Wall -Wextra -Wno-missing-field-initializers -Werror -I"$inc" \
        -x c++ -c "$WORK/init.c" -o "$WORK/init.o"
    cat >"$WORK/link.cc" <<'CC'
#include <oflash/common.h>
#include <oflash/error.h>
#include <cstring>
int main()
{
    // C linkage: these resolve against liboflash.a only if the headers
    // declare them extern "C".
    return std::strcmp(oflash_version(), OFLASH_VERSION_STRING) == 0 &&
                   oflash_error_last_code() == 0
               ? 0
               : 1;
}
CC
    check "a C++ program links liboflash.a and runs" \
        bash -c "'$CXX' -std=c++11 ${SDK_CFLAGS:-} -I'$inc' '$WORK/link.cc' '$OFLASH_BUILD/liboflash.a' -ldl -lpthread -lm -o '$WORK/link' && '$WORK/link'"
fi
finish
