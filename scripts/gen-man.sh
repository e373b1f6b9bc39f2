#!/usr/bin/env bash
# gen-man.sh OFLASH OUT - write the man page oflash(1) to OUT from the help
# texts of the oflash binary OFLASH: `oflash --help` gives the command list
# (the registry in src/cli/main.c), `oflash COMMAND --help` each command's
# synopsis and options.  Run at build time (CMakeLists.txt), so the page
# always matches the program; installed to share/man/man1.
set -euo pipefail
oflash=$1
out=$2
version=$("$oflash" --version | awk '{print $2}')

# roff-escape help text: backslashes, leading dots/quotes, minus signs.
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" -e 's/-/\\-/g'; }

commands=$("$oflash" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
[ -n "$commands" ] || { echo "gen-man: no commands in '$oflash --help'" >&2; exit 1; }

tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
    printf '.TH OFLASH 1 "" "oflash %s" "User Commands"\n' "$version"
    printf '.SH NAME\noflash \\- program flash and OTP of ARM Cortex\\-M microcontrollers\n'
    printf '.SH SYNOPSIS\n.B oflash\n.I COMMAND\n.RI [ ARGS ...]\n.br\n'
    printf '.B oflash \\-\\-help\n.br\n.B oflash \\-\\-version\n'
    cat <<'TXT'
.SH DESCRIPTION
.B oflash
programs a chip's main flash and its one\-time\-programmable (OTP) area from
one image (Intel HEX, S\-record, ELF, or binary as
.IR PATH @ ADDR )
in one pass, safely and idempotently: a plan is made first, sectors that
already hold the image are skipped, and OTP bytes and lock bytes are written
only with an explicit opt\-in and never over a conflicting value.  It talks
to a chip through a GDB server
.RI ( gdb: HOST : PORT ,
.IR gdb: /dev/ttyX )
or a simulated chip held in a file
.RI ( sim: PATH ),
with CMSIS FLM flash loaders.  Everything it does is also available in the
C library liboflash.
.SH COMMANDS
Each command describes itself with
.BR "oflash \fICOMMAND\fB \-\-help" ;
that text follows.
TXT
    for c in $commands; do
        summary=$("$oflash" --help | awk -v c="$c" '$1 == c {sub(/^  [a-z]+ +/, ""); print}')
        printf '.SS %s\n' "$c"
        printf '%s\n' "$summary" | esc
        printf '.PP\n.nf\n'
        "$oflash" "$c" --help 2>&1 | esc
        printf '.fi\n'
    done
    cat <<'TXT'
.SH EXIT STATUS
.TP
.B 0
success
.TP
.B 1
the operation failed or was refused (nothing half\-written)
.TP
.B 2
usage error
.SH ENVIRONMENT
.TP
.B OFLASH_DEVICES
colon\-separated device files (J\-Link XML, .pdsc, .pack) searched after
.B \-\-devices
files
.TP
.B XDG_CONFIG_HOME
the device store is
.IR $XDG_CONFIG_HOME/oflash/devices/
(default
.IR ~/.config/oflash/devices/ )
.SH DIAGNOSTICS
Errors go to standard error as
.IR "oflash: FILE:LINE: what is wrong (expected ...)" ,
naming the address, sector or OTP block.
.SH SEE ALSO
.BR gdb (1),
.BR openocd (1),
.BR objcopy (1)
TXT
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
