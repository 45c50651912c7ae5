"""Opening a .qdpx (zip) or a bare .qde, and reading only the parts that are imported.

No Django imports. A .qdpx may carry gigabytes of audio and video that peercoding does not
import; those members are never decompressed, so only the project XML and the text sources count
against the limit, which the caller names (it is a setting of its own).
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import BinaryIO
from xml.etree import ElementTree as ET

from transcripts.interop.readers.base import MB, ImportRefused, describe_size, quoted
from transcripts.interop.readers.safety import ZIP_ERRORS, check_members, parse_xml_document, read_member

DEFAULT_MAX_BYTES = 200 * MB  # what may be read out of one project file: its XML and text sources
MAX_MEMBERS = 50_000
ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_DRIVE = re.compile(r"^[A-Za-z]:")


class Limit:
    """The per-archive byte budget, and how messages name it."""

    def __init__(self, max_bytes: int, setting: str = "") -> None:
        self.max_bytes = max_bytes
        self.setting = setting
        self.used = 0

    def refusal(self, name: str) -> ImportRefused:
        named = f" (the setting {self.setting})" if self.setting else ""
        return ImportRefused(
            f"{quoted(name)} holds more project text than the {describe_size(self.max_bytes)} limit "
            f"for project archives{named}; it was not imported."
        )

    def take(self, name: str, n_bytes: int) -> int:
        """Count n_bytes against the budget; the bytes left before; ImportRefused when over."""
        left = self.max_bytes - self.used
        if n_bytes > left:
            raise self.refusal(name)
        self.used += n_bytes
        return left


class ProjectFile:
    """The .qde XML of a project and, for a .qdpx, access to its members by internal path."""

    def __init__(self, name: str, xml: bytes, archive: zipfile.ZipFile | None, limit: Limit) -> None:
        self.name = name
        self.xml = xml
        self.archive = archive
        self.limit = limit
        self._by_name = {info.filename.casefold(): info for info in archive.infolist()} if archive else {}

    def member_for(self, path: str) -> zipfile.ZipInfo | None:
        """The zip member a plainTextPath names ("internal://x.txt", or a bare "x.txt"); None if absent."""
        if self.archive is None or not path:
            return None
        scheme, sep, rest = path.partition("://")
        if sep and scheme.lower() != "internal":
            return None  # relative:// and absolute:// point outside the archive
        relative = rest if sep else path
        check_member_name(self.name, relative)
        for candidate in (f"sources/{relative}", relative):
            info = self._by_name.get(candidate.casefold())
            if info is not None:
                return info
        return None

    def check_members(self, infos: list[zipfile.ZipInfo]) -> None:
        """The structural checks of the other importers, on the members that will be read."""
        if self.archive is None or not infos:
            return
        left = self.limit.max_bytes - self.limit.used
        if sum(info.file_size for info in infos) > left:
            raise self.limit.refusal(self.name)
        # Private in safety.py for now; it is being made public with the move to interop/readers.
        check_members(self.name, self.archive, infos, left, left)

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """A member's bytes, counted against the per-archive limit whatever size it declares."""
        assert self.archive is not None
        data = read_member(self.name, self.archive, info, limit=self.limit.max_bytes - self.limit.used)
        self.limit.take(self.name, len(data))
        return data


def check_member_name(name: str, member: str) -> None:
    """Refuse absolute paths and '..' in a member name or a path the project names."""
    parts = re.split(r"[/\\]", member)
    if member.startswith(("/", "\\")) or _DRIVE.match(member) or ".." in parts or "\x00" in member:
        raise ImportRefused(
            f"{quoted(name)} names a file outside the project ({member[:80]!r}), which REFI-QDA "
            "projects never do; it was not opened."
        )


def open_project(name: str, data: bytes | BinaryIO, *, limit: Limit) -> ProjectFile:
    """The project XML of a .qdpx or .qde; ImportRefused (with a reason) for anything else."""
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    head = stream.read(4)
    stream.seek(0)
    if not head:
        raise ImportRefused(f"{quoted(name)} is empty.")
    if head in (ZIP_MAGIC, _EMPTY_ZIP_MAGIC):
        return _open_zip(name, stream, limit)
    if name.lower().endswith(".qdpx"):
        raise ImportRefused(f"{quoted(name)} is not a zip archive, so it is not a REFI-QDA project (.qdpx).")
    xml = stream.read(limit.max_bytes + 1)
    limit.take(name, len(xml))
    return ProjectFile(name, xml, None, limit)


def _open_zip(name: str, stream: BinaryIO, limit: Limit) -> ProjectFile:
    not_zip = f"{quoted(name)} is not a readable zip archive, so it is not a REFI-QDA project (.qdpx)."
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except ZIP_ERRORS as exc:
        raise ImportRefused(not_zip) from exc
    if len(infos) > MAX_MEMBERS:
        raise ImportRefused(f"{quoted(name)} holds more than {MAX_MEMBERS:,} files, which is too many to open.")
    for info in infos:
        check_member_name(name, info.filename)
    # Tools name the project file differently (project.qde, Project.qde, or after the project).
    candidates = [info for info in infos if "/" not in info.filename and info.filename.lower().endswith(".qde")]
    if not candidates:
        raise ImportRefused(f"{quoted(name)} has no project.qde inside, so it is not a REFI-QDA project.")
    if len(candidates) > 1 and not any(info.filename.lower() == "project.qde" for info in candidates):
        raise ImportRefused(f"{quoted(name)} holds several .qde files and none is named project.qde.")
    chosen = next((info for info in candidates if info.filename.lower() == "project.qde"), candidates[0])
    project = ProjectFile(name, b"", archive, limit)
    project.check_members([chosen])
    project.xml = project.read(chosen)
    return project


def parse_xml(name: str, xml: bytes) -> ET.Element:
    """The root element; ImportRefused for XML that does not parse or declares a DTD or entities."""
    return parse_xml_document(
        name, xml, never_needed_by="REFI-QDA projects", unreadable="holds XML that does not parse ({error}); it was not imported."
    )
