"""``flock`` on the agent's host: the shell scripts that take pane locks there, and the holder
that needs only ``sh`` (one channel per held lock).

The lock file is ``/tmp/agent-bridge-locks-<uid>/<server pid>-<pane>.lock`` (a 0700 folder that
must be owned by the user; it does not depend on the caller's environment, so every caller finds
the same one), keyed by the tmux server's PID and the pane id: two laptops asking the same agent
wait for each other. Both holders (the bash one of :mod:`.lock`, and :func:`pane_lock` here, for
hosts without bash) lock the same files, so both kinds exclude each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from bridge.errors import AgentNotReadyError, BridgeError
from bridge.transport.base import Transport

log = logging.getLogger("bridge.lock")  # the name it always had (-v output)

# Both holders: the lock folder, and how to ask the process that holds a lock to let go of it
# (SIGUSR1, only if the PID in the owner file really has the lock file open: never a recycled PID).
_COMMON = r"""
dir="/tmp/agent-bridge-locks-$(id -u)"
mkdir -p -m 700 "$dir" 2>/dev/null
[ -d "$dir" ] && [ -O "$dir" ] || { echo "NOLOCKDIR $dir"; exit 3; }
command -v flock >/dev/null 2>&1 || { echo "NOFLOCK"; exit 4; }
ask_owner() {  # $1: the lock's key
  p=; read -r p <"$dir/$1.owner" 2>/dev/null
  case $p in ""|*[!0-9]*|$$) return ;; esac
  for f in /proc/$p/fd/*; do
    if [ "$f" -ef "$dir/$1.lock" ]; then kill -USR1 "$p" 2>/dev/null; return; fi
  done
}
"""

_SCRIPT = _COMMON + r"""
lock="$dir/$2.lock"
flock -n "$lock" true 2>/dev/null || ask_owner "$2"  # taken: a caller that keeps it lets go
exec flock -w "$1" "$lock" sh -c '
n=$(cat "$0" 2>/dev/null); case $n in ""|*[!0-9]*) n=0 ;; esac
echo $((n + 1)) >"$0"; echo LOCKED; exec cat >/dev/null' "$lock"
"""


# The bash holder of bridge.tmux.lock.LockServer: one line per request, "L id key" (take),
# "U id" (drop), "K id" (kept: no answer), "R id" (resume a kept one: OK, or GONE if let go).
# On SIGUSR1 it drops every kept lock itself, then says WANT: a caller that is stopped or hung
# never holds up another with a lock it only kept.
SERVER = "exec 2>/dev/null\n" + _COMMON + r"""
declare -A held kept
let_go() {
  local id f
  for id in "${!kept[@]}"; do
    f=${held[$id]}; [ -n "$f" ] && exec {f}>&-
    unset "held[$id]" "kept[$id]"
  done
  echo WANT
}
trap let_go USR1
echo READY
while :; do
  IFS=' ' read -r op id key; rc=$?
  [ $rc -gt 128 ] && continue  # a read cut short by the trap (bash 5 restarts it itself)
  [ $rc -ne 0 ] && break
  case "$op" in
    L) if exec {fd}>>"$dir/$key.lock"; then
         if flock -n "$fd"; then
           held[$id]=$fd; n=; read -r n <"$dir/$key.lock"; [[ $n =~ ^[0-9]{1,15}$ ]] || n=0
           n=$((n + 1)); echo "$n" >"$dir/$key.lock"; echo $$ >"$dir/$key.owner"; echo "$id OK $n"
         else
           exec {fd}>&-; ask_owner "$key"; echo "$id BUSY"
         fi
       else echo "$id ERR"; fi ;;
    U) fd="${held[$id]}"
       if [ -n "$fd" ]; then exec {fd}>&-; unset "held[$id]"; fi
       unset "kept[$id]"; echo "$id OK" ;;
    K) [ -n "${held[$id]}" ] && kept[$id]=1 ;;
    R) if [ -n "${kept[$id]}" ]; then unset "kept[$id]"; echo "$id OK"; else echo "$id GONE"; fi ;;
  esac
done
"""


def busy(agent: str, timeout: float, host: str) -> AgentNotReadyError:
    return AgentNotReadyError(
        f"{agent} is in use by another caller (waited {timeout:g}s)",
        hint="try again later, or raise --timeout to wait longer",
        state="locked",
        host=host,
    )


@contextlib.asynccontextmanager
async def pane_lock(
    transport: Transport, key: str, *, timeout: float, agent: str = "agent"
) -> AsyncIterator[None]:
    """Hold the lock named ``key`` on the transport's host; wait at most ``timeout`` seconds."""
    # Over SSH each held lock keeps a channel open: stay within the connection's lock budget.
    budget = getattr(transport, "lock_channels", None) or contextlib.nullcontext()
    async with budget, _holding(transport, key, timeout, agent):
        yield


@contextlib.asynccontextmanager
async def _holding(transport: Transport, key: str, timeout: float, agent: str) -> AsyncIterator[None]:
    wait_s = max(int(timeout + 0.999), 0)
    held = await transport.open_process(["sh", "-c", _SCRIPT, "sh", str(wait_s), key])
    try:
        line = await asyncio.wait_for(held.readline(), timeout + 10)
    except BaseException:
        held.close()
        raise
    if line.strip() != b"LOCKED":
        held.close()
        with contextlib.suppress(Exception):
            await held.wait_closed()
        raise_setup_failure(line, transport.host)
        raise busy(agent, timeout, transport.host)
    log.debug("locked %s on %s", key, transport.host)
    try:
        yield
    finally:
        held.close()
        with contextlib.suppress(Exception):
            await held.wait_closed()


def raise_setup_failure(line: bytes, host: str) -> None:
    """Raise what a holder's first line says is wrong on the host (nothing if it says nothing)."""
    if line.startswith(b"NOFLOCK"):
        raise BridgeError(
            f"cannot lock panes: flock is not installed on {host}",
            hint="install util-linux there (apt-get install util-linux)",
        )
    if line.startswith(b"NOLOCKDIR"):
        raise BridgeError(f"cannot lock panes on {host}: {line.decode(errors='replace').strip()}")
