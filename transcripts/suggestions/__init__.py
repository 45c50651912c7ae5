"""Code suggestions learned from the project's own coding.

    units        participant speech cut into units, labelled by the excerpts (pure)
    basics       thresholds, sampling bounds, progress (pure)
    learning     the doors to the model; model the fitted TF-IDF and calibrated classifiers (pure)
    sampling     the units a model is fitted on, drawn as they are read (pure)
    evaluation   leave-one-transcript-out precision, recall and F1 (pure)
    loading      a project's units, coding and rejections from the database; similar passages
    training     fitting and measuring, stored on the model row
    tasks        training in the background worker, queued after coding changes
"""
