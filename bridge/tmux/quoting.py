"""Words for tmux's command parser, and reading what tmux prints back.

Facts verified on tmux 3.3a and 3.5a (see ``tests/integration/test_control.py``):

* Control mode (and ``source-file``) reads one command line at a time with the config-file
  grammar. :func:`quote` makes any text one double-quoted word. Inside double quotes ``$VAR`` and a
  *leading* ``~`` are still expanded, ``\\`` starts an escape (``\\u``, ``\\n``, ``\\NNN`` octal,
  unknown ``\\x`` -> ``x``); ``;``, ``#{...}``, ``#[...]``, ``{``, ``}``, ``%if`` and ``#`` are
  literal. NUL cannot be in a tmux argument at all; every other byte round-trips through ``\\NNN``.
* A bare word like ``%2:off`` is a syntax error (``%2`` alone parses); quoted it is literal.
* On tmux's own command line (the exec path), an argument that ends in ``;`` is a command
  separator unless a backslash comes before it (:func:`escape_literal`).
* Since tmux 3.4 every line a command prints (exec path and control mode alike) goes through
  vis(3) (``utf8_stravisx(VIS_OCTAL | VIS_CSTYLE | VIS_NOSLASH)``): control characters arrive as
  ``\\NNN`` (or ``\\r``, ...) while a backslash is NOT doubled, so a value is only unambiguous when
  the format doubled backslashes first: ``#{q:NAME}`` does (and escapes space, ``$`` and the
  shell's other specials). 3.3a prints the same ``#{q:NAME}`` raw. :func:`unescape` reads both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_COMMAND_NAME = re.compile(r"[a-z][a-z-]*")

_QUOTE_TABLE: dict[int, str] = {
    **{c: f"\\{c:03o}" for c in [*range(0x01, 0x20), 0x7F, ord("~")]},
    **{ord(c): "\\" + c for c in '\\"$'},
    **{c: f"\\{c - 0xDC00:03o}" for c in range(0xDC80, 0xDD00)},  # surrogateescape: the raw byte
}
_UNQUOTABLE = re.compile("[\x00\ud800-\udc7f\udd00-\udfff]")
_RARE = re.compile("[\x01-\x08\x0b-\x1f\x7f\udc80-\udcff]")  # all but \t and \n
_COMMON = (("\\", "\\\\"), ('"', '\\"'), ("$", "\\$"), ("~", "\\176"), ("\n", "\\012"),
           ("\t", "\\011"))  # fmt: skip


def quote(arg: str) -> str:
    """``arg`` as ONE word for tmux's command parser (control mode, ``source-file``), byte-exact.

    The word is double-quoted. ``\\``, ``"`` and ``$`` are backslash-escaped; ``~`` (expanded to
    $HOME at the start of a word, even quoted) and every C0 control character and DEL (a newline
    would end the command) become octal ``\\NNN``. Lone surrogates from
    ``surrogateescape``-decoded bytes become the original byte. NUL cannot be passed to tmux at all
    (its arguments are C strings), nor can other lone surrogates: :class:`ValueError`.
    """
    bad = _UNQUOTABLE.search(arg)
    if bad is not None:
        if bad.group() == "\x00":
            raise ValueError("a tmux argument cannot contain NUL")
        raise ValueError(f"a tmux argument cannot contain the lone surrogate U+{ord(bad.group()):04X}")
    if _RARE.search(arg):
        return '"' + arg.translate(_QUOTE_TABLE) + '"'
    for old, new in _COMMON:  # the same result, several times faster on big text
        arg = arg.replace(old, new)
    return '"' + arg + '"'


def command_line(args: Sequence[str]) -> bytes:
    """One control-mode line (with its newline) running ``args``: the name bare, the rest quoted."""
    if not args:
        raise ValueError("empty tmux command")
    name, rest = args[0], args[1:]
    words = [name if _COMMAND_NAME.fullmatch(name) else quote(name), *(quote(a) for a in rest)]
    return (" ".join(words) + "\n").encode("utf-8")


def escape_literal(text: str) -> str:
    """Make ``text`` safe as one ``send-keys -l`` argument.

    tmux treats an argument that ends in ``;`` as a command separator; a backslash before that
    final ``;`` keeps it literal (``a;`` -> ``a\\;``, and ``a\\;`` -> ``a\\\\;``).
    """
    return text[:-1] + "\\;" if text.endswith(";") else text


_ESCAPE = re.compile(r"\\([0-7]{3}|.)", re.DOTALL)
_CSTYLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "s": " "}


def unescape(word: str) -> str:
    """One ``#{q:…}`` value as tmux printed it (3.3a raw, 3.4+ vis-encoded) -> the value itself.

    ``\\NNN`` is a byte (runs of them are decoded as UTF-8, else kept as surrogate escapes),
    ``\\n``-style letters are vis's C escapes, and ``\\`` + anything else is that character.
    """
    if "\\" not in word:
        return word

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 3:
            byte = int(code, 8)
            return chr(byte) if byte < 0x80 else chr(0xDC00 + byte)
        return _CSTYLE.get(code, code)

    text = _ESCAPE.sub(one, word)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")


def words(text: str) -> list[str]:
    """Split ``q``-quoted words on their unescaped spaces (empty values are empty words)."""
    words, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == " ":
            words.append("".join(current))
            current = []
        else:
            current.append(char)
    words.append("".join(current))
    return words
