"""GPPI entrypoint of the iris-sklearn example: a scikit-learn LogisticRegression on the four iris measurements."""
import os
import pickle

import numpy as np
import pandas as pd

# Odahu sets MODEL_LOCATION to the model folder (model.workDir).
MODEL_LOCATION = os.environ.get("MODEL_LOCATION", os.path.dirname(os.path.abspath(__file__)))
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

_model = None
_classes = None


def init():
    """Loads the trained model; this model predicts on matrices."""
    global _model, _classes
    with open(os.path.join(MODEL_LOCATION, "model.pkl"), "rb") as f:
        bundle = pickle.load(f)
    _model, _classes = bundle["model"], bundle["classes"]
    return "matrix"


def predict_on_matrix(input_matrix, provided_columns_names=None):
    """Rows of the four measurements -> ([[species], ...], ('species',)).

    With column names, the columns may come in any order: they are matched to FEATURES by name.
    """
    frame = pd.DataFrame(input_matrix, columns=provided_columns_names or FEATURES)
    missing = [name for name in FEATURES if name not in frame.columns]
    if missing:
        raise ValueError("missing columns: %s" % ", ".join(missing))
    values = frame[FEATURES].to_numpy(dtype=np.float64)
    labels = _model.predict(values)
    return [[_classes[i]] for i in labels], ("species",)


def info():
    """Input and output schemas (GPPI)."""
    inputs = [
        {"name": "sepal_length", "type": "number", "required": True, "example": 5.1},
        {"name": "sepal_width", "type": "number", "required": True, "example": 3.5},
        {"name": "petal_length", "type": "number", "required": True, "example": 1.4},
        {"name": "petal_width", "type": "number", "required": True, "example": 0.2},
    ]
    outputs = [{"name": "species", "type": "string", "required": True, "example": "setosa"}]
    return inputs, outputs
