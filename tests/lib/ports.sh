# ports.sh - TCP port helpers shared by the shell tests (sourced).
#
# Tests run in parallel (ctest -j2, and other suites on the same machine),
# so "pick a port that is free now, then start a server on it" is a race:
# between the check and the bind, another test (or the local end of any
# outgoing connection: ports in ip_local_port_range) may take the port.
# Two ways round it, best first:
#  - a server that can bind port 0 and say which port it got (oflash
#    gdbserver, sim serve, prod run --http, prod serve): start it on port 0
#    and read the port from its output with listen_port;
#  - a server that needs its port on the command line (QEMU, OpenOCD,
#    PostgreSQL): pick_port, start it, then wait_listen, which succeeds only
#    when THAT process listens on the port (not another test's server) and
#    fails when it died (port taken): then try again with a fresh port.

# port_free PORT: nothing listens on 127.0.0.1:PORT
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT PID [TRIES]: until the port accepts (TRIES x 50 ms, default
# 200 = 10 s) or PID died.  Whoever listens: use wait_listen for a server
# started on a picked port.
wait_port() {
    for _ in $(seq "${3:-200}"); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# _port_owner_in PORT PID: a socket listening on TCP PORT belongs to PID or
# to a process below it (a server started through timeout/runuser forks).
_port_owner_in() {
    local p q
    for p in $(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2); do
        q=$p
        while [ -n "$q" ] && [ "$q" -gt 1 ]; do
            [ "$q" = "$2" ] && return 0
            q=$(sed -nE 's/^.*\) . ([0-9]+) .*/\1/p' "/proc/$q/stat" 2>/dev/null) # its parent
        done
    done
    return 1
}

# wait_listen PORT PID [TRIES]: until PID (or its child) listens on PORT
# (TRIES x 50 ms, default 400 = 20 s); 1 as soon as PID died (typically:
# "address already in use") or when the port is another process's at the
# end.  The caller then kills PID and tries a fresh port.
wait_listen() {
    for _ in $(seq "${3:-400}"); do
        _port_owner_in "$1" "$2" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# pick_port: print a port that is free now, chosen at random among the
# ports the kernel never hands out as the local end of a connection (below
# ip_local_port_range, or above it if the range starts too low): only
# another test's server can then take it, and wait_listen sees that.
pick_port() {
    local p lo=32768 hi=60999 base=20000 span
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    if [ "$lo" -gt $((base + 1000)) ]; then
        span=$((lo - base))
    else
        base=$((hi + 1)) span=$((65536 - hi - 1))
    fi
    for _ in $(seq 100); do
        p=$((base + RANDOM % span))
        port_free "$p" && { echo "$p"; return 0; }
    done
    return 1
}

# listen_port LOG PID [REGEX] [TRIES]: the port a server started on port 0
# says it listens on: the first match of REGEX (sed -E, group 1 = the port;
# default 'listening on 127.0.0.1:PORT') in LOG, waited for (TRIES x 50 ms,
# default 400 = 20 s); 1 if PID died first or it never says.
listen_port() {
    local re=${3:-'listening on 127\.0\.0\.1:([0-9]+)'} port d=$'\001'
    for _ in $(seq "${4:-400}"); do
        port=$(sed -nE "s${d}.*$re.*${d}\\1${d}p" "$1" 2>/dev/null | head -1)
        [ -n "$port" ] && { echo "$port"; return 0; }
        kill -0 "$2" 2>/dev/null || break
        sleep 0.05
    done
    port=$(sed -nE "s${d}.*$re.*${d}\\1${d}p" "$1" 2>/dev/null | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    return 1
}
