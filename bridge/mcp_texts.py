"""What the MCP server says to the calling model: its instructions, each tool's description (when
to use it, and what it cannot do), the hint that goes with each agent state, and errors' hints
worded as tool calls (:func:`tool_hint`)."""

import re

INSTRUCTIONS = (
    "agent-bridge lets you hand work to other AI coding agents (Claude Code, Codex, ...) that run "
    "in terminals on other machines. Call list_agents to see who is there, then ask. The remote "
    "agent sees NOTHING of this conversation: every prompt must stand alone (goal, the facts, "
    "file contents or paths on the remote host, the answer format you want). Ask for short "
    "answers to save tokens. If ask returns state 'permission', decide, then call approve."
)

# What each tool is for, written for the calling model: when to use it, and what it cannot do.
DESCRIPTIONS: dict[str, str] = {
    "list_agents": (
        "List the remote agents you can delegate to: name, host, tmux target, profile (what kind of "
        "agent it is). Use it first when you do not know the agent names. It does not contact "
        "the agents; use agent_state for that."
    ),
    "agent_state": (
        "Look at one agent without changing anything and say what it is doing: idle (ready for "
        "ask), busy (still working), permission (waiting for a yes/no; the question and options "
        "are included), menu, dialog, dead (not running; use restart) or unknown. Use it before "
        "ask when unsure, or after send to see if the agent is done."
    ),
    "ask": (
        "Delegate a question or task to a remote agent and wait for its answer (it types the "
        "prompt into the agent's terminal, waits until it is done, returns the reply text). Use it "
        "for work that needs a stronger model or the remote machine's files and tools. The remote "
        "agent cannot see this conversation, your files or your tools: write a self-contained "
        "prompt with the goal, all needed facts, file contents (or paths that exist on the REMOTE "
        "host) and the answer format; ask for a short answer. The agent must be idle. 'model' first "
        "switches the agent's model (e.g. 'opus' for a hard problem). 'timeout' is in seconds "
        "(default from the registry, usually 600). If the agent asks permission to run something, "
        "the result has state 'permission' with the question and options: nothing was approved; "
        "decide, then call approve."
    ),
    "send": (
        "Type text into the agent's terminal and press Enter, WITHOUT waiting for an answer. Use "
        "it only for things ask cannot do: answering a question the agent asked in its own words, "
        "slash commands (e.g. '/clear'), or starting a long task you will check on later with "
        "agent_state and screen. To get an answer, use ask instead."
    ),
    "keys": (
        "Press keys in the agent's terminal by tmux key name, in order: Enter, Escape, Up, Down, "
        "Tab, BSpace, C-c (Ctrl-C), y, n, 1, 2 ... Use it to move in a menu, dismiss a dialog "
        "(Escape) or interrupt a busy agent (Escape, or C-c). Look with screen first: keys are "
        "pressed blindly."
    ),
    "screen": (
        "Return the text the agent's terminal shows now (what a human would see). Use it when "
        "state is menu, dialog or unknown, when an error says to look, or to follow a long task. "
        "'history' adds that many lines of scrollback. It can be long: prefer agent_state when "
        "the state is all you need."
    ),
    "switch_model": (
        "Switch the agent's model through its own /model menu (one checked key press at a time) "
        "and return the model it confirmed. 'model' is a row number, a label or a prefix such as "
        "'opus', 'sonnet', 'haiku'. Use it to escalate a hard problem to a stronger model, or to "
        "go back to a cheaper one; ask(model=...) does the same before asking."
    ),
    "approve": (
        "Answer the agent's pending permission question, after ask returned state 'permission'. "
        "answer: 'yes' (allow once), 'always' (allow from now on, where the agent offers it), 'no', "
        "or an option number. Only say yes if the "
        "action is what you wanted and is safe; nothing is ever approved automatically. With "
        "wait=true (default) it then waits and returns the reply like ask (which may be another "
        "permission question)."
    ),
    "restart": (
        "Start a dead agent again in its terminal, resuming its last conversation where the agent "
        "supports it (e.g. 'claude --continue'), and wait until it is idle. Use it only when "
        "agent_state says dead."
    ),
}

STATE_HINTS = {
    "idle": "ready: call ask",
    "busy": "still working: wait and call agent_state again, or keys Escape to interrupt",
    "permission": "waiting for your answer: call approve with yes, always, no or an option number",
    "menu": "a menu is open: look with screen, close it with keys Escape",
    "dialog": "a dialog is open: look with screen",
    "dead": "not running: call restart",
    "unknown": "screen not recognised: look with screen",
}

# The library's hints name CLI commands (for a person at a shell); a model calls tools instead.
_TOOL_HINTS = (
    (re.compile(r"agent-bridge approve (\S+) yes\|(?:always\|)?no(?:\|N)?(?: --wait)?"),
     r'call approve(agent="\1", answer="yes", "always", "no" or an option number)'),
    (re.compile(r"agent-bridge restart (\S+)"), r'call restart(agent="\1")'),
    (re.compile(r"agent-bridge keys (\S+) (\S+)"), r'call keys(agent="\1", keys=["\2"])'),
    (re.compile(r"agent-bridge screen (\S+)"), r'call screen(agent="\1")'),
    (re.compile(r"agent-bridge reply (\S+)"), r'call agent_state(agent="\1"), then screen'),
    (re.compile(r"raise --timeout"), "pass a larger timeout"),
)  # fmt: skip


def tool_hint(hint: str) -> str:
    """``hint`` with each CLI command it names replaced by the tool call that does the same."""
    for pattern, replacement in _TOOL_HINTS:
        hint = pattern.sub(replacement, hint)
    return hint
