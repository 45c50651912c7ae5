"""What the review pages show: filters, theme counts, quotes, matrices, co-occurrence, search,
and the reports that say the same in .docx, .csv and .xlsx.

Every figure is computed in the database (values() + Count(distinct=True)) with a fixed number
of queries whatever the number of codes, excerpts or transcripts; Python only arranges rows.
Each module states the rules its page states:

    filters.py      the filter form, the filters as conditions on excerpts, the code tree
    summary.py      counts per code, own and with subthemes (the theme summary)
    quotes.py       a code's quotes, their citation and the text around them
    matrices.py     code × participant and × attribute value, co-occurrence, A AND / NOT B
    text_search.py  keyword in context across the transcripts
    reports.py      the .docx report and the coded excerpts as .csv or .xlsx

Each imports only the ones above it in this list.
"""

from .filters import FilterOptions, ReviewFilters, Tree, query_value
from .matrices import (
    Cooccurrence,
    Matrix,
    attribute_matrix,
    coded_a_and_b,
    cooccurrence,
    cooccurrence_counts,
    participant_matrix,
    shared_passages,
)
from .quotes import (
    CONTEXT_SIZES,
    Context,
    Quote,
    QuoteCode,
    citation,
    context_around,
    quote_ids,
    quotes_for_code,
)
from .summary import MEASURES, SORT_KEYS, heat_class, scope_participants, sort_rows, theme_summary, width_class
from .text_search import MAX_HITS, hits_digest, mark_coded, search

__all__ = [
    "CONTEXT_SIZES",
    "MAX_HITS",
    "MEASURES",
    "SORT_KEYS",
    "Context",
    "Cooccurrence",
    "FilterOptions",
    "Matrix",
    "Quote",
    "QuoteCode",
    "ReviewFilters",
    "Tree",
    "attribute_matrix",
    "citation",
    "coded_a_and_b",
    "context_around",
    "cooccurrence",
    "cooccurrence_counts",
    "heat_class",
    "hits_digest",
    "mark_coded",
    "participant_matrix",
    "query_value",
    "quote_ids",
    "quotes_for_code",
    "scope_participants",
    "search",
    "shared_passages",
    "sort_rows",
    "theme_summary",
    "width_class",
]
