"""Pure reading of a :class:`~bridge.screen.Snapshot` with a :class:`~bridge.profiles.Profile`.

No I/O and no waiting: each function looks at one snapshot. The driver calls them on every
screen it captures.

* :mod:`.states`: :func:`classify` -> :class:`State` (pane facts first, then the profile's state
  rules in order; a screen no rule recognises is ``unknown``, never a guess);
* :mod:`.input`: :func:`input_text` -> what is typed in the live input box;
* :mod:`.turns`: :func:`user_turns` / :func:`last_prompt` -> the echoes of submitted prompts;
* :mod:`.reply`: :func:`find_reply` -> the answer that follows a submitted prompt;
* :mod:`.menus`: :func:`read_menu` / :func:`read_permission` -> numbered choices and the
  highlighted one;
* :mod:`.match`: the row-rule matching they share.
"""

from bridge.reading.input import InputBox, find_input_box, input_text
from bridge.reading.menus import Menu, MenuItem, PermissionQuestion, read_menu, read_permission
from bridge.reading.reply import ScreenReply, find_reply
from bridge.reading.states import State, classify
from bridge.reading.turns import Turn, last_prompt, user_turns

__all__ = [
    "InputBox",
    "Menu",
    "MenuItem",
    "PermissionQuestion",
    "ScreenReply",
    "State",
    "Turn",
    "classify",
    "find_input_box",
    "find_reply",
    "input_text",
    "last_prompt",
    "read_menu",
    "read_permission",
    "user_turns",
]
