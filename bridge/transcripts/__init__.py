"""Session transcripts: an agent's exact reply text from the files its CLI keeps, per agent CLI.

Screens show rendered Markdown (backticks vanish, wide lines wrap), so where an agent keeps a
transcript the bridge reads the raw text from it, over the same connection, and says so
(``source``). A profile names its reader with ``transcript.kind``; :func:`reader_for` finds it.

* :mod:`.base`: :class:`TranscriptReply`, the :class:`TranscriptReader` every reader implements;
* :mod:`.claude`: Claude Code's JSONL files (``claude-jsonl``);
* :mod:`.codex`: Codex CLI's rollout files (``codex-jsonl``);
* :mod:`.gemini`: Gemini CLI's chat files (``gemini-json``);
* :mod:`.qwen`: Qwen Code's JSONL files (``qwen-jsonl``).
"""

from bridge.transcripts.base import TokenUsage, TranscriptReader, TranscriptReply
from bridge.transcripts.claude import ClaudeTranscripts
from bridge.transcripts.codex import CodexTranscripts
from bridge.transcripts.gemini import GeminiTranscripts
from bridge.transcripts.qwen import QwenTranscripts

__all__ = ["READERS", "TokenUsage", "TranscriptReader", "TranscriptReply", "reader_for"]

READERS: dict[str, TranscriptReader] = {
    reader.kind: reader
    for reader in (ClaudeTranscripts(), CodexTranscripts(), GeminiTranscripts(), QwenTranscripts())
}


def reader_for(kind: str) -> TranscriptReader | None:
    """The reader of ``transcript.kind`` (``None`` for ``none`` and kinds without one yet)."""
    return READERS.get(kind)
