"""Menus and permission questions: move the highlight one key at a time (checking each move),
answer a permission question, switch the model through the agent's own ``/model`` menu.

Never press into an unrecognised screen: :class:`UnrecognisedScreenError` with the screen.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

from bridge.driver.observe import Observation, Observer
from bridge.errors import BridgeError, ConfigError, UnrecognisedScreenError
from bridge.profiles import MenuStep, PermissionAnswers, Profile
from bridge.reading import Menu, State, read_menu, read_permission
from bridge.reading.match import last_hit

log = logging.getLogger("bridge.driver")
CHOSEN_S = 15.0  # how long a menu may take to answer a choice (confirm, next menu, or done)

__all__ = ["answer_permission", "menu_index", "move_to", "open_menu", "option_index", "switch_model"]


# What ``yes`` / ``no`` / ``always`` choose when the profile's ``[permission.answers]`` does not say.
_DEFAULT_ANSWERS: dict[str, Callable[[str], bool]] = {
    "yes": lambda label: label.startswith("yes"),
    "no": lambda label: label.startswith("no"),
    "always": lambda label: "always" in label or "don't ask again" in label,
}


def option_index(labels: list[str], answer: str, answers: PermissionAnswers | None = None) -> int:
    """Index of the option ``answer`` names: a number; ``yes``, ``always`` or ``no`` (the first
    label starting with one of the profile's ``answers`` prefixes, case-insensitive, else the
    defaults: first "Yes…", "No…", one containing "always"/"don't ask again"); else a prefix."""
    wanted = answer.strip().lower()
    if wanted.isdigit() and 1 <= int(wanted) <= len(labels):
        return int(wanted) - 1
    prefixes = getattr(answers, wanted, None) if wanted in _DEFAULT_ANSWERS and answers else None
    if prefixes is not None:
        fits: Callable[[str], bool] = lambda label: label.startswith(tuple(p.lower() for p in prefixes))  # noqa: E731
    else:
        fits = _DEFAULT_ANSWERS.get(wanted, lambda label: label.startswith(wanted))
    for i, label in enumerate(labels):
        if fits(label.strip().lower()):
            return i
    listed = ", ".join(f"{i}. {label}" for i, label in enumerate(labels, 1))
    raise ConfigError(f"no option {answer!r} (options: {listed})", hint="answer yes, always, no, or a number")


def menu_index(menu: Menu, name: str) -> int:
    """Row of ``menu`` that ``name`` names: number, exact label, then a unique prefix/substring."""
    wanted = name.strip().lower()
    labels = [label.strip().lower() for label in menu.labels]
    if wanted.isdigit():
        for i, item in enumerate(menu.items):
            if item.number == int(wanted):
                return i
    for test in (
        lambda label: label == wanted,
        lambda label: label.startswith(wanted),
        lambda label: wanted in label,
    ):
        hits = [i for i, label in enumerate(labels) if test(label)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            break
    listed = ", ".join(f"{item.number}. {item.label}" for item in menu.items)
    raise ConfigError(f"no single menu row matches {name!r} (rows: {listed})",
                      hint="give the row number or more of its label")  # fmt: skip


def _highlight_of_menu(obs: Observation, profile: Profile) -> int | None:
    menu = read_menu(obs.snapshot, profile)
    return None if menu is None else menu.highlighted


def _highlight_of_permission(obs: Observation, profile: Profile) -> int | None:
    question = read_permission(obs.snapshot, profile)
    return None if question is None else question.highlighted


async def move_to(
    eyes: Observer, index: int, highlighted: Callable[[Observation], int | None]
) -> Observation:
    """Press Up/Down one key at a time until row ``index`` is highlighted, checking each move.

    After the last move, wait the profile's ``submit.gap_ms`` before returning: a list can draw
    its new highlight before it is ready for Enter (Qwen Code 0.15.10 drops an Enter that comes
    within a few milliseconds of the move, and its menu stays open)."""
    obs = await eyes.observe()
    current = highlighted(obs)
    if current is None:
        raise UnrecognisedScreenError(
            f"{eyes.agent}: no highlighted row on this screen; not pressing anything",
            screen=obs.text, state=obs.state.value, host=eyes.tmux.host, target=eyes.pane,
        )  # fmt: skip
    while current != index:
        key = "Down" if index > current else "Up"
        expected = current + (1 if key == "Down" else -1)
        await eyes.handle.keys([key])
        obs = await eyes.wait_for(
            lambda o, e=expected: highlighted(o) == e,  # type: ignore[misc]
            2.0, what=f"the highlight to move to row {expected + 1}",
        )  # fmt: skip
        current = expected
        if current == index:
            await asyncio.sleep(eyes.profile.submit.gap_ms / 1000)
    return obs


async def answer_permission(eyes: Observer, answer: str) -> Observation:
    """Choose an option of the pending permission question: ``yes``, ``always``, ``no`` or its
    number (see :func:`option_index`)."""
    obs = await eyes.observe()
    question = read_permission(obs.snapshot, eyes.profile) if obs.state is State.PERMISSION else None
    if question is None:
        raise eyes.not_ready(obs, "answer a permission question", wanted="asking for permission")
    answers = eyes.profile.permission.answers if eyes.profile.permission else None
    index = option_index(question.labels, answer, answers)
    await move_to(eyes, index, lambda o: _highlight_of_permission(o, eyes.profile))
    await eyes.handle.keys(["Enter"])
    return await eyes.wait_for(lambda o: o.state is not State.PERMISSION, 10.0, what="the answer to be taken")


async def open_menu(
    eyes: Observer, command: str, title: re.Pattern[str], timeout: float, *, first: Observation | None = None
) -> Observation:
    """Type a slash command (e.g. ``/model``) at an idle prompt and wait for its menu."""
    await eyes.require_idle(f"open {command}", first=first)
    await eyes.handle.type_literal(command)
    await asyncio.sleep(eyes.profile.submit.gap_ms / 1000)
    await eyes.handle.keys(["Enter"])

    def is_menu(o: Observation) -> bool:
        menu = read_menu(o.snapshot, eyes.profile)
        return menu is not None and bool(title.search(menu.title))

    return await eyes.wait_for(is_menu, timeout, what=f"the {command} menu")


def _same_menu(a: Menu | None, b: Menu | None) -> bool:
    return a is not None and b is not None and (a.title, a.labels) == (b.title, b.labels)


async def back_out(eyes: Observer, *, levels: int = 1, timeout: float = 5.0) -> None:
    """Close the menus this driver opened, ``levels`` deep: the profile's cancel key once per
    level, each only while a menu shows and after the previous press took effect (the menu
    changed or closed). A failure here is logged, never raised over the error that led here."""
    profile = eyes.profile
    cancel = profile.menu.cancel if profile.menu else "Escape"
    try:
        for _ in range(levels):
            obs = await eyes.observe()
            if obs.state is not State.MENU:
                return
            shown = read_menu(obs.snapshot, profile)

            def left(o: Observation, m: Menu | None = shown) -> bool:
                return o.state is not State.MENU or not _same_menu(read_menu(o.snapshot, profile), m)

            await eyes.handle.keys([cancel])
            await eyes.settle(await eyes.wait_for(left, timeout, what="the menu to close"))
        obs = await eyes.observe()
        if obs.state is State.MENU:
            log.warning("%s: a menu still shows after %d x %s", eyes.agent, levels, cancel)
    except BridgeError as exc:
        log.warning("%s: could not close the menu: %s", eyes.agent, exc)


async def _choose(eyes: Observer, menu: Menu, pick: str) -> str:
    """Highlight the row ``pick`` names in ``menu`` (each move checked) and press select."""
    index = menu_index(menu, pick)
    await move_to(eyes, index, lambda o: _highlight_of_menu(o, eyes.profile))
    await eyes.handle.keys([eyes.profile.menu.select if eyes.profile.menu else "Enter"])
    return menu.items[index].label


async def _settled_menu(eyes: Observer, obs: Observation, title: re.Pattern[str]) -> Menu:
    """The menu once the screen has stopped changing (a list may be drawn in pieces)."""
    settled = await eyes.settle(obs)
    menu = read_menu(settled.snapshot, eyes.profile)
    if menu is None or not title.search(menu.title):
        raise UnrecognisedScreenError(
            f"{eyes.agent}: the menu {title.pattern!r} did not stay open; not pressing anything",
            screen=settled.text, state=settled.state.value, host=eyes.tmux.host, target=eyes.pane,
        )  # fmt: skip
    return menu


async def _next_menu(eyes: Observer, after: Menu, title: re.Pattern[str], timeout: float) -> Menu:
    """Wait for the menu that follows ``after``: its title matches ``title`` and it is not
    ``after`` itself (two levels may share a title, as Gemini CLI's do)."""

    def opened(o: Observation) -> bool:
        m = read_menu(o.snapshot, eyes.profile)
        return m is not None and bool(title.search(m.title)) and not _same_menu(m, after)

    obs = await eyes.wait_for(opened, timeout, what=f"the menu {title.pattern!r}")
    return await _settled_menu(eyes, obs, title)


def shown_model(obs: Observation, profile: Profile) -> str | None:
    """The model the idle screen shows (the profile's ``model.current``), if it shows one."""
    marker = profile.model.current if profile.model else None
    if marker is None:
        return None
    found = last_hit(obs.snapshot, marker)
    return found.group("model").strip() if found else None


async def switch_model(eyes: Observer, name: str, *, timeout: float, save: bool = False) -> str:
    """Switch the agent's model through its own ``/model`` menu; return the confirmed name.

    ``name`` is a row number, a label, or a case-insensitive prefix of one. The profile's
    ``before`` menus are answered first (e.g. Gemini's Auto/Manual). Each key press is checked
    (the highlight moved) before the next; a confirmation question is answered; the profile's
    confirmation line must appear. For this session only where the CLI offers that (``save``
    makes it the default). Already on that model: nothing is switched (the screen or the menu
    says so) and its name is returned. On any failure the menus opened are closed again, one
    cancel key per level, so the agent is left as it was found.
    """
    profile = eyes.profile
    spec = profile.model
    if spec is None:
        raise UnrecognisedScreenError(f"{eyes.agent}: profile {profile.name} has no /model menu")
    idle = await eyes.require_idle("switch the model")
    current = shown_model(idle, profile)
    if current is not None and current.lower() == name.strip().lower() and not save:
        log.info("%s: already on %s", eyes.agent, current)
        return current
    steps: list[MenuStep] = list(spec.before)
    first = steps[0].title if steps else spec.title
    obs = await open_menu(eyes, spec.command, first, timeout, first=idle)
    menu = read_menu(obs.snapshot, profile)
    assert menu is not None
    depth = 1
    try:
        if steps:
            menu = await _settled_menu(eyes, obs, first)
        for i, step in enumerate(steps):
            await _choose(eyes, menu, step.pick)
            title = steps[i + 1].title if i + 1 < len(steps) else spec.title
            menu = await _next_menu(eyes, menu, title, timeout)
            depth += 1
        index = menu_index(menu, name)
        label = menu.items[index].label
        if menu.items[index].current and not save:
            log.info("%s: already on %s (marked current in the menu)", eyes.agent, label)
            await back_out(eyes, levels=depth)
            return label
        await move_to(eyes, index, lambda o: _highlight_of_menu(o, profile))
        return await _confirmed(eyes, label, timeout, save=save)
    except BridgeError:
        await back_out(eyes, levels=depth)  # leave the agent as it was, not in its menus
        raise


async def _confirmed(eyes: Observer, label: str, timeout: float, *, save: bool) -> str:
    """After the model row ``label`` was highlighted: press the key that chooses it (this
    session only unless ``save``), answer what follows, return the model set."""
    profile = eyes.profile
    spec = profile.model
    assert spec is not None
    select = profile.menu.select if profile.menu else "Enter"
    # The session key goes where the choice is made final: the last of next_titles' menus when
    # there are some (Codex's reasoning level), else the model menu itself (Claude's).
    final = spec.next_titles[-1] if spec.next_titles else None
    session = spec.session_key if spec.session_key and not save else select
    for key in spec.save_keys if save and final is None else []:
        await eyes.handle.keys([key])  # e.g. Gemini's Tab: remember the model
        await asyncio.sleep(profile.submit.gap_ms / 1000)
    await eyes.handle.keys([session if final is None else select])
    done_re = spec.confirmed
    confirm_re = spec.confirm_title

    def since_command(o: Observation) -> list[str]:
        # Old confirmation lines stay on screen: only look below the newest echo of the command.
        rows = [i for i, line in enumerate(o.snapshot.lines) if spec.command in line]
        return list(o.snapshot.lines[rows[-1] if rows else 0 :])

    def finished(o: Observation) -> bool:
        return o.state is State.IDLE and any(done_re.search(line) for line in since_command(o))

    def pending_menu(o: Observation) -> re.Pattern[str] | None:
        m = read_menu(o.snapshot, profile)
        if m is None:
            return None
        for pattern in ([confirm_re] if confirm_re else []) + list(spec.next_titles):
            if pattern.search(m.title):
                return pattern
        return None

    # A CLI answers a choice within seconds; one that refuses it (Qwen's discontinued row keeps
    # its menu open with an error) is given up on sooner than the whole timeout, and backed out of.
    after = await eyes.wait_for(
        lambda o: finished(o) or pending_menu(o) is not None, min(timeout, CHOSEN_S),
        what="the model to be set",
    )  # fmt: skip
    answered: set[str] = set()
    while not finished(after):
        pattern = pending_menu(after)
        if pattern is None or pattern.pattern in answered:
            raise UnrecognisedScreenError(
                f"{eyes.agent}: unexpected screen after choosing {label!r}; not pressing anything",
                screen=after.text, state=after.state.value, host=eyes.tmux.host, target=eyes.pane,
            )  # fmt: skip
        answered.add(pattern.pattern)
        if pattern is confirm_re:
            follow_up = read_menu(after.snapshot, profile)
            assert follow_up is not None
            yes = option_index(follow_up.labels, "yes")
            await move_to(eyes, yes, lambda o: _highlight_of_menu(o, profile))
        # A next menu (e.g. Codex's reasoning level): keep its highlighted default.
        await eyes.handle.keys([session if pattern is final else select])
        after = await eyes.wait_for(
            lambda o, seen=pattern: finished(o) or pending_menu(o) not in (None, seen),  # type: ignore[misc]
            timeout, what="the model switch to be confirmed",
        )  # fmt: skip
    for line in reversed(since_command(after)):
        m = done_re.search(line)
        if m:
            return m.group("model").strip()
    return label
