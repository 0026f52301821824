"""Reading an import file as people's programs write it: the encoding and the delimiter
detected (or given), then the header row and the records after it with their line numbers.

Encoding: a byte-order mark decides (UTF-8, UTF-16: Excel's "Unicode text"); else UTF-16
without one shows as NUL bytes every other byte; else a sample that is valid UTF-8 is UTF-8;
else charset-normalizer guesses among the code pages, and of its near-equal guesses the
Windows code pages win (Excel writes those; on a short file ISO-8859-1 text fits cp1250 as
well as cp1252, and cp1252 is by far the commoner). `--encoding` overrides it.

Delimiter: the one of comma, semicolon and tab that the header line holds most often outside
quotes (Excel writes `;` where the decimal separator is a comma); `--delimiter` overrides it.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from storage.errors import UserError
from storage.spreadsheet import restore

#: Bytes read to detect the encoding: enough for a header and thousands of rows.
SAMPLE = 1 << 20
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
#: Of near-equal guesses (chaos within NEAR), the first of these that is among them wins.
PREFERRED = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "cp1255", "cp1256")
NEAR = 0.1


@dataclass(frozen=True)
class FileFormat:
    """How a file is read: its text encoding and its delimiter."""

    encoding: str
    delimiter: str = ","

    def describe(self) -> str:
        name = {",": "comma", ";": "semicolon", "\t": "tab"}.get(self.delimiter, self.delimiter)
        return f"{self.encoding}, {name}-separated"


def check_file(path: Path) -> None:
    if not path.is_file():
        raise UserError(f"No file {path}.")


def detect_format(
    path: Path, encoding: str | None = None, delimiter: str | None = None
) -> FileFormat:
    """The file's format: what is given, the rest detected (see the module docstring)."""
    check_file(path)
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE)
    chosen = _given_encoding(encoding) if encoding else detect_encoding(path, sample)
    if delimiter:
        return FileFormat(chosen, _given_delimiter(delimiter))
    text = sample.decode(chosen, errors="replace")
    return FileFormat(chosen, detect_delimiter(text.lstrip("\ufeff")))


def _given_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise UserError(
            f"Unknown encoding `{name}`. Give one like utf-8, utf-16, cp1252 or iso-8859-1."
        ) from None


def _given_delimiter(text: str) -> str:
    delimiter = DELIMITER_NAMES.get(text.strip().lower(), text)
    if len(delimiter) != 1 or delimiter in '"\r\n' or delimiter.isalnum():
        raise UserError(f"Delimiter `{text}`: give one character, like `,` `;` or `tab`.")
    return delimiter


def detect_encoding(path: Path, sample: bytes) -> str:
    """The encoding of a file that starts with `sample`."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = len(sample) // 2
    if pairs >= 2:
        even, odd = sample[0 : pairs * 2 : 2].count(0), sample[1 : pairs * 2 : 2].count(0)
        if odd > pairs // 2 and even == 0:
            return "utf-16-le"
        if even > pairs // 2 and odd == 0:
            return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < SAMPLE)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # only for files that are not UTF-8

    matches = list(from_bytes(sample))
    if not matches:
        raise UserError(
            f"{path}: cannot tell the file's encoding. Give it, like --encoding cp1252."
        )
    least = min(match.chaos for match in matches)
    near = [match.encoding for match in matches if match.chaos <= least + NEAR]
    for name in PREFERRED:
        if name in near:
            return name
    return min(matches, key=lambda match: match.chaos).encoding


def detect_delimiter(text: str) -> str:
    """The delimiter the first line holds most often outside quotes (comma on a tie)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char in "\r\n":
                break
            if char in counts:
                counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@contextmanager
def open_text(path: Path, fmt: FileFormat) -> Iterator[IO[str]]:
    """The file as text; a UTF-8 byte-order mark is dropped (spreadsheets write one)."""
    encoding = "utf-8-sig" if fmt.encoding in ("utf-8", "utf_8") else fmt.encoding
    with path.open(encoding=encoding, newline="") as handle:
        yield handle


def read_header_cells(path: Path, fmt: FileFormat, example: str) -> list[str]:
    """The header row's cells; refused when there is none. `example`: a header to suggest."""
    check_file(path)
    with open_text(path, fmt) as handle:
        try:
            row = next(csv.reader(handle, delimiter=fmt.delimiter), None)
        except (csv.Error, UnicodeError) as error:
            raise UserError(
                f"{path}: the header row cannot be read as {fmt.describe()} ({error}). "
                "Give the file's encoding, like --encoding cp1252."
            ) from None
    if not row or not any(cell.strip() for cell in row):
        raise UserError(
            f"{path} has no header row. The first row names the columns, like: {example}"
        )
    return [cell.lstrip("\ufeff") for cell in row]


def read_records(path: Path, fmt: FileFormat) -> Iterator[tuple[int, list[str]]]:
    """Yield (line the record starts on, cells) for each non-blank row after the header; a
    `'` that an export put before a formula-like cell is taken off (storage/spreadsheet.py)."""
    for line, cells in read_raw_records(path, fmt):
        yield line, restore_cells(cells)


def read_raw_records(path: Path, fmt: FileFormat) -> Iterator[tuple[int, list[str]]]:
    """As read_records, with the cells as the file holds them (restore_cells not applied):
    each of an import's workers reads the whole file and cleans only the records it checks."""
    with open_text(path, fmt) as handle:
        reader = csv.reader(handle, delimiter=fmt.delimiter)
        line = 0
        try:
            next(reader)
            line = reader.line_num + 1
            for cells in reader:
                start, line = line, reader.line_num + 1
                if "".join(cells).strip():  # some cell holds more than white space
                    yield start, cells
        except (csv.Error, UnicodeError) as error:
            raise UserError(
                f"{path}, line {line}: the file cannot be read as {fmt.describe()} ({error}). "
                "Give the file's encoding, like --encoding cp1252."
            ) from None


def restore_cells(cells: list[str]) -> list[str]:
    """The values a record's cells hold (storage.spreadsheet.restore on each)."""
    return [restore(cell) for cell in cells]


def count_rows(path: Path) -> int:
    """About how many rows the file has (line breaks), for the progress bar."""
    count = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return max(count - 1, 0)
