"""The fitted model: TF-IDF over words and character n-grams, one calibrated linear classifier per code.

Pure: plain examples in, probabilities out. numpy and scikit-learn load with this module only,
which learning.py imports only when a model is fitted or used, so a web worker that shows no
suggestions does not carry them; nothing leaves the machine and nothing is downloaded,
the model is fitted from the project's own coding alone.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import joblib
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from .basics import FEWEST_EXAMPLES, MOST_FEATURES, MOST_NEGATIVES, Progress, examples_per_code, no_progress
from .sampling import sample_of
from .units import Example

@dataclass
class Suggester:
    """A fitted model: the vectorizer, a classifier per learned code, and why other codes were not learned."""

    vectorizer: FeatureUnion
    classifiers: dict[int, CalibratedClassifierCV]
    too_few: dict[int, int] = field(default_factory=dict)
    n_units: int = 0
    library_version: str = sklearn.__version__

    def probabilities(self, texts: Sequence[str]) -> dict[int, np.ndarray]:
        """code -> the probability, for each text, that the code applies."""
        if not texts or not self.classifiers:
            return {code: np.zeros(len(texts)) for code in self.classifiers}
        matrix = self.vectorizer.transform(texts)
        return {code: model.predict_proba(matrix)[:, 1] for code, model in self.classifiers.items()}

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self, buffer, compress=3)
        return buffer.getvalue()


def from_bytes(data: bytes) -> Suggester | None:
    """The stored model, or None when it was fitted by another version of the library (then it is refitted)."""
    model = joblib.load(io.BytesIO(data))
    return model if getattr(model, "library_version", None) == sklearn.__version__ else None


def new_vectorizer() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=MOST_FEATURES)),
            (
                "characters",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, max_features=MOST_FEATURES),
            ),
        ]
    )


def fit(examples: Sequence[Example], codes: Sequence[int] | None = None, progress: Progress = no_progress) -> Suggester:
    """A model fitted on the examples, for `codes` (default: every code an example has).

    A code with fewer than FEWEST_EXAMPLES units, or with nothing but positives, is not learned;
    `too_few` says how many it had.
    """
    counts = examples_per_code(examples)
    wanted = sorted(counts) if codes is None else list(codes)
    random = np.random.default_rng(0)  # the same coding always gives the same model
    examples = sample_of(examples, wanted)
    texts = [example.unit.text for example in examples]
    vectorizer = new_vectorizer()
    if not texts:
        return Suggester(vectorizer, {}, {code: 0 for code in wanted}, 0)
    matrix = vectorizer.fit_transform(texts)
    classifiers, too_few = {}, {}
    for done, code in enumerate(wanted):
        progress(done, len(wanted), f"Learning code {done + 1} of {len(wanted)}")
        rows = rows_for(examples, code, random)
        answers = np.array([examples[i].label(code) for i in rows], dtype=bool)
        if answers.sum() < FEWEST_EXAMPLES or (~answers).sum() < FEWEST_EXAMPLES:
            too_few[code] = counts.get(code, 0)
            continue
        # A linear SVM, its scores made probabilities by Platt scaling on three folds: as good as a
        # logistic regression on the demo study and some twenty times faster to fit.
        classifier = CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"), method="sigmoid", cv=3)
        classifiers[code] = classifier.fit(matrix[rows], answers)
    progress(len(wanted), len(wanted), "Done")
    return Suggester(vectorizer, classifiers, too_few, len(texts))


def rows_for(examples: Sequence[Example], code: int, random: np.random.Generator) -> list[int]:
    """The examples a code's classifier learns from: every one it labels yes, at most MOST_NEGATIVES no."""
    yes, no = [], []
    for i, example in enumerate(examples):
        answer = example.label(code)
        if answer is not None:
            (yes if answer else no).append(i)
    if len(no) > MOST_NEGATIVES:
        no = sorted(random.choice(no, MOST_NEGATIVES, replace=False).tolist())
    return sorted(yes + no)


def most_similar(
    query: str, texts: Sequence[str], limit: int = 10, fitted: Suggester | None = None
) -> list[tuple[int, float]]:
    """(index into texts, cosine similarity) of the texts most like the query, best first, similarity above 0.

    With a fitted model, its vectorizer (the words of the project's coded transcripts) compares
    them; without, one is fitted on the texts themselves.
    """
    if not texts or not query.strip():
        return []
    if fitted is not None and fitted.n_units:
        matrix = fitted.vectorizer.transform([*texts, query])
    else:
        matrix = new_vectorizer().fit_transform([*texts, query])
    # TF-IDF rows are L2-normalized per vectorizer, so the dot product is a cosine (halved sum of two).
    scores = (matrix[:-1] @ matrix[-1].T).toarray().ravel() / 2
    order = np.argsort(-scores, kind="stable")[:limit]
    return [(int(i), float(scores[i])) for i in order if scores[i] > 0]
