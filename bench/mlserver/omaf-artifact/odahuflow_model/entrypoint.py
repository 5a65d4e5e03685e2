"""GPPI entrypoint of the benchmark's iris model: the scikit-learn estimator MLServer's sklearn runtime serves.

Loads model.joblib (bench/mlserver/train.py) as mlserver_sklearn does and answers what that runtime's default
`predict` output answers: the class index per row (0 setosa, 1 versicolor, 2 virginica).
"""
import os

import joblib
import numpy as np

# Odahu sets MODEL_LOCATION to the model folder (model.workDir).
MODEL_LOCATION = os.environ.get("MODEL_LOCATION", os.path.dirname(os.path.abspath(__file__)))
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

_model = None


def init():
    global _model
    _model = joblib.load(os.path.join(MODEL_LOCATION, "model.joblib"))
    return "matrix"


def predict_on_matrix(input_matrix, provided_columns_names=None):
    """Rows of the four measurements (a list of rows or a numpy array) -> ([[class], ...], ("predict",))."""
    labels = _model.predict(np.asarray(input_matrix, dtype=np.float64))
    return labels.reshape(-1, 1), ("predict",)


def info():
    inputs = [{"name": name, "type": "number", "required": True, "example": 1.0} for name in FEATURES]
    outputs = [{"name": "predict", "type": "integer", "required": True, "example": 0}]
    return inputs, outputs
