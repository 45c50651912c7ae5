"""Load a benchmark study into a Taguette database through Taguette's own models.

    <taguette's python> bench/taguette_load.py study.json sqlite:////path/taguette.sqlite3

Run by bench/side_by_side.py with the Python that has Taguette installed, never with the app's.
`study.json` holds what bench/side_by_side.py read from peercoding's database: the transcripts'
texts, the codes (a theme and its subthemes) and the excerpts with their codes. Documents are
stored as Taguette stores an imported text: one <p> a line, the lines joined by a newline, so
that Taguette's offsets (bytes of text, tags not counted) are the app's offsets for this ASCII
text. Each highlight's snippet is that same markup cut to the highlight, as Taguette's
extract() would cut it; its slow HTML parse for 7,500 highlights is left out of the load only.
"""

from __future__ import annotations

import asyncio
import html
import json
import sys

from taguette import database

USER, PASSWORD = "bench", "bench-password-not-secret"


def as_html(text: str) -> str:
    return "\n".join(f"<p>{html.escape(line, quote=False)}</p>" for line in text.split("\n"))


def snippet(text: str, start: int, end: int) -> str:
    return as_html(text[start:end])


def load(study: dict, url: str) -> None:
    db = database.connect(url)()
    for login in (USER, "admin"):
        user = database.User(login=login)
        asyncio.run(user.set_password(PASSWORD))
        db.add(user)
    project = database.Project(name="Benchmark study", description="")
    db.add(project)
    db.flush()
    db.add(database.ProjectMember(project=project, user_login=USER, privileges=database.Privileges.ADMIN))
    tags = {}
    for code in study["codes"]:
        tags[code["id"]] = database.Tag(project=project, path=code["path"], description=code["definition"])
        db.add(tags[code["id"]])
    documents = []
    for transcript in study["transcripts"]:
        text = transcript["text"]
        document = database.Document(
            project=project, name=transcript["title"], description="", filename=transcript["title"] + ".txt",
            text_direction=database.TextDirection.LEFT_TO_RIGHT, contents=as_html(text),
        )
        db.add(document)
        db.flush()
        documents.append(document.id)
        for start, end, code_ids in transcript["excerpts"]:
            highlight = database.Highlight(
                document=document, start_offset=start, end_offset=end, snippet=snippet(text, start, end),
                tags=[tags[pk] for pk in code_ids],
            )
            db.add(highlight)
    db.commit()
    print(json.dumps({
        "project": project.id,
        "documents": documents,
        "tags": {pk: tag.id for pk, tag in tags.items()},
        "highlights": db.query(database.Highlight).count(),
    }))


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        load(json.load(handle), sys.argv[2])
