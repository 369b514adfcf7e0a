#!/data/data/com.termux/files/usr/bin/bash
# agent-bridge on Android (Termux): from a clone of the repository (`pkg install git`, then
# `git clone <repository URL>`), run `bash deploy/termux/setup.sh`, then open a new Termux session.
# The tunnel itself runs in the WireGuard app (Termux cannot create network interfaces without
# root): on your laptop run `agent-bridge wg add-peer phone --qr` and scan the code in the app.
# Set VPS_ADDRESS if your hub's tunnel address is not 10.77.0.1, LOCAL_AGENT to the command of
# your local agent (default: qwen), and AGENT_BRIDGE_PIP to install agent-bridge from elsewhere
# (a wheel, another clone, 'git+https://...'): it is not on PyPI.
set -euo pipefail

# The clone this script is in (agent-bridge is installed from it), if it is in one.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLONE="$(cd "$HERE/../.." && pwd)"
[ -f "$CLONE/pyproject.toml" ] || CLONE=""
SOURCE="${AGENT_BRIDGE_PIP:-$CLONE}"

VPS_ADDRESS="${VPS_ADDRESS:-10.77.0.1}"
LOCAL_AGENT="${LOCAL_AGENT:-qwen}"
CONFIG="$HOME/.config/agent-bridge/registry.toml"

# Tools: Python, the SSH client, tmux, wg (for keys only). python-cryptography is prebuilt by
# Termux (pip cannot build it there); rust builds pydantic-core where PyPI has no Android wheel
# (a few minutes, once).
pkg update -y
pkg install -y python python-cryptography openssh tmux wireguard-tools rust git

# An SSH key for the phone: add the printed public key to ~agents/.ssh/authorized_keys on the VPS.
mkdir -p -m 700 "$HOME/.ssh"
[ -f "$HOME/.ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$HOME/.ssh/id_ed25519"
echo "Public key to authorise on the VPS:"; cat "$HOME/.ssh/id_ed25519.pub"

# A registry with the VPS's Claude Code (kept if you already have one).
if [ ! -f "$CONFIG" ]; then
    mkdir -p "$(dirname "$CONFIG")"
    cat > "$CONFIG" <<TOML
# agent-bridge registry on the phone (see hosts/vps.toml in the repository).
[hosts.vps]
address = "$VPS_ADDRESS"        # the VPS inside the WireGuard tunnel
user = "agents"
host_key_policy = "accept-new"  # trust the VPS's key on first use; a changed key is refused

[agents.claude]
host = "vps"
target = "agents:claude.0"
profile = "claude-code"
start = "claude"
TOML
fi

# Two aliases: `agent` opens (or re-attaches) your local agent in tmux; `ask "..."` hands a
# question to Claude Code on the VPS and prints its reply.
BASHRC="$HOME/.bashrc"
touch "$BASHRC"
grep -q '# agent-bridge aliases' "$BASHRC" || cat >> "$BASHRC" <<BASH
# agent-bridge aliases
alias agent='tmux new-session -A -s local "$LOCAL_AGENT"'
alias ask='agent-bridge ask claude'
BASH

# agent-bridge itself, last: a failed install (no network, a build error) leaves the rest done.
if [ -z "$SOURCE" ]; then
    echo "agent-bridge not installed: run this script from a clone, or set AGENT_BRIDGE_PIP" >&2
    exit 1
fi
if ! pip install "$SOURCE"; then
    echo "agent-bridge not installed; retry with: pip install '$SOURCE'" >&2
    exit 1
fi

echo "Done. Open a new session, then: ask \"hello\""
echo "Watch the VPS agent live, without typing into it: agent-bridge attach claude --read-only"
