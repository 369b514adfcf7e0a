#!/bin/sh
# Container start: fresh host keys, the client's authorized keys, the demo agent in tmux, then sshd
# in the foreground (PID 1's child; `docker stop` ends it).
set -eu

# New host keys per container (printed, so a test can pin them in known_hosts).
ssh-keygen -A >/dev/null
cat /etc/ssh/ssh_host_ed25519_key.pub

# Authorized keys from $AUTHORIZED_KEYS, unless a file was mounted.
install -d -m 0700 -o agents -g agents /home/agents/.ssh
if [ -n "${AUTHORIZED_KEYS:-}" ]; then
    printf '%s\n' "$AUTHORIZED_KEYS" > /home/agents/.ssh/authorized_keys
fi
if [ -f /home/agents/.ssh/authorized_keys ]; then
    chown agents:agents /home/agents/.ssh/authorized_keys 2>/dev/null || true
    chmod 0600 /home/agents/.ssh/authorized_keys 2>/dev/null || true
else
    echo "entrypoint: no AUTHORIZED_KEYS given: nobody can log in" >&2
fi

# The demo agent in tmux session "agents", window "demo"; a shell stays if it exits.
# shellcheck disable=SC2016  # $DEMO_ARGS is expanded by the pane's shell
runuser -u agents -- env DEMO_ARGS="${DEMO_ARGS:-}" HOME=/home/agents \
    tmux new-session -d -s agents -n demo -x 200 -y 50 -c /home/agents \
    '/opt/agent-bridge/bin/python -m bridge.demo $DEMO_ARGS; exec bash'

exec /usr/sbin/sshd -D -e
