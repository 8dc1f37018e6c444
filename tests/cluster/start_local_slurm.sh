#!/usr/bin/env bash
# start_local_slurm.sh DIR - start a private single-node SLURM cluster for tests.
#
# Debian packages (slurmctld, slurmd, slurm-client, munge; installed with apt-get if missing),
# no systemd: munged, slurmctld and slurmd are started by hand. The cluster lives under DIR:
# slurm.conf and gres.conf, its own munge key and socket, state, spool, logs and pid files; the
# packages' default sockets, ports and /etc/munge are not used. One thing is outside DIR:
# /etc/slurm/slurm.conf becomes a symlink to DIR/slurm.conf, because Snakemake's jobstep plugin
# drops SLURM_CONF from the environment of the srun it runs inside each job, so srun only finds
# the default path. An existing /etc/slurm/slurm.conf that is not a link left by this script is
# never replaced (the script stops with an error), so run one such cluster per machine at a time.
#
# No slurmdbd: sacct does not work here, so Snakemake's SLURM plugin must poll with squeue
# (slurm-status-command: squeue); MinJobAge keeps finished jobs visible to squeue for an hour.
# Fake GPUs: GRES gpu entries backed by harmless character devices (a GPU without File= is
# dropped by slurmd and the node is drained), so GPU requests schedule on a machine without one.
#
# Environment:
#   SLURMCTLD_PORT, SLURMD_PORT  TCP ports on 127.0.0.1         (default 6817, 6818)
#   FAKE_GPUS                    fake GPUs on the node, 1..4    (default 2)
#   NODE_CPUS                    CPUs the node offers           (default: what slurmd detects;
#                                more lets more jobs share the real cores at once)
#   WAIT_SECONDS                 how long to wait for the node  (default 60)
# Stop with stop_local_slurm.sh DIR.
set -euo pipefail

DIR=${1:?usage: start_local_slurm.sh DIR}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
CTLD_PORT=${SLURMCTLD_PORT:-6817}
SLURMD_PORT=${SLURMD_PORT:-6818}
FAKE_GPUS=${FAKE_GPUS:-2}
WAIT_SECONDS=${WAIT_SECONDS:-60}

log() { printf '[start_local_slurm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (daemons, munge user, packages)"
((FAKE_GPUS >= 1 && FAKE_GPUS <= 4)) || die "FAKE_GPUS must be 1..4"

install_packages() {
    command -v apt-get >/dev/null || die "SLURM is not installed and there is no apt-get"
    log "installing slurmctld slurmd slurm-client munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages from starting their services: we start our own daemons.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        own_policy=1
    fi
    local status=0
    apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null || status=$?
    if [ "$own_policy" -eq 1 ]; then rm -f "$policy"; fi
    [ "$status" -eq 0 ] || die "apt-get install failed (exit $status)"
}

for binary in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged /usr/bin/sbatch /usr/bin/squeue; do
    if [ ! -x "$binary" ]; then
        install_packages
        break
    fi
done

# pid_alive PIDFILE NAME: print the pid if PIDFILE names a live process called NAME
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc '0-9' <"$1")
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] || return 1
    echo "$pid"
}
for pidfile in "$DIR/run/slurmctld.pid" "$DIR/run/slurmd.pid" "$DIR/munge/munged.pid"; do
    name=$(basename "$pidfile" .pid)
    if pid=$(pid_alive "$pidfile" "$name"); then die "$name already runs from $DIR (pid $pid)"; fi
done

NODE=$(hostname -s)
CONF=$DIR/slurm.conf
SOCKET=$DIR/munge/munge.socket.2
mkdir -p "$DIR"/{munge,state,spool,log,run}
chmod 0755 "$DIR" "$DIR/spool" "$DIR/log" "$DIR/run"
chown munge:munge "$DIR/munge"
chmod 0755 "$DIR/munge" # munged requires a socket dir all can traverse
chown slurm:slurm "$DIR/state" "$DIR/log" "$DIR/run"

# ---- munge: own key, own socket
if [ ! -s "$DIR/munge/munge.key" ]; then
    runuser -u munge -- mungekey --create --keyfile="$DIR/munge/munge.key"
fi
runuser -u munge -- /usr/sbin/munged --key-file="$DIR/munge/munge.key" --socket="$SOCKET" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed"
for _ in $(seq 1 40); do
    [ -S "$SOCKET" ] && break
    sleep 0.25
done
munge --socket="$SOCKET" -n | unmunge --socket="$SOCKET" >/dev/null ||
    die "munge round trip failed, see $DIR/munge/munged.log"

# ---- configuration: the node as slurmd detects it, with fake GPUs
HARDWARE=$(slurmd -C | head -1)
field() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" <<<"$HARDWARE"; }
CPUS=$(field CPUs)
MEMORY=$(field RealMemory)
[ -n "$CPUS" ] && [ -n "$MEMORY" ] || die "could not parse 'slurmd -C': $HARDWARE"
# a node configured with more memory than slurmd detects is drained ("Low RealMemory")
MEMORY=$((MEMORY * 95 / 100))
TOPOLOGY=$(grep -o 'CPUs=.*ThreadsPerCore=[0-9]*' <<<"$HARDWARE")
OVERRIDES=""
if [ -n "${NODE_CPUS:-}" ] && [ "$NODE_CPUS" != "$CPUS" ]; then
    # more CPUs than the hardware has: slurmd must trust the config (no cgroups bind them)
    TOPOLOGY="CPUs=$NODE_CPUS"
    OVERRIDES="SlurmdParameters=config_overrides"
fi

cat >"$CONF" <<EOF
# Written by start_local_slurm.sh: a private single-node test cluster.
ClusterName=sclatenttest
SlurmctldHost=${NODE}(127.0.0.1)
SlurmctldPort=${CTLD_PORT}
SlurmdPort=${SLURMD_PORT}
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${SOCKET}
MpiDefault=none
MailProg=/bin/true
# no cgroups: /proc based process tracking, no binding or containment
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# no slurmdbd: sacct fails; clients poll with squeue
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=3600
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
StateSaveLocation=${DIR}/state
SlurmdSpoolDir=${DIR}/spool
SlurmctldPidFile=${DIR}/run/slurmctld.pid
SlurmdPidFile=${DIR}/run/slurmd.pid
SlurmctldLogFile=${DIR}/log/slurmctld.log
SlurmdLogFile=${DIR}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=${DIR}/plugstack.conf
GresTypes=gpu
${OVERRIDES}
NodeName=${NODE} NodeAddr=127.0.0.1 ${TOPOLOGY} RealMemory=${MEMORY} Gres=gpu:${FAKE_GPUS} State=UNKNOWN
PartitionName=main Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=${NODE} Default=NO MaxTime=INFINITE State=UP
EOF
: >"$DIR/plugstack.conf"
{
    echo "# Written by start_local_slurm.sh: fake GPUs (slurmd drops a GPU without File=)"
    echo "AutoDetect=off"
    devices=(/dev/null /dev/zero /dev/full /dev/urandom)
    for ((i = 0; i < FAKE_GPUS; i++)); do
        echo "NodeName=${NODE} Name=gpu File=${devices[$i]}"
    done
} >"$DIR/gres.conf"
chmod 0644 "$CONF" "$DIR/gres.conf" "$DIR/plugstack.conf"

# ---- /etc/slurm/slurm.conf -> DIR/slurm.conf (replacing only a stale link of this script)
ETC_CONF=/etc/slurm/slurm.conf
if [ -e "$ETC_CONF" ] || [ -L "$ETC_CONF" ]; then
    target=$(readlink "$ETC_CONF" || true)
    [ -n "$target" ] && [[ "$target" == */slurm.conf ]] ||
        die "$ETC_CONF exists and is not a link left by this script: not replacing it"
    if [ -e "$target" ]; then
        grep -q '^# Written by start_local_slurm.sh' "$target" ||
            die "$ETC_CONF links to $target, which this script did not write"
        if pid=$(pid_alive "$(dirname "$target")/run/slurmctld.pid" slurmctld); then
            die "another test cluster runs from $(dirname "$target") (slurmctld pid $pid)"
        fi
    fi
    rm -f "$ETC_CONF"
fi
mkdir -p /etc/slurm
ln -s "$CONF" "$ETC_CONF"
export SLURM_CONF=$CONF

# ---- daemons
/usr/sbin/slurmctld -c -f "$CONF" # -c: clean state
for _ in $(seq 1 80); do
    scontrol ping 2>/dev/null | grep -q 'is UP' && break
    sleep 0.25
done
scontrol ping | grep -q 'is UP' || die "slurmctld does not answer, see $DIR/log/slurmctld.log"
/usr/sbin/slurmd -f "$CONF" -N "$NODE"

state=""
for _ in $(seq 1 $((WAIT_SECONDS * 4))); do
    state=$(sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -1 || true)
    case "$state" in idle | mixed | allocated | drain* | inval* | fail*) break ;; esac
    sleep 0.25
done
case "$state" in
idle | mixed | allocated) ;;
*)
    scontrol show node "$NODE" | grep -E 'State|Reason' >&2 || true
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    die "node $NODE is '${state:-unknown}' after ${WAIT_SECONDS}s, not idle"
    ;;
esac
log "node $NODE is $state: $(sinfo -h -o '%P %G' | tr '\n' ' ')(ports $CTLD_PORT/$SLURMD_PORT)"
