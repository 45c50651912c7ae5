"""Code suggestions learned from the project's own coding.

    units        participant speech cut into units, labelled by the excerpts (pure)
    learning     the model: TF-IDF and a calibrated linear classifier per code (pure)
    evaluation   leave-one-transcript-out precision, recall and F1 (pure)
    loading      a project's units, coding and rejections from the database
"""
