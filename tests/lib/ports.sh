# ports.sh - TCP port helpers shared by the shell tests (sourced).

# port_free PORT: nothing listens on 127.0.0.1:PORT
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT PID [TRIES]: until the port accepts (TRIES x 50 ms, default
# 200 = 10 s) or PID died
wait_port() {
    for _ in $(seq "${3:-200}"); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# pick_port: print a free port between 20000 and 59999 (100 tries)
pick_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 40000))
        port_free "$p" && { echo "$p"; return 0; }
    done
    return 1
}
