#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for the cluster integration test.
#
#   tests/slurm/cluster.sh up STATE_DIR     install (apt) if missing, configure, start
#                                           munged, slurmctld, slurmd; wait for the node
#   tests/slurm/cluster.sh down STATE_DIR   stop the daemons started by `up` (by PID)
#
# Needs root (apt, /etc/slurm, daemons). Every wait has a hard limit; `up` tears down
# what it started when it fails. The node offers this machine's CPUs and memory in one
# partition, `debug`, without GPUs: a GPU request is rejected by sbatch at once.
set -euo pipefail

action=${1:?usage: cluster.sh up|down STATE_DIR}
state=${2:?usage: cluster.sh up|down STATE_DIR}
INSTALL_TIMEOUT=${SLURM_INSTALL_TIMEOUT:-600}
READY_TIMEOUT=${SLURM_READY_TIMEOUT:-60}
CONF=/etc/slurm/slurm.conf # the plugin's job step drops SLURM_CONF: the default path

log() { echo "cluster.sh: $*" >&2; }

install_packages() {
	if command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
		command -v sbatch >/dev/null && command -v munged >/dev/null; then
		return
	fi
	log "installing slurm-wlm and munge with apt"
	export DEBIAN_FRONTEND=noninteractive
	timeout "$INSTALL_TIMEOUT" apt-get update -qq
	timeout "$INSTALL_TIMEOUT" apt-get install -y -qq --no-install-recommends \
		slurm-wlm munge >/dev/null
}

write_config() {
	local host cpus memory
	host=$(hostname -s)
	cpus=$(nproc)
	memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
	mkdir -p /etc/slurm "$state/spool/ctld" "$state/spool/d" "$state/log"
	# The status checks of the executor plugin start after 40 s: finished jobs stay
	# visible to squeue for 3x that (MinJobAge); EnforcePartLimits rejects requests the
	# partition can never meet instead of letting them pend forever.
	cat >"$CONF" <<-EOF
		ClusterName=csmoe-test
		SlurmctldHost=$host
		SlurmUser=root
		SlurmdUser=root
		AuthType=auth/munge
		StateSaveLocation=$state/spool/ctld
		SlurmdSpoolDir=$state/spool/d
		SlurmctldPidFile=$state/slurmctld.pid
		SlurmdPidFile=$state/slurmd.pid
		SlurmctldLogFile=$state/log/slurmctld.log
		SlurmdLogFile=$state/log/slurmd.log
		ProctrackType=proctrack/linuxproc
		TaskPlugin=task/none
		SelectType=select/cons_tres
		SelectTypeParameters=CR_Core_Memory
		AccountingStorageType=accounting_storage/none
		JobAcctGatherType=jobacct_gather/none
		JobCompType=jobcomp/none
		EnforcePartLimits=ALL
		MinJobAge=120
		ReturnToService=2
		SchedulerType=sched/backfill
		NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
		PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
	EOF
}

start_munge() {
	mkdir -p /run/munge /var/log/munge /var/lib/munge
	if [[ ! -s /etc/munge/munge.key ]]; then
		mkdir -p /etc/munge
		dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
	fi
	chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
	chmod 0700 /etc/munge
	chmod 0400 /etc/munge/munge.key
	if ! munge -n </dev/null >/dev/null 2>&1; then
		runuser -u munge -- munged --pid-file=/run/munge/munged.pid
	fi
	cp /run/munge/munged.pid "$state/munged.pid" 2>/dev/null || true
}

wait_for_node() {
	local deadline=$((SECONDS + READY_TIMEOUT)) node_state
	while ((SECONDS < deadline)); do
		node_state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
		if [[ $node_state == idle* ]]; then
			log "node $(hostname -s) idle ($(nproc) CPUs)"
			return 0
		fi
		sleep 0.5
	done
	log "node not idle after ${READY_TIMEOUT}s (state: ${node_state:-none}); see $state/log"
	return 1
}

stop_pid_file() {
	local file=$1 pid i
	[[ -s $file ]] || return 0
	pid=$(cat "$file")
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 1 50); do # 5 s, then SIGKILL
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

down() {
	scancel --full --quiet --user=root 2>/dev/null || true
	stop_pid_file "$state/slurmd.pid"
	stop_pid_file "$state/slurmctld.pid"
	if [[ -e $state/started-munged ]]; then
		stop_pid_file "$state/munged.pid"
	fi
}

up() {
	mkdir -p "$state"
	state=$(cd "$state" && pwd)
	trap 'log "bring-up failed"; down' ERR
	install_packages
	write_config
	if munge -n </dev/null >/dev/null 2>&1; then
		log "munged already running"
	else
		start_munge
		touch "$state/started-munged"
	fi
	slurmctld -i
	slurmd
	wait_for_node
	trap - ERR
}

case $action in
up) up ;;
down) down ;;
*)
	log "unknown action $action (up or down)"
	exit 2
	;;
esac
