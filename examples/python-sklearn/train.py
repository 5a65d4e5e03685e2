"""Trains the iris classifier of this example and writes odahuflow_model/model.pkl.

    /usr/bin/python3 examples/python-sklearn/train.py

Deterministic: the iris data ships with scikit-learn and the solver has no randomness left with a fixed
random_state, so the same scikit-learn version writes the same model. A pickle only loads with the scikit-learn
version that wrote it: retrain when the environment's scikit-learn changes.
"""
import os
import pickle

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "odahuflow_model", "model.pkl")


# Odahu's trainer leaves the first rows of the training data and the model's answers for them beside the model:
# `gppi test` and `omaf test` predict on head_input.pkl and compare with head_output.pkl.
HEAD_ROWS = [0, 50, 100]  # one flower of each species


def write_head(model, iris, classes):
    import pandas as pd

    columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    head = pd.DataFrame(iris.data[HEAD_ROWS], columns=columns)
    answers = pd.DataFrame([[classes[i]] for i in model.predict(head.to_numpy())], columns=["species"])
    for name, frame in (("head_input.pkl", head), ("head_output.pkl", answers)):
        with open(os.path.join(HERE, "odahuflow_model", name), "wb") as f:
            pickle.dump(frame, f, protocol=4)


def main():
    iris = load_iris()
    # Columns in the order of entrypoint.FEATURES: sepal length, sepal width, petal length, petal width (cm).
    model = LogisticRegression(max_iter=1000, random_state=0)
    model.fit(iris.data, iris.target)
    bundle = {"model": model, "classes": [str(name) for name in iris.target_names]}
    with open(OUT, "wb") as f:
        pickle.dump(bundle, f, protocol=4)
    write_head(model, iris, bundle["classes"])
    print("wrote %s (training accuracy %.3f)" % (OUT, model.score(iris.data, iris.target)))


if __name__ == "__main__":
    main()
