"""tmux's command-line grammar: one quoted word per argument, byte-exact; literal keys; and
reading names back as tmux 3.3a and 3.4+ print them."""

from __future__ import annotations

import pytest

from bridge.tmux.quoting import command_line, escape_literal, quote, unescape, words
from tests.unit.tmux.printed import PATH, PATH_33A, PATH_35A

# -- quote ------------------------------------------------------------------------------------

QUOTE_TABLE = [
    ("plain", '"plain"'),
    ("", '""'),
    ("two words", '"two words"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("it's", '"it\'s"'),
    ("$HOME ${x}", '"\\$HOME \\${x}"'),
    ("`id` $(id)", '"`id` \\$(id)"'),
    (";", '";"'),
    ("a;", '"a;"'),
    ("a\\;", '"a\\\\;"'),
    ("trail\\", '"trail\\\\"'),
    ("#{pane_id} #[fg=red] #(id)", '"#{pane_id} #[fg=red] #(id)"'),
    ("~", '"\\176"'),
    ("~/x and ~", '"\\176/x and \\176"'),
    ("a\nb", '"a\\012b"'),
    ("\t\r\x1b\x7f", '"\\011\\015\\033\\177"'),
    ("\x01" + "5", '"\\0015"'),  # octal is always 3 digits: a following digit stays a digit
    ("\\u0041 \\101", '"\\\\u0041 \\\\101"'),
    ("héllo 日本語 עברית \u200b 🙂", '"héllo 日本語 עברית \u200b 🙂"'),
    ("\x80\x9f", '"\x80\x9f"'),  # C1 code points are UTF-8 text, not controls, for tmux
    ("{ } %if 1 # not a comment", '"{ } %if 1 # not a comment"'),
    ("-n", '"-n"'),
    ("--", '"--"'),
]


@pytest.mark.parametrize(("text", "quoted"), QUOTE_TABLE)
def test_quote_table(text: str, quoted: str) -> None:
    assert quote(text) == quoted


def test_quote_output_is_one_printable_line() -> None:
    hostile = "".join(chr(c) for c in range(1, 0x80)) + "~$\\\"\n" * 3
    quoted = quote(hostile)
    assert "\n" not in quoted and "\r" not in quoted
    assert all(0x20 <= ord(c) < 0x7F for c in quoted)
    assert quoted.startswith('"') and quoted.endswith('"')
    # every " inside is escaped, so the word cannot end early
    inner = quoted[1:-1].replace("\\\\", "")
    assert '"' not in inner.replace('\\"', "")


def test_quote_refuses_nul_and_lone_surrogates() -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote("a\x00b")
    with pytest.raises(ValueError, match="surrogate"):
        quote("\ud800")


def test_quote_surrogateescape_becomes_the_raw_byte() -> None:
    text = b"caf\xe9".decode("utf-8", errors="surrogateescape")
    assert quote(text) == '"caf\\351"'


def test_command_line() -> None:
    assert command_line(["display-message", "-p", "x y"]) == b'display-message "-p" "x y"\n'
    assert command_line(["weird name", "a"]) == b'"weird name" "a"\n'
    assert command_line(["set-buffer", "--", "é\n"]) == 'set-buffer "--" "é\\012"\n'.encode()
    with pytest.raises(ValueError):
        command_line([])


@pytest.mark.parametrize(
    ("text", "argument"),
    [
        ("plain", "plain"),
        ("ends;", "ends\\;"),
        ("ends\\;", "ends\\\\;"),
        (";", "\\;"),
        ("a;b", "a;b"),  # only a final ; is special to tmux
        ("-leading", "-leading"),  # send-keys gets "--" before it
    ],
)
def test_escape_literal(text: str, argument: str) -> None:
    assert escape_literal(text) == argument


# -- reading names back -----------------------------------------------------------------------


def test_unescape_reads_both_versions_the_same() -> None:
    assert unescape(PATH_33A) == PATH
    assert unescape(PATH_35A) == PATH


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("plain", "plain"),
        ("", ""),
        ("a\\ b", "a b"),
        ("\\$HOME\\;\\#", "$HOME;#"),
        ("back\\\\slash", "back\\slash"),
        ("\\\\033", "\\033"),  # a backslash and digits, not an escape
        ("\\033", "\x1b"),  # 3.4+ octal
        ("\\r\\a", "\r\a"),  # 3.4+ C-style
        ("\\303\\251t\\303\\251", "\u00e9t\u00e9"),  # octal bytes that are UTF-8
        ("\\377x", "\udcffx"),  # a byte that is not UTF-8 stays a surrogate escape
    ],
)
def test_unescape(printed: str, value: str) -> None:
    assert unescape(printed) == value


def test_words_split_on_unescaped_spaces_only() -> None:
    assert words("a\\ b c\\\\ d") == ["a\\ b", "c\\\\", "d"]
    assert words("x  y") == ["x", "", "y"]
    assert words("") == [""]
