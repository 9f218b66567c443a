#!/bin/bash
# Idle footprint of one tandem master alone (100 ms adverts) per thread: CPU and context switches
# from /proc/PID/task/TID/schedstat over WINDOW_S seconds, plus RSS. Needs root and ./build.sh.
# With BACKUP=1 a second tandem (priority 250, no flags) in a peer namespace is master and the
# measured one is its backup.
# usage: [BACKUP=1] bench/idle-threads.sh LABEL WINDOW_S [node flags...]   e.g. base 15 --max-semi-space-size=1
set -u
label=$1; win=$2; shift 2
ns=idle$$; d=$(mktemp -d); mkdir -p $d/state
ip netns add $ns
peer=''
trap 'kill $pid $peer 2>/dev/null; wait $pid $peer 2>/dev/null; ip netns del $ns; ip netns del ${ns}p 2>/dev/null; rm -rf $d' EXIT
ip -n $ns link add eth0 type veth peer name eth1
ip -n $ns link set eth0 up; ip -n $ns link set eth1 up; ip -n $ns link set lo up
ip -n $ns addr add 192.0.2.1/24 dev eth0
if [ "${BACKUP:-0}" = 1 ]; then
  ip netns add ${ns}p; ip -n $ns link set eth1 netns ${ns}p; ip -n ${ns}p link set eth1 name eth0
  ip -n ${ns}p link set eth0 up; ip -n ${ns}p link set lo up; ip -n ${ns}p addr add 192.0.2.2/24 dev eth0
  mkdir -p $d/p/state
  cat > $d/p/c.yaml <<Y
node: r2
state_dir: $d/p/state
control: { socket: $d/p/ctl.sock }
log: { level: warn }
instances:
  - name: lan
    interface: eth0
    vrid: 51
    priority: 250
    advert_interval: 100ms
    addresses: [192.0.2.254/24]
Y
  ip netns exec ${ns}p node --max-semi-space-size=1 "$(dirname "$0")/../dist/tandem.js" run --config $d/p/c.yaml > $d/p/out 2>&1 &
  peer=$!
  sleep 3
fi
cat > $d/c.yaml <<Y
node: r1
state_dir: $d/state
control: { socket: $d/ctl.sock }
log: { level: warn }
instances:
  - name: lan
    interface: eth0
    vrid: 51
    priority: 200
    advert_interval: 100ms
    addresses: [192.0.2.254/24]
Y
ip netns exec $ns node "$@" "$(dirname "$0")/../dist/tandem.js" run --config $d/c.yaml > $d/out 2>&1 &
pid=$!
sleep 5
snap() { local t cpu=0 sw=0; for t in /proc/$pid/task/*; do read a b c < $t/schedstat; cpu=$((cpu+a)); sw=$((sw+c)); done; echo "$cpu $sw"; }
read c0 s0 < <(snap)
declare -A tc0; for t in /proc/$pid/task/*; do read a b c < $t/schedstat; tc0[$(basename $t)]="$a $c"; done
sleep $win
read c1 s1 < <(snap)
per=""; for t in /proc/$pid/task/*; do n=$(basename $t); read a b c < $t/schedstat; set -- ${tc0[$n]:-0 0}; da=$(( (a-$1)/1000000 )); dc=$((c-$2)); [ $dc -gt 0 ] && per="$per $(cat $t/comm|tr ' ' _):${da}ms/${dc}sw"; done
rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status); hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
echo "$label vip_held=$(ip -n $ns addr show dev eth0 | grep -c 192.0.2.254) win=${win}s cpu=$(( (c1-c0)/1000000 ))ms cpu_s_per_min=$(echo "scale=2; ($c1-$c0)/1000000000*60/$win" | bc) switches=$((s1-s0)) rss=$((rss/1024))MB hwm=$((hwm/1024))MB |$per"
grep -v '^$' $d/out | head -3
