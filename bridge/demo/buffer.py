"""The demo agent's input box contents: typed text, and pastes shown collapsed (as Claude Code does)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["COLLAPSE_CHARS", "COLLAPSE_NEWLINES", "Chunk", "InputBuffer"]

COLLAPSE_NEWLINES = 10
COLLAPSE_CHARS = 1000


@dataclass
class Chunk:
    """Part of the input: typed text, or one paste shown collapsed as ``label``."""

    text: str
    label: str | None = None

    @property
    def display(self) -> str:
        return self.label if self.label is not None else self.text


@dataclass
class InputBuffer:
    chunks: list[Chunk] = field(default_factory=list)
    pastes: int = 0

    @property
    def text(self) -> str:
        return "".join(chunk.text for chunk in self.chunks)

    @property
    def display(self) -> str:
        return "".join(chunk.display for chunk in self.chunks)

    def type(self, text: str) -> None:
        if self.chunks and self.chunks[-1].label is None:
            self.chunks[-1].text += text
        else:
            self.chunks.append(Chunk(text))

    def paste(self, text: str) -> None:
        newlines = text.count("\n")
        if newlines < COLLAPSE_NEWLINES and len(text) <= COLLAPSE_CHARS:
            self.type(text)
            return
        self.pastes += 1
        more = f" +{newlines} lines" if newlines else ""
        self.chunks.append(Chunk(text, f"[Pasted text #{self.pastes}{more}]"))

    def backspace(self) -> None:
        if not self.chunks:
            return
        last = self.chunks[-1]
        if last.label is None and len(last.text) > 1:
            last.text = last.text[:-1]
        else:
            self.chunks.pop()

    def take(self) -> list[Chunk]:
        chunks, self.chunks = self.chunks, []
        return chunks

    def put_back(self, chunks: list[Chunk]) -> None:
        self.chunks = [*chunks, *self.chunks]
