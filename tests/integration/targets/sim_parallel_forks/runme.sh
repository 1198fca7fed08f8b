#!/usr/bin/env bash
# 20 forks on one simulator state: distinct LUNs all exist afterwards; one LUN name
# created by all at once is created once (one changed, 19 unchanged, no failure).
set -eux

dir=$(mktemp -d)
trap 'rm -rf "${dir}"' EXIT
mkdir "${dir}/names"

ansible-playbook -i inventory.ini -f 20 forks.yml -e "stormgmt_forks_dir=${dir}" "$@"
