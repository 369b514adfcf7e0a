"""``agent-bridge wg``: make and keep the WireGuard keys and configs for a hub (VPS) and its peers.

Errors are :mod:`bridge.errors` exceptions, reported like every command's (with ``--json``, as a
JSON object too). Configs (which hold private keys) go to stdout or to a file written 0600;
messages go to stderr; with ``--json`` the result is one JSON object. The work is
:mod:`bridge.wireguard`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bridge.cli.app import OPTS, app, command_group, emit, reported
from bridge.cli.params import JsonOpt
from bridge.errors import ConfigError

wg_app = command_group(
    "WireGuard for agent-bridge: one hub (your VPS) and its peers (laptop, phone, ...). "
    "`init` once, `add-peer NAME` per device, then install `render hub` on the VPS as "
    "/etc/wireguard/wg0.conf and `render NAME` (or its QR code) on the device. Keys stay in the "
    "state folder (mode 0700, files 0600).",
    no_args_is_help=True,
)
app.add_typer(wg_app, name="wg")


def default_state_dir() -> Path:
    """``$XDG_CONFIG_HOME/agent-bridge/wireguard`` or ``~/.config/agent-bridge/wireguard``.

    It does not follow ``$AGENT_BRIDGE_CONFIG``: a registry is often a file in a project or a
    repository (``hosts/vps.toml``), and private keys must not land next to it, nor move when
    another registry is picked. ``--state-dir`` chooses another folder.
    """
    from bridge.config.paths import config_dir  # lazy: `agent-bridge --help` stays fast

    return config_dir() / "wireguard"


StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Folder holding the WireGuard state (keys). Default: ~/.config/agent-bridge/wireguard "
        "($XDG_CONFIG_HOME/agent-bridge/wireguard if set), whatever registry is in use.",
        show_default=False,
    ),
]
QrOpt = Annotated[bool, typer.Option("--qr", help="Print the config as a QR code (for a phone).")]
QrPngOpt = Annotated[
    Path | None,
    typer.Option("--qr-png", help="Also write the QR code to this PNG file (mode 0600).", show_default=False),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write the config to this file (mode 0600) instead of stdout.",
        show_default=False,
    ),
]
UPDATE_HUB = "Update the hub: `agent-bridge wg render hub`."
NameArg = Annotated[str, typer.Argument(help="Peer name, e.g. laptop or phone.", show_default=False)]


def _dir(state_dir: Path | None) -> Path:
    return state_dir if state_dir is not None else default_state_dir()


def _say(text: str, as_json: bool) -> None:
    """A message for the person at the terminal (on stderr; none with ``--json``)."""
    if not (as_json or OPTS.json):
        typer.echo(text, err=True)


@wg_app.command()
def init(
    endpoint: Annotated[
        str,
        typer.Option(
            help="Where peers reach the hub: its public HOST:PORT, e.g. vps.example.org:51820.",
            show_default=False,
        ),
    ],
    subnet: Annotated[
        str,
        typer.Option(help="Tunnel subnet in CIDR form; the hub gets its first address.", show_default=True),
    ] = "10.77.0.0/24",
    listen_port: Annotated[
        int | None,
        typer.Option(help="UDP port the hub listens on. Default: the endpoint's port.", show_default=False),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing state, throwing away every key.")
    ] = False,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the hub: its keys, tunnel address, endpoint and listen port."""
    from bridge import wireguard as wg  # lazy: `agent-bridge --help` stays fast

    folder = _dir(state_dir)
    with reported(as_json):
        state = wg.init_hub(folder, endpoint, subnet, listen_port, force=force)
    _say(
        f"WireGuard hub created in {folder}: {state.hub.address} in {state.hub.subnet}, "
        f"listening on {state.hub.listen_port}/udp, reached at {state.hub.endpoint}.",
        as_json,
    )
    _say("Next: `agent-bridge wg add-peer NAME` for each device, then `agent-bridge wg render hub`.", as_json)
    emit({"state_dir": str(folder), **state.public()}, None, as_json)


@wg_app.command("add-peer")
def add_peer(
    name: NameArg,
    qr: QrOpt = False,
    qr_png: QrPngOpt = None,
    output: OutputOpt = None,
    keepalive: Annotated[
        bool,
        typer.Option(help="Send a keepalive every 25 s (keeps NAT mappings open)."),
    ] = True,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a peer at the next free tunnel address and print its wg-quick config (or QR code).

    The config holds the peer's private key: write it with `-o FILE` (mode 0600), not with `>`.
    The hub's config changes too: re-render it with `agent-bridge wg render hub` and reload the
    hub (`wg syncconf wg0 <(wg-quick strip wg0)`).
    """
    from bridge import wireguard as wg  # lazy: `agent-bridge --help` stays fast

    folder = _dir(state_dir)
    with reported(as_json):
        _can_deliver(qr, qr_png, output)  # before the peer is added: a retry must not find it there
        peer = wg.add_peer(folder, name, keepalive=keepalive)
        _say(f"Added peer {peer.name} at {peer.address}. {UPDATE_HUB}", as_json)
        facts = {"peer": peer.name, "address": peer.address, "public_key": peer.public_key}
        _deliver(wg.render(folder, name), facts, qr=qr, qr_png=qr_png, output=output, as_json=as_json)


@wg_app.command()
def show(state_dir: StateDirOpt = None, as_json: JsonOpt = False) -> None:
    """Show the hub and its peers (addresses and public keys; no secrets)."""
    from bridge import wireguard as wg  # lazy: `agent-bridge --help` stays fast

    with reported(as_json):
        state = wg.show(_dir(state_dir))
    emit(state.public(), state.describe(), as_json)


@wg_app.command("remove-peer")
def remove_peer(name: NameArg, state_dir: StateDirOpt = None, as_json: JsonOpt = False) -> None:
    """Remove a peer; its address becomes free. Re-render and reload the hub afterwards."""
    from bridge import wireguard as wg  # lazy: `agent-bridge --help` stays fast

    with reported(as_json):
        peer = wg.remove_peer(_dir(state_dir), name)
    _say(f"Removed peer {peer.name} ({peer.address}). {UPDATE_HUB}", as_json)
    emit({"removed": peer.name, "address": peer.address}, None, as_json)


@wg_app.command()
def render(
    name: Annotated[
        str, typer.Argument(help="`hub`, a peer name, or `cloud-init`.", show_default=False)
    ],
    output: OutputOpt = None,
    qr: QrOpt = False,
    qr_png: QrPngOpt = None,
    ssh_key: Annotated[
        str | None,
        typer.Option(
            "--ssh-key", help="cloud-init: the public key (or a .pub file) that may log in as `agents`.",
            show_default=False,
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="cloud-init: where the VPS installs agent-bridge from (git+https://...).",
            show_default=False,
        ),
    ] = None,
    state_dir: StateDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the wg-quick config of the hub or of a peer (it holds that side's private key), or
    write it to a file (`-o`, mode 0600), or show it as a QR code (`--qr`, for a phone).

    `render cloud-init` prints the VPS's cloud-init user data (deploy/cloud-init/user-data.yaml
    with this hub's keys, tunnel address and port: sshd listens and the lock-down checks on
    that address). Add the peers first: the hub's config inside lists those known now.
    """
    from bridge import wireguard as wg  # lazy: `agent-bridge --help` stays fast

    with reported(as_json):
        _can_deliver(qr, qr_png, output)
        if name == wg.CLOUD_INIT:
            config = wg.cloud_init(_dir(state_dir), ssh_key=_public_key(ssh_key), source=source)
        else:
            config = wg.render(_dir(state_dir), name)
        _deliver(config, {"name": name}, qr=qr, qr_png=qr_png, output=output, as_json=as_json)


def _public_key(value: str | None) -> str | None:
    """``--ssh-key``: a public key line, or a file holding one (e.g. ~/.ssh/id_ed25519.pub)."""
    if value is None or value.startswith(("ssh-", "ecdsa-", "sk-")):
        return value
    path = Path(value).expanduser()
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the SSH key {path}: {exc.strerror}",
                          hint="give a .pub file or the key line itself") from None  # fmt: skip


def _can_deliver(qr: bool, qr_png: Path | None, output: Path | None) -> None:
    """Raise unless the config can be delivered as asked (the ``qr`` extra, the output folder)."""
    from bridge import wireguard as wg  # lazy: see render

    if qr or qr_png is not None:
        wg.require_qr(png=qr_png is not None)
    for path in (output, qr_png):
        if path is not None and not path.expanduser().parent.is_dir():
            raise ConfigError(f"cannot write {path}: no folder {path.expanduser().parent}",
                              hint="create the folder first")  # fmt: skip


def _deliver(
    config: str,
    facts: dict[str, Any],
    *,
    qr: bool,
    qr_png: Path | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Hand a config over: to ``output`` and/or a QR PNG (both 0600), as a QR code on stdout, as
    JSON (``facts`` plus the config or where it went), or as text on stdout (when nothing else
    was asked)."""
    from bridge import wireguard as wg  # lazy: see render

    data = dict(facts)
    if output is not None:
        wg.write_private(output.expanduser(), config)
        data["written"] = str(output)
        _say(f"Wrote {output} (mode 0600: it holds the private key).", as_json)
    if qr_png is not None:
        data["qr_png"] = str(wg.qr_png(config, qr_png))
        _say(f"QR code written to {qr_png} (mode 0600: it holds the private key).", as_json)
    if as_json or OPTS.json:
        emit(data if output is not None else {**data, "config": config}, None, True)
    elif qr:
        typer.echo(wg.qr_text(config), nl=False)
    elif output is None and qr_png is None:
        typer.echo(config, nl=False)
