"""Checks on names, sizes and Office (zip) packages, made before any content is parsed.

No Django imports. Every refusal is an ImportRefused with a message for the researcher.
"""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.parsers import expat
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from defusedxml.ElementTree import fromstring as defused_fromstring

from .base import MB, ImportRefused, describe_size, quoted

MAX_NAME_LENGTH = 255
MAX_MEMBERS = 2_000
MAX_MEMBER_SIZE = 50 * MB
MAX_TOTAL_SIZE = 200 * MB
MAX_RATIO = 200
RATIO_CHECK_ABOVE = 1 * MB
CHUNK = 64 * 1024

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Directory entry names in an OLE file are UTF-16LE; an encrypted Office 2007+ file is an OLE
# file holding these two streams.
_OLE_ENCRYPTED_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))

# Bidirectional overrides can make "cod.exe" display as "exe.doc"; they have no place in names.
_BIDI_CONTROLS = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# What the XML parsers raise for a document that does not parse (a bad encoding name included).
XML_ERRORS = (ParseError, ExpatError, SyntaxError, LookupError, ValueError)

ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    UnicodeError,
)


@dataclass(frozen=True)
class PackageKind:
    noun: str  # "a Word document"
    app: str  # "Word"
    ext: str  # ".docx"
    old_ext: str  # ".doc"
    main_part: str  # "word/document.xml"


WORD = PackageKind("a Word document", "Word", ".docx", ".doc", "word/document.xml")
EXCEL = PackageKind("an Excel workbook", "Excel", ".xlsx", ".xls", "xl/workbook.xml")
CONTENT_TYPES = "[Content_Types].xml"


def check_filename(filename: str) -> str:
    """Return the display name (trimmed, NFC); ImportRefused for names that are paths or odd."""
    if not isinstance(filename, str):
        raise ImportRefused("The file has no name.")
    name = filename.strip()
    if not name:
        raise ImportRefused("The file has no name.")
    if "/" in name or "\\" in name:
        raise ImportRefused(
            "The file name contains a slash (/ or \\). Upload the file itself, not a path."
        )
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in name):
        raise ImportRefused(
            "The file name contains control characters (such as a line break or NUL). "
            "Rename the file and try again."
        )
    if ".." in name:
        raise ImportRefused('The file name contains "..". Rename the file and try again.')
    if len(name) > MAX_NAME_LENGTH:
        raise ImportRefused(
            f"The file name is longer than {MAX_NAME_LENGTH} characters. Rename the file and try again."
        )
    return unicodedata.normalize("NFC", name)


def extension_of(name: str) -> str:
    """Lower-case extension with its dot, or '' when the name has none."""
    dot = name.rfind(".")
    return name[dot:].lower() if dot != -1 else ""


def check_size(name: str, data: bytes, max_bytes: int, what: str = "files") -> None:
    """Refuse data over max_bytes, and empty data."""
    if len(data) > max_bytes:
        raise ImportRefused(
            f"{quoted(name)} is larger than the {describe_size(max_bytes)} limit for {what}."
        )
    if not data:
        raise ImportRefused(f"{quoted(name)} is empty.")


@contextmanager
def refusing_failures(message: str) -> Iterator[None]:
    """Pass ImportRefused through and turn any other error into ImportRefused(message): a file
    that breaks a parser is refused, never a crash (RecursionError and MemoryError included)."""
    try:
        yield
    except ImportRefused:
        raise
    except Exception as exc:
        raise ImportRefused(message) from exc


def open_package(
    name: str,
    data: bytes,
    kind: PackageKind,
    *,
    max_member_size: int = MAX_MEMBER_SIZE,
    max_total_size: int = MAX_TOTAL_SIZE,
) -> zipfile.ZipFile:
    """Open an Office zip package after the structural checks; ImportRefused when any fails.

    Nothing is decompressed here: sizes, flags and offsets come from the central directory,
    and reads later go through read_member() which does not trust the declared sizes.
    """
    if data.startswith(OLE_MAGIC):
        if any(marker in data for marker in _OLE_ENCRYPTED_STREAMS):
            raise ImportRefused(
                f"{quoted(name)} is password-protected or encrypted; remove the password in "
                f"{kind.app} and try again."
            )
        raise ImportRefused(
            f"{quoted(name)} looks like an old {kind.old_ext} file; open it in {kind.app}, "
            f"save it as {kind.ext} and try again."
        )
    not_office = (
        f"{quoted(name)} is not {kind.noun}. Save it from {kind.app} as {kind.ext} and try again."
    )
    try:
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise ImportRefused(not_office)
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise ImportRefused(not_office) from exc

    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ImportRefused(
            f"{quoted(name)} contains more than {MAX_MEMBERS:,} parts, which is too many for "
            f"{kind.noun}; it was not opened."
        )
    folded = {info.filename.casefold() for info in infos}
    if CONTENT_TYPES.casefold() not in folded or kind.main_part.casefold() not in folded:
        raise ImportRefused(
            f"{quoted(name)} is a zip file but not {kind.noun}. "
            f"Save it from {kind.app} as {kind.ext} and try again."
        )
    check_members(name, archive, infos, max_member_size, max_total_size)
    return archive


def check_members(
    name: str,
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    max_member_size: int,
    max_total_size: int,
) -> None:
    damaged = f"{quoted(name)} is damaged (its parts overlap or repeat), so it was not opened."
    if any(info.flag_bits & 0x1 for info in infos):
        raise ImportRefused(
            f"{quoted(name)} is password-protected or encrypted; remove the password and try again."
        )
    seen: set[str] = set()
    for info in infos:
        # Part names in Office packages compare without regard to case.
        key = info.filename.casefold()
        if key in seen:
            raise ImportRefused(damaged)
        seen.add(key)
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ImportRefused(
                f"{quoted(name)} uses a kind of compression Office does not write; it was not opened."
            )
    ordered = sorted(infos, key=lambda info: info.header_offset)
    directory_start = getattr(archive, "start_dir", None)
    for index, info in enumerate(ordered):
        if info.header_offset < 0:
            raise ImportRefused(damaged)
        end = info.header_offset + 30 + _stored_name_length(info) + info.compress_size
        limit = ordered[index + 1].header_offset if index + 1 < len(ordered) else directory_start
        if limit is not None and end > limit:
            raise ImportRefused(damaged)
    total = 0
    for info in infos:
        too_big = (
            f"{quoted(name)} contains a part that would unpack to more than "
            f"{describe_size(max_member_size)}, which is too large to import."
        )
        if info.file_size > max_member_size:
            raise ImportRefused(too_big)
        if info.file_size > RATIO_CHECK_ABOVE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportRefused(
                f"{quoted(name)} contains a part that is compressed more than {MAX_RATIO} to 1, "
                "which real documents never are; it was not opened for safety."
            )
        total += info.file_size
    if total > max_total_size:
        raise ImportRefused(
            f"{quoted(name)} would unpack to more than {describe_size(max_total_size)}, "
            "which is too large to import."
        )


def _stored_name_length(info: zipfile.ZipInfo) -> int:
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    try:
        return len(info.orig_filename.encode(encoding))
    except UnicodeError:
        return 0


def find_member(archive: zipfile.ZipFile, part: str) -> zipfile.ZipInfo:
    """The member named `part`, compared without regard to case (open_package checked it exists)."""
    wanted = part.casefold()
    for info in archive.infolist():
        if info.filename.casefold() == wanted:
            return info
    raise KeyError(part)


def iter_member(
    name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int = MAX_MEMBER_SIZE
) -> Iterator[bytes]:
    """Yield a member's bytes in chunks; ImportRefused once more than `limit` bytes come out."""
    total = 0
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    return
                total += len(chunk)
                if total > limit:
                    raise ImportRefused(
                        f"{quoted(name)} contains a part that unpacks to more than "
                        f"{describe_size(limit)}, which is too large to import."
                    )
                yield chunk
    except ZIP_ERRORS as exc:
        raise ImportRefused(f"{quoted(name)} is damaged and could not be read.") from exc


def read_member(
    name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int = MAX_MEMBER_SIZE
) -> bytes:
    """A member's bytes, read in chunks and refused past `limit`, whatever size it declares."""
    return b"".join(iter_member(name, archive, info, limit=limit))


def entity_refusal(name: str) -> ImportRefused:
    return ImportRefused(
        f"{quoted(name)} contains XML entity declarations, which are not allowed; it was not opened."
    )


def parse_xml_member(name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, target) -> None:
    """Stream a member through a DTD-free XML parser, calling `target` (an ElementTree target).

    DOCTYPE and ENTITY declarations are refused before any entity is expanded, so
    billion-laughs and external-entity documents stop at their first declaration.
    """
    parser = DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        for chunk in iter_member(name, archive, info):
            parser.feed(chunk)
        parser.close()
    except DefusedXmlException as exc:
        raise entity_refusal(name) from exc
    except XML_ERRORS as exc:
        raise ImportRefused(f"{quoted(name)} is damaged: its text could not be read.") from exc


def parse_xml_document(name: str, data: bytes, *, never_needed_by: str, unreadable: str) -> Element:
    """The root element of a whole XML file; ImportRefused if it declares a DTD or entities (which
    `never_needed_by`, such as "codebooks", never need) or does not parse (then the message is the
    file's name and `unreadable`, in which {error} stands for the parser's complaint)."""
    try:
        return defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ImportRefused(
            f"{quoted(name)} declares a DTD or XML entities, which {never_needed_by} never need; it was not opened."
        ) from exc
    except XML_ERRORS as exc:
        raise ImportRefused(f"{quoted(name)} {unreadable.format(error=exc)}") from exc


class _RootReached(Exception):
    pass


class _StopAtRoot:
    def start(self, tag, attrib):
        raise _RootReached

    def end(self, tag):
        pass

    def data(self, text):
        pass

    def close(self):
        return None


def check_xml_prologs(name: str, archive: zipfile.ZipFile) -> None:
    """Refuse a package if any XML part declares a DOCTYPE or entities.

    Only the prolog is parsed (up to the root element), so this costs little; it guards the
    parts that a third-party reader (openpyxl) parses after us.
    """
    for info in archive.infolist():
        if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
            continue
        parser = DefusedXMLParser(target=_StopAtRoot(), forbid_dtd=True)
        try:
            for chunk in iter_member(name, archive, info):
                parser.feed(chunk)
        except _RootReached:
            continue
        except DefusedXmlException as exc:
            raise entity_refusal(name) from exc
        except XML_ERRORS as exc:
            raise ImportRefused(f"{quoted(name)} is damaged: part of it could not be read.") from exc


@dataclass(frozen=True)
class ElementLimit:
    """At most `limit` elements named `element` (local name) in any one XML part; with
    `holding`, an element counts only once one of those opens inside it."""

    element: str
    limit: int
    refusal: str
    holding: tuple[str, ...] = ()


def check_element_counts(name: str, archive: zipfile.ZipFile, limits: list[ElementLimit]) -> None:
    """Stream every XML part, counting elements; ImportRefused at the first limit passed.

    Nothing is built: the expat parser calls back with each element's name, so memory stays
    flat and a part far over a limit costs only the parsing up to it. Run after
    check_xml_prologs, which refuses the DTDs this parser would otherwise read."""
    for info in archive.infolist():
        if not info.filename.lower().endswith(".xml"):
            continue
        counts = [0] * len(limits)
        waiting = [False] * len(limits)

        def start(tag: str, attrib: dict) -> None:
            local = tag.rpartition(":")[2]
            for index, rule in enumerate(limits):
                if local == rule.element:
                    if rule.holding:
                        waiting[index] = True
                        continue
                elif not (waiting[index] and local in rule.holding):
                    continue
                waiting[index] = False
                counts[index] += 1
                if counts[index] > rule.limit:
                    raise ImportRefused(rule.refusal)

        def refuse_declarations(*args) -> None:
            raise entity_refusal(name)

        parser = expat.ParserCreate()
        parser.StartElementHandler = start
        parser.StartDoctypeDeclHandler = refuse_declarations
        parser.EntityDeclHandler = refuse_declarations
        try:
            for chunk in iter_member(name, archive, info):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except (ExpatError, ValueError):
            continue  # counted up to the damage; the reader that follows refuses the part itself
