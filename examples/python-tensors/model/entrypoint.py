"""Triton's "simple" model as a GPPI tensors-mode entrypoint: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1."""
import numpy as np


def init():
    return "tensors"


def predict_on_tensors(inputs):
    a = inputs["INPUT0"]
    b = inputs["INPUT1"]
    if (a < 0).any():
        raise ValueError("INPUT0 must not be negative")
    return {"OUTPUT0": np.add(a, b, dtype=np.int32), "OUTPUT1": np.subtract(a, b, dtype=np.int32)}
