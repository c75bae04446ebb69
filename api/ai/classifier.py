"""The built-in classifier: trained at build time on scikit-learn's bundled iris data (no
download), converted to ONNX with skl2onnx and served by ONNX Runtime. Two immutable
versions: 1 is a logistic regression, 2 a random forest; each .onnx has a .json card beside it
with the held-out accuracy measured when it was built.

`build()` (`ehb ai build-models`, or the classifier process on its first start) writes the
files under AI_MODELS_DIR (default DATA_DIR/ai/models); scikit-learn and skl2onnx are
imported only there. Serving needs onnxruntime and numpy alone."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASSES = ("setosa", "versicolor", "virginica")
VERSIONS = {"1": "logistic_regression", "2": "random_forest"}
SEED = 7


def onnx_path(folder: Path, version: str) -> Path:
    return folder / f"iris-{version}.onnx"


def card_path(folder: Path, version: str) -> Path:
    return folder / f"iris-{version}.json"


def built(folder: Path) -> bool:
    return all(onnx_path(folder, v).exists() and card_path(folder, v).exists() for v in VERSIONS)


def build(folder: Path) -> dict[str, dict]:
    """Train, measure and convert every version; returns the cards. Files are written to a
    temporary name and renamed, so a concurrent reader never sees half a model."""
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    folder.mkdir(parents=True, exist_ok=True)
    x, y = load_iris(return_X_y=True)
    x = x.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=SEED,
                                                        stratify=y)
    estimators = {"1": LogisticRegression(max_iter=1000),
                  "2": RandomForestClassifier(n_estimators=40, max_depth=4, random_state=SEED)}
    cards = {}
    for version, estimator in estimators.items():
        estimator.fit(x_train, y_train)
        onx = to_onnx(estimator, x_train[:1], options={id(estimator): {"zipmap": False}},
                      target_opset=17)
        card = {"model": f"iris-{version}", "algorithm": VERSIONS[version],
                "dataset": "scikit-learn iris (bundled, 150 rows)",
                "features": list(FEATURES), "classes": list(CLASSES),
                "metrics": {"accuracy": round(float(estimator.score(x_test, y_test)), 4),
                            "test_rows": int(len(y_test)), "train_rows": int(len(y_train))},
                "license": "BSD-3-Clause"}
        for path, data in ((onnx_path(folder, version), onx.SerializeToString()),
                           (card_path(folder, version), json.dumps(card, indent=2).encode())):
            tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        cards[version] = card
    return cards


def read_card(folder: Path, version: str) -> dict:
    return json.loads(card_path(folder, version).read_text())


@dataclass
class OnnxClassifier:
    """One version's ONNX Runtime session."""

    version: str
    session: object
    input_name: str

    @classmethod
    def load(cls, folder: Path, version: str) -> "OnnxClassifier":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # tiny model: threads cost more than they bring
        session = ort.InferenceSession(str(onnx_path(folder, version)), options,
                                       providers=["CPUExecutionProvider"])
        return cls(version, session, session.get_inputs()[0].name)

    def predict(self, rows: list[list[float]]) -> list[dict]:
        import numpy as np

        labels, probabilities = self.session.run(
            None, {self.input_name: np.asarray(rows, dtype=np.float32)})
        return [{"label": CLASSES[int(label)],
                 "probabilities": {c: round(float(p), 6) for c, p in zip(CLASSES, probs)}}
                for label, probs in zip(labels, probabilities)]
