#!/usr/bin/env bash
# Secret scan: CHAP and mutual CHAP secrets, the password option, STORMGMT_PASSWORD and passwords
# written into URIs (server, iscsi:// devices) go through every module, on the simulator, a real
# tgtd (its own portal and control port, chosen here, so that it runs beside other suites) and
# the reference external plug-in, at -vvvv with --diff, in check mode, for real and on failure
# paths, with ANSIBLE_LOG_PATH set. Then none of the secrets may appear in the output, the log,
# any file the run wrote (simulator state, tgt pool state, plug-in state and stderr, fstab), or
# tgtd's live configuration (tgtadm --op show).
# Not covered here: the module's own invocation log on the node (journal/syslog); this machine
# has neither, tests/unit/plugins/module_utils/test_module.py checks what the modules log.
set -eu

dir=$(mktemp -d /tmp/stormgmt-secret-scan-XXXXXX)
tgtd_pid=
control=
cleanup() {
    set +e
    if [ -n "${tgtd_pid}" ]; then
        for tid in $(tgtadm -C "${control}" --op show --mode target 2>/dev/null | sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
            tgtadm -C "${control}" --op delete --mode target --tid "${tid}" --force
        done
        tgtadm -C "${control}" --op update --mode sys --name State -v offline
        tgtadm -C "${control}" --op delete --mode system
        for _ in $(seq 50); do kill -0 "${tgtd_pid}" 2>/dev/null || break; sleep 0.1; done
        kill -9 "${tgtd_pid}" 2>/dev/null
        rm -f "/var/run/tgtd/socket.${control}" "/var/run/tgtd/socket.${control}.lock"
    fi
    # the mount the playbook makes is undone by the playbook; never leave one behind
    if findmnt -rn -o TARGET | grep -qF "${dir}/"; then
        findmnt -rn -o TARGET | grep -F "${dir}/" | sort -r | xargs -r -n1 umount -l
    fi
    if [ -n "${SCAN_KEEP:-}" ]; then echo "kept ${dir}"; else rm -rf "${dir}"; fi
}
trap cleanup EXIT

# --- distinctive secrets, new for every run ----------------------------------------------
tag=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
export SCAN_CHAP_IN="ScanChapIn-${tag}"
export SCAN_CHAP_OUT="ScanChapOut-${tag}"
export SCAN_CHAP_NEW="ScanChapNew-${tag}"
export SCAN_SERVER_PW="ScanServerPw-${tag}"
export SCAN_ENV_PW="ScanEnvPw-${tag}"
export SCAN_URI_PW="ScanUriPw-${tag}"
export SCAN_DEVICE_PW="ScanDevicePw-${tag}"
secrets=("${SCAN_CHAP_IN}" "${SCAN_CHAP_OUT}" "${SCAN_CHAP_NEW}" "${SCAN_SERVER_PW}" "${SCAN_ENV_PW}"
         "${SCAN_URI_PW}" "${SCAN_DEVICE_PW}")
# the server password of every task that does not set one: as AWX passes a credential
export STORMGMT_PASSWORD="${SCAN_ENV_PW}"
export STORMGMT_USERNAME=scan-admin

# --- a tgtd of our own ---------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
control=
for _ in $(seq 100); do
    candidate=$(( 1000 + RANDOM % 30000 ))
    if [ ! -e "/var/run/tgtd/socket.${candidate}" ] && [ ! -e "/var/run/tgtd/socket.${candidate}.lock" ]; then
        control=${candidate}
        break
    fi
done
[ -n "${control}" ]
tgtd -f -C "${control}" --iscsi "portal=127.0.0.1:${port}" >"${dir}/tgtd.log" 2>&1 &
tgtd_pid=$!
for _ in $(seq 100); do tgtadm -C "${control}" --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
tgtadm -C "${control}" --op show --mode sys >/dev/null
mkdir -p "${dir}/pool0"

# --- the reference plug-in, its stderr kept ------------------------------------------------
# ansible-test runs a copy of the target: look in the collections path it sets, then nearby
reference=
IFS=: read -r -a roots <<<"${ANSIBLE_COLLECTIONS_PATH:-}:${ANSIBLE_COLLECTIONS_PATHS:-}"
for candidate in "${roots[@]/%//ansible_collections/stormgmt/core/contrib/plugins}" "$(pwd)/../../../../contrib/plugins"; do
    if [ -x "${candidate}/stormgmt-plugin-jsonfile" ]; then
        reference=$(cd "${candidate}" && pwd)
        break
    fi
done
[ -n "${reference}" ] || { echo "the reference plug-in stormgmt-plugin-jsonfile was not found"; exit 1; }
mkdir -p "${dir}/plugins"
cat >"${dir}/plugins/stormgmt-plugin-scan" <<PLUGIN
#!/bin/sh
exec "${reference}/stormgmt-plugin-jsonfile" "\$@" 2>>"${dir}/plugin.stderr"
PLUGIN
chmod 0755 "${dir}/plugins/stormgmt-plugin-scan"
export STORMGMT_PLUGIN_PATH="${dir}/plugins"

# --- the runs ------------------------------------------------------------------------------
export ANSIBLE_LOG_PATH="${dir}/ansible.log"
export ANSIBLE_PIPELINING=true
extra=(-e "scan_dir=${dir}" -e "scan_port=${port}" -e "scan_control=${control}")
tgtd_answers() {
    if ! kill -0 "${tgtd_pid}" 2>/dev/null || ! tgtadm -C "${control}" --op show --mode sys >/dev/null 2>&1; then
        echo "our tgtd (pid ${tgtd_pid}, control port ${control}) stopped answering"
        ls -la /var/run/tgtd
        exit 1
    fi
}
run() {  # name, ansible-playbook arguments...
    local name=$1
    shift
    tgtd_answers
    ansible-playbook -i localhost, -c local -vvvv --diff "${extra[@]}" scan.yml "$@" \
        >"${dir}/run-${name}.out" 2>&1 || { cat "${dir}/run-${name}.out"; echo "run ${name} failed"; tgtd_answers; exit 1; }
    tgtd_answers
}
run apply
run check --check

# --- the scan ------------------------------------------------------------------------------
tgtadm -C "${control}" --op show --mode target >"${dir}/tgtadm-targets.txt"
tgtadm -C "${control}" --op show --mode account >"${dir}/tgtadm-accounts.txt"
grep -q "scan-in" "${dir}/tgtadm-accounts.txt"   # the CHAP accounts are there, by name

# the scanner finds a secret where one is
echo "${SCAN_CHAP_IN}" >"${dir}/canary"
grep -rqaF -- "${SCAN_CHAP_IN}" "${dir}"
rm "${dir}/canary"

# the runs did what the scan is about: the playbook checks each failure's error class itself
for name in apply check; do
    grep -q "SCAN COMPLETE" "${dir}/run-${name}.out"
    grep -q "invocation" "${dir}/run-${name}.out"
done
for file in state.db state.db.fs pool0/.stormgmt/state.json plugin.json plugin.stderr fstab ansible.log; do
    [ -e "${dir}/${file}" ] || { echo "the run left no ${file}: the scan would not see it"; exit 1; }
done

leaks=0
for secret in "${secrets[@]}"; do
    if grep -rlaF -- "${secret}" "${dir}"; then
        echo "LEAK: a secret (${secret%%-*}) is in the files above"
        grep -raF -- "${secret}" "${dir}" | cut -c1-300
        leaks=1
    fi
done
[ "${leaks}" = 0 ]
echo "secret scan: ${#secrets[@]} secrets, none found in $(find "${dir}" -type f | wc -l) files"
