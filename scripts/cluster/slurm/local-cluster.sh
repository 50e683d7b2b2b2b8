#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (munge, slurmctld, slurmd; no systemd needed), for
# CI and for trying the job-array scripts: `bash local-cluster.sh up` / `bash local-cluster.sh down`.
# Needs root and Debian's slurm-wlm and munge packages.
set -euo pipefail
state=/tmp/mailcensus-slurm
case "${1:-up}" in
up)
  mkdir -p "$state"/{spool,slurmd,log} /etc/slurm /run/munge /var/lib/munge /var/log/munge /etc/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
  chmod 0700 /etc/munge /var/lib/munge /var/log/munge
  chmod 0400 /etc/munge/munge.key
  pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=mailcensus
SlurmctldHost=${host}
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=${state}/spool
SlurmdSpoolDir=${state}/slurmd
SlurmctldPidFile=${state}/slurmctld.pid
SlurmdPidFile=${state}/slurmd.pid
SlurmctldLogFile=${state}/log/slurmctld.log
SlurmdLogFile=${state}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=${host} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=main Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
  pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
  pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
  for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'; then
      sinfo
      exit 0
    fi
    sleep 1
  done
  echo "slurm did not come up; logs in $state/log" >&2
  tail -n 30 "$state"/log/*.log >&2 || true
  exit 1
  ;;
down)
  pkill -x slurmd || true
  pkill -x slurmctld || true
  pkill -x munged || true
  ;;
esac
