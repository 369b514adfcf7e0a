"""The WireGuard state of one hub and its peers: one file, ``<state_dir>/state.json`` (mode 0600,
folder 0700), which holds private keys and is refused when group or others can read it; and the
actions that change it (init the hub, add and remove peers).

One *hub* (the VPS) and any number of *peers* (laptop, phone, ...) share one tunnel subnet. The hub
gets the subnet's first address, each peer the next free one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bridge.config.paths import not_private
from bridge.errors import ConfigError
from bridge.wireguard.keys import decode_key, generate_preshared_key, generate_private_key, public_key

STATE_FILE = "state.json"
STATE_VERSION = 1
HUB = "hub"
CLOUD_INIT = "cloud-init"  # `wg render cloud-init`: the VPS's user data, not a peer
KEEPALIVE_SECONDS = 25
DEFAULT_PORT = 51820

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# ---------------------------------------------------------------------------------------- validation


def validate_name(name: str) -> str:
    """A peer name: 1-32 of letters, digits, ``_ . -``, starting with a letter or digit; not ``hub``
    or ``cloud-init`` (names `wg render` takes for other things)."""
    if not _NAME_RE.match(name):
        raise ConfigError(
            f"invalid peer name {name!r}",
            hint="use 1-32 letters, digits, '_', '.' or '-', starting with a letter or digit",
        )
    if name.lower() in (HUB, CLOUD_INIT):
        reserved = f"`wg render {name.lower()}`"
        raise ConfigError(f"peer name {name!r} is reserved ({reserved})", hint="pick another name")
    return name


def parse_subnet(subnet: str) -> IPNetwork:
    """A tunnel subnet in CIDR form with room for the hub and at least one peer."""
    try:
        net = ipaddress.ip_network(subnet.strip(), strict=True)
    except ValueError as exc:
        fix = ""
        with contextlib.suppress(ValueError):
            fix = f": did you mean {ipaddress.ip_network(subnet.strip(), strict=False)}?"
        raise ConfigError(
            f"invalid tunnel subnet {subnet!r}{fix}",
            hint="give a network in CIDR form with zero host bits, e.g. 10.77.0.0/24",
        ) from exc
    if net.num_addresses < 4:
        raise ConfigError(
            f"tunnel subnet {subnet} is too small",
            hint="use a prefix of /30 or shorter (/24 is typical)",
        )
    return net


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as (host, port)."""
    text = endpoint.strip()
    hint = "give the hub's public address as HOST:PORT, e.g. vps.example.org:51820 or [2001:db8::1]:51820"
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]]+):(\d{1,5})", text)
    if not match:
        raise ConfigError(f"invalid endpoint {endpoint!r}", hint=hint)
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 1 <= port <= 65535:
        raise ConfigError(f"invalid endpoint {endpoint!r}: port {port} is not in 1-65535", hint=hint)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if match.group(1) and not isinstance(ip, ipaddress.IPv6Address):
        raise ConfigError(f"invalid endpoint {endpoint!r}: {host!r} is not an IPv6 address", hint=hint)
    if ip is None and not _HOST_RE.match(host):
        raise ConfigError(f"invalid endpoint {endpoint!r}: {host!r} is not a host name", hint=hint)
    return host, port


def _check_port(port: int, what: str = "listen port") -> int:
    if not 1 <= port <= 65535:
        raise ConfigError(f"invalid {what} {port}", hint="use a UDP port in 1-65535, e.g. 51820")
    return port


# --------------------------------------------------------------------------------------------- state


def _valid_key(value: str) -> str:
    try:
        decode_key(value)
    except ConfigError:
        raise ValueError("not a WireGuard key (base64 of 32 bytes)") from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hub(_Model):
    """The hub (the VPS): it listens on ``listen_port`` and is reached at ``endpoint``."""

    endpoint: str
    subnet: str
    listen_port: int
    address: str
    private_key: str
    public_key: str

    @field_validator("private_key", "public_key")
    @classmethod
    def _key(cls, value: str) -> str:
        return _valid_key(value)


class Peer(_Model):
    """One peer of the hub: its tunnel address, keys, and whether it sends keepalives."""

    name: str
    address: str
    private_key: str
    public_key: str
    preshared_key: str
    keepalive: int | None = KEEPALIVE_SECONDS

    @field_validator("private_key", "public_key", "preshared_key")
    @classmethod
    def _key(cls, value: str) -> str:
        return _valid_key(value)


class State(_Model):
    """Everything ``state.json`` holds."""

    version: int = STATE_VERSION
    hub: Hub
    peers: tuple[Peer, ...] = ()

    def peer(self, name: str) -> Peer:
        for peer in self.peers:
            if peer.name == name:
                return peer
        known = ", ".join(p.name for p in self.peers) or "none yet"
        raise ConfigError(
            f"no WireGuard peer named {name!r} (peers: {known})",
            hint="see `agent-bridge wg show`, or add it with `agent-bridge wg add-peer NAME`",
        )

    def public(self) -> dict[str, Any]:
        """The state without private or preshared keys (``wg show --json``)."""
        return {
            "hub": self.hub.model_dump(exclude={"private_key"}),
            "peers": [p.model_dump(exclude={"private_key", "preshared_key"}) for p in self.peers],
        }

    def describe(self) -> str:
        """A human summary without private or preshared keys."""
        hub = self.hub
        lines = [
            f"hub     {hub.address:<16} endpoint {hub.endpoint}  listen {hub.listen_port}/udp  "
            f"subnet {hub.subnet}",
            f"        public key {hub.public_key}",
        ]
        for peer in self.peers:
            keepalive = f"keepalive {peer.keepalive}s" if peer.keepalive else "no keepalive"
            lines.append(f"{peer.name:<7} {peer.address:<16} {keepalive}  public key {peer.public_key}")
        if not self.peers:
            lines.append("(no peers yet: `agent-bridge wg add-peer NAME`)")
        return "\n".join(lines)


def state_path(state_dir: str | os.PathLike[str]) -> Path:
    return Path(state_dir).expanduser() / STATE_FILE


def check_private_file(path: Path) -> None:
    """Refuse a secret file that group or others may read or write."""
    info = path.stat()
    if not_private(info):
        mode = stat.S_IMODE(info.st_mode)
        raise ConfigError(
            f"{path} holds private keys but is accessible by group/others (mode {mode:04o})",
            hint=f"run `chmod 600 {path}`",
        )


def load(state_dir: str | os.PathLike[str]) -> State:
    """Read and validate the state; ConfigError if it is missing, unsafe or invalid."""
    path = state_path(state_dir)
    if not path.is_file():
        raise ConfigError(
            f"no WireGuard state in {path.parent}",
            hint="create it with `agent-bridge wg init --endpoint HOST:PORT --subnet CIDR`",
        )
    check_private_file(path)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        state = State.model_validate(data)
    except (ValueError, ValidationError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise ConfigError(
            f"{path} is not a valid WireGuard state file: {first}",
            hint="restore it from a backup or re-create it with `agent-bridge wg init --force`",
        ) from exc
    if state.version != STATE_VERSION:
        raise ConfigError(f"{path} has unsupported version {state.version}", hint="upgrade agent-bridge")
    return state


def write_private(path: Path, text: str | bytes) -> None:
    """Write a secret file atomically with mode 0600."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path}: {exc.strerror}", hint="check the folder exists and is yours"
        ) from exc
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(state_dir: str | os.PathLike[str], state: State) -> Path:
    """Write the state (folder 0700 if we create it, file 0600); returns the file path."""
    path = state_path(state_dir)
    if not path.parent.exists():
        try:
            path.parent.mkdir(parents=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(
                f"cannot create {path.parent}: {exc.strerror}", hint="pick another --state-dir"
            ) from exc
        os.chmod(path.parent, 0o700)  # mkdir's mode is masked by the umask
    write_private(path, state.model_dump_json(indent=2) + "\n")
    return path


# ------------------------------------------------------------------------------------------- actions


def init_hub(
    state_dir: str | os.PathLike[str],
    endpoint: str,
    subnet: str,
    listen_port: int | None = None,
    *,
    force: bool = False,
) -> State:
    """Create the hub: new keys, its address (the subnet's first), endpoint and listen port.

    ``listen_port`` defaults to the endpoint's port. Refuses to overwrite existing state unless
    ``force`` (which throws away every key).
    """
    _, port = parse_endpoint(endpoint)
    net = parse_subnet(subnet)
    listen = _check_port(port if listen_port is None else listen_port)
    path = state_path(state_dir)
    if path.exists() and not force:
        raise ConfigError(
            f"WireGuard state already exists: {path}",
            hint="use it as is, pick another --state-dir, or pass --force to replace every key",
        )
    private = generate_private_key()
    hub = Hub(
        endpoint=endpoint.strip(),
        subnet=str(net),
        listen_port=listen,
        address=str(next(net.hosts())),
        private_key=private,
        public_key=public_key(private),
    )
    state = State(hub=hub)
    save(state_dir, state)
    return state


def _next_address(state: State) -> str:
    net = parse_subnet(state.hub.subnet)
    used = {state.hub.address, *(p.address for p in state.peers)}
    for host in net.hosts():
        if str(host) not in used:
            return str(host)
    raise ConfigError(
        f"tunnel subnet {net} is full ({len(used) - 1} peers)",
        hint="remove a peer with `agent-bridge wg remove-peer NAME`, or re-init with a larger subnet",
    )


def add_peer(state_dir: str | os.PathLike[str], name: str, keepalive: bool = True) -> Peer:
    """Add a peer with new keys and a new preshared key at the next free address in the subnet."""
    validate_name(name)
    state = load(state_dir)
    if any(p.name == name for p in state.peers):
        raise ConfigError(
            f"WireGuard peer {name!r} already exists",
            hint=f"pick another name, or `agent-bridge wg remove-peer {name}` first",
        )
    private = generate_private_key()
    peer = Peer(
        name=name,
        address=_next_address(state),
        private_key=private,
        public_key=public_key(private),
        preshared_key=generate_preshared_key(),
        keepalive=KEEPALIVE_SECONDS if keepalive else None,
    )
    save(state_dir, state.model_copy(update={"peers": (*state.peers, peer)}))
    return peer


def remove_peer(state_dir: str | os.PathLike[str], name: str) -> Peer:
    """Remove a peer (its address becomes free again); returns what was removed."""
    state = load(state_dir)
    peer = state.peer(name)
    save(state_dir, state.model_copy(update={"peers": tuple(p for p in state.peers if p.name != name)}))
    return peer


def show(state_dir: str | os.PathLike[str]) -> State:
    """The current state (``State.describe()`` gives a summary without secrets)."""
    return load(state_dir)
