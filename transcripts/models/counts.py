"""Review figures kept up to date as coding changes, so that the unfiltered theme summary, the
code × participant matrix and the co-occurrence matrix read stored figures instead of grouping
every code application of the project.

Only transcripts/actions/ writes these tables, in the transaction of the change they follow
(transcripts/actions/counts.py); they hold the figures of all the project's coding, unfiltered
and as a lead sees it. A filtered page, or a member whose view blind coding narrows, is
counted from the coding itself. A project without a CountsReady row is counted from the coding
too: its tables are not (yet) known to be exact.
"""

from __future__ import annotations

from django.db import models

from .coding import Code
from .projects import Project


class CountsReady(models.Model):
    """The project's maintained counts are exact: recounted from scratch and followed since."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True, related_name="+")
    recounted_at = models.DateTimeField(auto_now=True)


class CodeTally(models.Model):
    """How many excerpts carry a code, own (`subthemes` false) or the code or any code below it,
    in one transcript, of one participant, or by one coder; or, kind "pair", the co-occurrence of
    the code with the code whose id is `key`, the higher of the two (review/matrices.py defines
    it). A distinct count per code is the number of its rows of that kind above zero (rows that
    fall to zero stay)."""

    class Kind(models.TextChoices):
        TRANSCRIPT = "t", "transcript"
        PARTICIPANT = "p", "participant"
        CODER = "c", "coder"
        PAIR = "x", "pair"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="+")
    subthemes = models.BooleanField()
    kind = models.CharField(max_length=1, choices=Kind.choices)
    key = models.BigIntegerField(help_text="The transcript, participant, coder or other code id.")
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "subthemes", "kind", "key"], name="codetally_unique"),
        ]
        # The participant matrix reads a page of participants across the project's codes, and
        # the co-occurrence matrix every pair.
        indexes = [models.Index(fields=["project", "kind", "key"])]


class ThemeTotal(models.Model):
    """A code's figures on the theme summary, own or with its subthemes: its CodeTally rows summed."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="+")
    subthemes = models.BooleanField()
    excerpts = models.IntegerField(default=0)
    transcripts = models.IntegerField(default=0)
    participants = models.IntegerField(default=0)
    coders = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code", "subthemes"], name="themetotal_unique")]
        indexes = [models.Index(fields=["project"])]
