#!/usr/bin/env bash
# stop_local_slurm.sh DIR [--purge] - stop the cluster start_local_slurm.sh DIR started.
#
# Cancels the cluster's jobs, then stops slurmd, slurmctld and munged by the pids in DIR's pid
# files, each checked against the expected process name first, and removes the link
# /etc/slurm/slurm.conf -> DIR/slurm.conf. Never kills by name, never touches daemons started
# from another DIR. --purge also deletes DIR.
set -euo pipefail

DIR=${1:?usage: stop_local_slurm.sh DIR [--purge]}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
PURGE=${2:-}
export SLURM_CONF=$DIR/slurm.conf

log() { printf '[stop_local_slurm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc '0-9' <"$1")
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] || return 1
    echo "$pid"
}

stop_daemon() { # stop_daemon PIDFILE NAME: TERM, up to 15 s, then KILL
    local pid
    pid=$(pid_alive "$1" "$2") || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
        [ -d "/proc/$pid" ] || break
        sleep 0.25
    done
    if [ -d "/proc/$pid" ]; then
        log "$2 (pid $pid) still running after 15 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $2 (pid $pid)"
}

if pid_alive "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then
    jobs=$(squeue -h -t pending,running,completing -o '%i' 2>/dev/null | tr '\n' ' ' || true)
    if [ -n "${jobs// /}" ]; then
        log "cancelling jobs $jobs"
        # shellcheck disable=SC2086
        scancel $jobs || true
        for _ in $(seq 1 60); do
            [ -z "$(squeue -h -t pending,running,completing -o '%i' 2>/dev/null)" ] && break
            sleep 0.25
        done
    fi
fi

stop_daemon "$DIR/run/slurmd.pid" slurmd
stop_daemon "$DIR/run/slurmctld.pid" slurmctld
stop_daemon "$DIR/munge/munged.pid" munged

if [ "$(readlink /etc/slurm/slurm.conf || true)" = "$DIR/slurm.conf" ]; then
    rm -f /etc/slurm/slurm.conf
fi
if [ "$PURGE" = "--purge" ]; then
    rm -rf "$DIR"
fi
