"""Our data in other formats and back. Nothing here imports Django or the app's models.

    codebook.py     the codebook's plain shape (Theme, Quote, CodebookDocument, walk)
    docx_writer.py  the codebook as a Word document
    refi.py         REFI-QDA codebooks: write .qdc, read .qdc/.qde/.qdpx
    readers/        transcripts (.docx, .txt, .vtt, .srt), participant and codebook sheets,
                    and the checks every uploaded file passes (safety.py)
    qdpx/           REFI-QDA projects, read and written whole (in the making)

Matching what was read to the database is the business of `transcripts.actions` and
`transcripts.codebook`; these modules only turn bytes into plain shapes and back.
"""
