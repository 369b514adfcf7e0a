"""Typed tmux commands over any :class:`~bridge.transport.base.Transport`.

Every call goes through :meth:`Tmux.run`, the one runner, which logs the argv (``shlex.join``) at
debug level and sends it over the control link (:mod:`.link`) when it may, else as its own exec.
Panes are addressed by their stable ``%id``; :meth:`Tmux.resolve` turns a ``session:window.pane``
target into one (:mod:`.facts`). Text is typed exactly: :meth:`Tmux.paste` sends it on stdin to
``load-buffer`` and pastes it with ``paste-buffer -p`` (bracketed paste) in the same tmux
invocation, or, over a control channel, as quoted ``set-buffer`` lines and ``paste-buffer -p``
written at once (:mod:`.paste`). A failure is mapped by :func:`bridge.tmux.failures.failure`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shlex
import uuid
from collections.abc import Mapping, Sequence

from bridge.config.models import Target
from bridge.errors import BridgeError, CommandError, HostUnreachableError, TargetNotFoundError
from bridge.tmux.changes import Answered, Stamp
from bridge.tmux.channel import ControlChannel
from bridge.tmux.facts import END, FACTS_FORMAT, PaneFacts, mismatch, parse_facts, same_as
from bridge.tmux.failures import failure
from bridge.tmux.link import ControlLink
from bridge.tmux.paste import paste_buffer, paste_via_control, refused_if_changed
from bridge.tmux.protocol import Chain
from bridge.tmux.quoting import escape_literal, unescape
from bridge.transport.base import Completed, Transport

log = logging.getLogger("bridge.tmux")  # the name it always had (-v output, tests)

# What may go over a control channel: reading, typing, buffers. Everything else (creating
# sessions, respawning, -V, stdin) keeps its own exec, and so does all of it without a channel.
_CONTROL_OK = frozenset(
    {"display-message", "capture-pane", "send-keys", "list-panes", "has-session",
     "set-buffer", "paste-buffer", "delete-buffer"}
)  # fmt: skip
# Of those, what is safe to send again when the channel died before answering.
_READ_ONLY = frozenset({"display-message", "capture-pane", "list-panes", "has-session"})


class Tmux:
    """tmux on one host (``socket`` is ``tmux -S``; ``None`` is the user's default server).

    With a ``control`` link (:class:`bridge.tmux.link.ControlLink`, one tmux control-mode client
    attached to the agent's session) reads and keystrokes are one line each on that long-lived
    channel (one round trip, no new SSH channel, no tmux client start), and :meth:`wait_change`
    wakes on the pane's ``%output``. Without one, or while it cannot start, every command is its own
    exec and waiting is polling.
    """

    def __init__(
        self, transport: Transport, socket: str | None = None, *, control: ControlLink | None = None
    ) -> None:
        self.transport = transport
        self.socket = socket
        self.control = control

    @property
    def host(self) -> str:
        return self.transport.host

    def argv(self, *args: str) -> list[str]:
        """The full tmux argv for ``args`` (with ``-S`` when a socket is set)."""
        # -u: UTF-8 output even where the remote login has no UTF-8 locale (else tmux prints "_").
        base = ["tmux", "-u"] if self.socket is None else ["tmux", "-u", "-S", self.socket]
        return [*base, *args]

    async def run(
        self,
        *args: str,
        stdin: bytes | str | None = None,
        check: bool = True,
        target: str | None = None,
    ) -> Completed:
        """Run one tmux command line; raise on failure unless ``check`` is false.

        A failure that says the target or server is missing becomes
        :class:`TargetNotFoundError` (exit 4); any other is :class:`CommandError`.
        """
        argv = self.argv(*args)
        commands = _split(args)
        channel = None
        if stdin is None and all(c and c[0] in _CONTROL_OK for c in commands):
            channel = await self._channel()
        if channel is not None:
            log.debug("tmux on %s (control): %s", self.host, shlex.join(argv))
            try:
                result = await self._run_control(channel, argv, commands)
            except HostUnreachableError:
                if not all(c[0] in _READ_ONLY for c in commands):
                    raise  # it may have run: the caller decides by looking (exactly once)
                # A warm channel found dead: a look is safe to repeat, on a fresh channel (which
                # reconnects) or, if control mode cannot start now, by exec.
                log.info("tmux on %s: control channel lost; looking again", self.host)
                channel = await self._channel()
                if channel is None:
                    result = await self.transport.run(argv, stdin)
                else:
                    result = await self._run_control(channel, argv, commands)
        else:
            log.debug("tmux on %s: %s", self.host, shlex.join(argv))
            result = await self.transport.run(argv, stdin)
        if check and not result.ok:
            self._raise(result, target)
        return result

    async def _channel(self) -> ControlChannel | None:
        return None if self.control is None else await self.control.channel()

    async def _run_control(
        self, channel: ControlChannel, argv: list[str], commands: list[list[str]]
    ) -> Completed:
        """``a ; b`` as one line (a :class:`~bridge.tmux.protocol.Chain`): one round trip, and tmux
        skips the rest after a failure, exactly as with exec."""
        timeout = self.control.timeout if self.control is not None else None
        if timeout is not None and any("-S" in c for c in commands):
            timeout *= 3  # scrollback can be megabytes
        line = commands[0] if len(commands) == 1 else Chain(tuple(tuple(c) for c in commands))
        (result,) = await channel.commands([line], timeout=timeout)
        return dataclasses.replace(result, argv=tuple(argv))

    def _raise(self, result: Completed, target: str | None) -> None:
        raise failure(self.host, result, target)

    # -- facts ------------------------------------------------------------------------------

    async def version(self) -> str:
        """``tmux -V`` on the host, e.g. ``tmux 3.3a``."""
        return (await self.run("-V")).stdout.strip()

    async def probe(self) -> PaneFacts:
        """Ask this host's tmux the bridge's own pane query on a throwaway server and check the
        answer reads back exactly (tmux 3.4 changed how names print): what ``doctor`` checks.

        Raises :class:`CommandError` when the answer does not read back.
        """
        server = f"agent-bridge-probe-{uuid.uuid4().hex[:8]}"
        window = "probe $ name\\"
        throwaway = Tmux(self.transport)  # -L names its own server; the runner adds no -S
        result = await throwaway.run(
            "-L", server, "-f", "/dev/null", "new-session", "-d", "-s", server,
            "-n", window, "-x", "81", "-y", "11", "sleep 30",
            ";", "display-message", "-p", "-t", f"={server}:", FACTS_FORMAT, ";", "kill-server",
        )  # fmt: skip
        try:
            facts = parse_facts(result.stdout, server, self.host)
        except TargetNotFoundError:
            facts = None
        if facts is None or (facts.session, facts.window_name, facts.width) != (server, window, 81):
            raise CommandError(
                f"{await self.version()} on {self.host} answered agent-bridge's pane query with "
                f"{result.stdout.strip()[:120]!r}, which does not read back",
                hint="report this tmux version at the agent-bridge issue tracker",
                argv=list(result.argv),
                exit_status=result.exit_status,
                stderr=result.stderr,
                host=self.host,
            )
        return facts

    async def facts(self, target: str) -> PaneFacts:
        """All :class:`PaneFacts` of ``target`` (a ``%id`` or ``session:window.pane``) at once."""
        out = (await self.run("display-message", "-p", "-t", target, FACTS_FORMAT, target=target)).stdout
        return parse_facts(out, target, self.host)

    async def observe(self, pane: str, *, history: int = 0) -> tuple[PaneFacts, str, Stamp | None]:
        """Pane facts and the captured screen (with SGR) in ONE tmux invocation.

        The :class:`~bridge.tmux.changes.Stamp` (over a control channel, else ``None``) tells later
        whether the pane changed since this look.
        """
        args = ["display-message", "-p", "-t", pane, FACTS_FORMAT]
        args += [";", "capture-pane", "-p", "-e", "-J", "-t", pane]
        if history > 0:
            args += ["-S", str(-history)]
        result = await self.run(*args, target=pane)
        # The record ends at its end mark, not at the first newline: a value may hold one.
        first, found, screen = result.stdout.partition(END + "\n")
        if not found:
            first, _, screen = result.stdout.partition("\n")
        stamp = result.stamp if isinstance(result, Answered) else None  # over control mode only
        return parse_facts(first, pane, self.host), screen, stamp

    async def resolve(self, target: str) -> str:
        """The stable ``%id`` of the pane ``target`` names (exactly that pane, never a guess)."""
        return (await self.resolve_facts(target)).pane_id

    async def resolve_facts(self, target: str) -> PaneFacts:
        """:meth:`resolve`, returning all the pane's facts from that same look."""
        if target.startswith("%"):
            return await self.facts(target)
        facts = await self.facts(target)
        missing = mismatch(target, facts)
        if missing is not None:
            raise TargetNotFoundError(
                f"tmux target {target} not found on {self.host}: {missing}",
                hint="check the agent's target in the registry, or run: agent-bridge start AGENT",
                host=self.host,
                target=target,
            )
        return facts

    # -- typing -----------------------------------------------------------------------------

    async def paste(
        self,
        pane: str,
        text: bytes | str,
        *,
        then: Sequence[str] = (),
        unless_changed: PaneFacts | None = None,
    ) -> None:
        """Type ``text`` exactly into ``pane`` as one bracketed paste (one round trip).

        The text travels on stdin to ``load-buffer`` under a unique buffer name, then
        ``paste-buffer -p -r -d`` pastes it with bracketed-paste markers (when the program asked
        for them), keeps LF as LF, and deletes the buffer. ``then``: keys pressed right after in
        the same tmux command list (only if the paste worked), e.g. ``["Enter"]``.

        ``unless_changed``: the facts of the last look; tmux itself checks, when the paste is due,
        that the pane still has them (:func:`~bridge.tmux.facts.same_as`), and otherwise types nothing and
        :class:`~bridge.errors.PaneChangedError` is raised.
        """
        text_str = text if isinstance(text, str) else text.decode("utf-8", errors="surrogateescape")
        only_if = None if unless_changed is None else same_as(unless_changed)
        channel = await self._channel() if "\x00" not in text_str else None
        if channel is not None:
            log.debug("tmux on %s (control): paste %d characters into %s", self.host, len(text_str), pane)
            await paste_via_control(channel, pane, text_str, then=then, only_if=only_if)
            return
        name = f"agent-bridge-{uuid.uuid4().hex[:12]}"
        typing = paste_buffer(name, pane, then=then, only_if=only_if).args
        try:
            result = await self.run("load-buffer", "-b", name, "-", ";", *typing, stdin=text, target=pane)
        except BridgeError:
            await self.run("delete-buffer", "-b", name, check=False)  # loaded, never pasted
            raise
        refused_if_changed(result, host=self.host, pane=pane)

    async def type_literal(self, pane: str, text: str) -> None:
        """Type short ``text`` as literal keys (``send-keys -l``), safe with a trailing ``;``."""
        await self.run("send-keys", "-t", pane, "-l", "--", escape_literal(text), target=pane)

    async def keys(self, pane: str, keys: Sequence[str]) -> None:
        """Press tmux key names (``Enter``, ``Down``, ``Escape``, ``C-c``) in order."""
        if keys:
            await self.run("send-keys", "-t", pane, *keys, target=pane)

    async def wait_change(self, pane: str, timeout: float) -> bool:
        """Wait up to ``timeout`` s for ``pane`` to write something (tmux's ``%output``).

        True when tmux's events were used (woken by output, or nothing came); False when there are
        none here and this merely slept (the caller then polls).
        """
        watcher = None
        if self.control is not None:
            try:
                watcher = await self.control.watcher(pane)
            except (HostUnreachableError, TargetNotFoundError):
                watcher = None  # the next observation reconnects or says what is wrong
        if watcher is None:
            await asyncio.sleep(timeout)
            return False
        try:
            await watcher.changed(timeout)
        except BridgeError:
            await asyncio.sleep(timeout)  # the channel closed; the next command reopens it
            return False
        return True

    # -- reading ----------------------------------------------------------------------------

    async def capture(
        self, pane: str, *, ansi: bool = True, history: int = 0, join: bool = True
    ) -> str:
        """The pane's text (``capture-pane -p``), with SGR attributes when ``ansi``.

        ``history`` adds that many lines of scrollback above the visible screen; ``join`` joins
        lines tmux wrapped (``-J``).
        """
        args = ["capture-pane", "-p", "-t", pane]
        if ansi:
            args.append("-e")
        if join:
            args.append("-J")
        if history > 0:
            args += ["-S", str(-history)]
        return (await self.run(*args, target=pane)).stdout

    # -- creating ---------------------------------------------------------------------------

    async def _has_window(self, session: str, window: str) -> bool:
        """Whether ``session`` has a window with this index or name, exactly (``display-message``
        falls back to the current window when the one named is missing)."""
        listed = await self.run("list-windows", "-t", f"={session}", "-F", "#{window_index} #{q:window_name}")
        return any(window in (index, unescape(name)) for index, _, name in
                   (line.partition(" ") for line in listed.stdout.splitlines()))  # fmt: skip

    async def has_session(self, session: str) -> bool:
        result = await self.run("has-session", "-t", f"={session}", check=False)
        return result.ok

    async def ensure_pane(
        self, target: str, *, cwd: str | None = None, width: int = 200, height: int = 50,
        env: Mapping[str, str] | None = None,
    ) -> tuple[str, bool]:
        """Make sure ``target`` exists (session, window, pane) with a shell in it.

        Returns ``(pane_id, created)``. An existing pane is left alone. ``env`` is set in a new
        pane's environment (``-e``: never typed, so never shown on the screen).
        """
        parsed = Target.parse(target)
        cwd_args = ["-c", cwd] if cwd else []
        cwd_args += [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        fmt = ["-P", "-F", "#{pane_id}"]
        if not await self.has_session(parsed.session):
            args = ["new-session", "-d", "-s", parsed.session, "-x", str(width), "-y", str(height)]
            if parsed.window and not parsed.window.isdigit():
                args += ["-n", parsed.window]
            result = await self.run(*args, *cwd_args, *fmt, target=target)
            return result.stdout.strip(), True
        try:
            return await self.resolve(target), False
        except TargetNotFoundError:
            pass
        window = f"{parsed.session}:{parsed.window}" if parsed.window else parsed.session
        if parsed.window is not None and await self._has_window(parsed.session, parsed.window):
            result = await self.run("split-window", "-d", "-t", window, *cwd_args, *fmt)
        else:
            args = ["new-window", "-d", "-t", f"{parsed.session}:"]
            if parsed.window and not parsed.window.isdigit():
                args += ["-n", parsed.window]
            elif parsed.window:
                args = ["new-window", "-d", "-t", f"{parsed.session}:{parsed.window}"]
            result = await self.run(*args, *cwd_args, *fmt, target=target)
        return result.stdout.strip(), True


def _split(args: Sequence[str]) -> list[list[str]]:
    """``a x ; b y`` -> ``[[a, x], [b, y]]`` (a lone ``;`` separates tmux commands)."""
    commands: list[list[str]] = [[]]
    for arg in args:
        if arg == ";":
            commands.append([])
        else:
            commands[-1].append(arg)
    return commands
