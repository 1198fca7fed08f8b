#!/bin/sh
# NFS clients of the nas scenario in network namespaces of their own.
#   clients.sh add NETNS VETH HOST_ADDRESS CLIENT_ADDRESS   (does nothing when the namespace exists)
#   clients.sh delete NETNS                                 (the host end of the veth pair goes with it)
# nfs-ganesha listens on 127.0.0.1 of this host: the namespace routes 127.0.0.1 to the host end of
# the pair (its own loopback stays down) and both ends accept loopback addresses from the wire
# (route_localnet), so ganesha sees the client by CLIENT_ADDRESS.
set -eu
action=$1
netns=$2
case $action in
add)
    veth=$3 host=$4 address=$5
    if [ -e "/run/netns/$netns" ]; then
        echo "unchanged"
        exit 0
    fi
    ip netns add "$netns"
    ip link add "$veth-h" type veth peer name "$veth-c"
    ip link set "$veth-c" netns "$netns"
    ip addr add "$host/24" dev "$veth-h"
    ip link set "$veth-h" up
    sysctl -qw "net.ipv4.conf.$veth-h.route_localnet=1"
    ip -n "$netns" addr add "$address/24" dev "$veth-c"
    ip -n "$netns" link set "$veth-c" up
    ip netns exec "$netns" sysctl -qw "net.ipv4.conf.$veth-c.route_localnet=1"
    ip -n "$netns" route add 127.0.0.1/32 via "$host" src "$address"
    echo "added"
    ;;
delete)
    if [ -e "/run/netns/$netns" ]; then
        ip netns delete "$netns"
        echo "deleted"
    else
        echo "unchanged"
    fi
    ;;
*)
    echo "usage: clients.sh add NETNS VETH HOST CLIENT | clients.sh delete NETNS" >&2
    exit 2
    ;;
esac
