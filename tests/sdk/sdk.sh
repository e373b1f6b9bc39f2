#!/usr/bin/env bash
# sdk.sh - the library as shipped.  `cmake --install` into a scratch prefix,
# then build examples/sdk OUTSIDE the tree against the installed library
# four ways: pkg-config (examples/sdk/Makefile) and CMake
# (find_package(oflash), examples/sdk/CMakeLists.txt), each linking
# liboflash.a and then liboflash.so.  Every build's custom_probe registers a
# probe backend of its own, and its program_otp programs flash + OTP into a
# simulated chip that the installed oflash command then checks.
. "$(dirname "$0")/lib.sh"
v=$(hdr_version)
prefix=$WORK/prefix
src=$OFLASH_SRC/examples/sdk
sdk_cc=${SDK_CC:-cc}
sdk_cflags=${SDK_CFLAGS:-}

check "cmake --install into a scratch prefix" \
    bash -c "cmake --install '$OFLASH_BUILD' --prefix '$prefix' >'$WORK/install.log'"
for f in include/oflash/common.h include/oflash/flash.h include/oflash/sys/probe.h \
    lib/liboflash.a "lib/liboflash.so.$v" "lib/liboflash.so.${v%.*}" lib/liboflash.so \
    lib/pkgconfig/oflash.pc lib/cmake/oflash/oflashConfig.cmake \
    lib/cmake/oflash/oflashConfigVersion.cmake lib/cmake/oflash/oflashTargets.cmake \
    bin/oflash share/man/man1/oflash.1; do
    check "installed $f" test -e "$prefix/$f"
done
of=$prefix/bin/oflash
check "installed oflash --version says $v" test "$("$of" --version)" = "oflash $v"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
check "pkg-config --modversion oflash is $v" test "$(pkg-config --modversion oflash)" = "$v"
check "the man page renders without warnings" groff -man -Tutf8 -ww -z "$prefix/share/man/man1/oflash.1"

# needed BINARY: the shared libraries BINARY loads.
needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; }

for how in pkgconfig-static pkgconfig-shared cmake-static cmake-shared; do
    out=$WORK/$how
    mkdir -p "$out"
    case $how in
    pkgconfig-*)
        static=0; [ "$how" = pkgconfig-static ] && static=1
        check "$how: make -C examples/sdk STATIC=$static" \
            make -s -C "$src" OUT="$out" STATIC=$static CC="$sdk_cc" CFLAGS="-O1 -g $sdk_cflags" ;;
    cmake-*)
        static=OFF; [ "$how" = cmake-static ] && static=ON
        check "$how: cmake examples/sdk with find_package(oflash), OFLASH_SDK_STATIC=$static" \
            bash -c "cmake -S '$src' -B '$out/b' -DCMAKE_PREFIX_PATH='$prefix' -DOFLASH_SDK_STATIC=$static \
                       -DCMAKE_C_COMPILER='$sdk_cc' -DCMAKE_C_FLAGS='$sdk_cflags' >'$out/log' 2>&1 &&
                     cmake --build '$out/b' >>'$out/log' 2>&1 || { cat '$out/log'; false; }"
        ln -sf b/program_otp "$out/program_otp"
        ln -sf b/custom_probe "$out/custom_probe" ;;
    esac
    [ -x "$out/program_otp" ] && [ -x "$out/custom_probe" ] || { fail "$how: not built"; continue; }
    if [ "${how#*-}" = static ]; then
        if needed "$out/program_otp" | grep -q liboflash; then
            fail "$how: program_otp needs liboflash.so although linked with liboflash.a"
        else
            pass "$how: program_otp has liboflash linked in (no liboflash.so needed)"
        fi
    else
        check "$how: program_otp needs liboflash.so.${v%.*}" \
            bash -c "readelf -d '$out/program_otp' | grep -q 'Shared library: \[liboflash.so.${v%.*}\]'"
        got=$(ldd "$out/program_otp" | awk '/liboflash/ {print $3}')
        check "$how: and loads it from the install prefix ($got)" \
            test "$(readlink -f "$got")" = "$(readlink -f "$prefix/lib/liboflash.so.${v%.*}")"
    fi
    check "$how: custom_probe registers a probe backend and drives it" "$out/custom_probe"
    program_checks "$of" "$out/program_otp" "$how"
done
finish
