"""Reading revision files: bytes to text, keeping what a rewrite must preserve."""

from __future__ import annotations

import codecs
import io
import tokenize
from dataclasses import dataclass

from migls._pickling import pickled_by_fields


class UndecodableSource(Exception):
    """The file is binary or not in the encoding it declares."""

    def __init__(self, reason: str, line: int = 1, column: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class SourceText:
    """A decoded file: its text plus the encoding and newline to write it back with."""

    text: str
    encoding: str
    newline: str
    bom: bool

    def encode(self, text: str) -> bytes:
        """Encode ``text`` (with ``\\n`` newlines) the way the original file was encoded."""
        if self.newline != "\n":
            text = text.replace("\r\n", "\n").replace("\n", self.newline)
        data = text.encode(self.encoding)
        return (codecs.BOM_UTF8 + data) if self.bom else data


def decode(data: bytes) -> SourceText:
    """Decode a Python source file as the interpreter would (PEP 263 cookie, BOM).

    Raises :class:`UndecodableSource` for binary content or a wrong declared encoding.
    """
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise UndecodableSource("binary file (contains NUL bytes)", line)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise UndecodableSource(f"bad encoding declaration: {exc.msg}") from None
    bom = encoding == "utf-8-sig"
    if bom:
        data = data[len(codecs.BOM_UTF8) :]
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        start = getattr(exc, "start", 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1)
        raise UndecodableSource(f"not valid {encoding} ({exc.__class__.__name__})", line, column) from None
    return from_text(text, encoding, bom)


def from_text(text: str, encoding: str = "utf-8", bom: bool = False) -> SourceText:
    """A decoded text (a file's, or an editor's buffer) as the rules read it: every line
    break an LF, the first one kept to write the text back with."""
    newline = "\r\n" if "\r\n" in text else "\r" if "\r" in text else "\n"
    # A lone CR ends a line for Python (its tokenizer translates every CR and CRLF to LF, in
    # string literals too), so it ends one here: the rules count lines by LF only.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return SourceText(text=text, encoding=encoding, newline=newline, bom=bom)
