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

# The demo agent in tmux session "agents", window "demo". It is TYPED into an interactive shell
# (job control on), so #{pane_current_command} shows the agent while it runs and the shell after
# it exits: that is how agent-bridge tells a running agent from a dead one.
runuser -u agents -- env HOME=/home/agents \
    tmux new-session -d -s agents -n demo -x 200 -y 50 -c /home/agents
runuser -u agents -- env HOME=/home/agents \
    tmux send-keys -t agents:demo -l -- "/opt/agent-bridge/bin/python -m bridge.demo ${DEMO_ARGS:-}"
runuser -u agents -- env HOME=/home/agents tmux send-keys -t agents:demo Enter

exec /usr/sbin/sshd -D -e
