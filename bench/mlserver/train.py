"""Trains the iris classifier bench/mlserver.ts serves with both MLServer and omaf, and writes it with joblib.

    bench/.work/mlserver-venv/bin/python bench/mlserver/train.py OUT.joblib [OUT.joblib ...]

Run in the benchmark's venv (bench/mlserver/setup.sh does it), so the file loads with the scikit-learn both servers
import. The same model as examples/python-sklearn: a LogisticRegression on the four iris measurements, classes 0, 1, 2
(setosa, versicolor, virginica). Deterministic for a given scikit-learn version; every OUT gets the same bytes.
"""
import os
import shutil
import sys

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def main(outs):
    if not outs:
        sys.exit("usage: train.py OUT.joblib [OUT.joblib ...]")
    iris = load_iris()
    model = LogisticRegression(max_iter=1000, random_state=0)
    model.fit(iris.data, iris.target)
    first = outs[0]
    os.makedirs(os.path.dirname(os.path.abspath(first)), exist_ok=True)
    joblib.dump(model, first)
    for out in outs[1:]:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        shutil.copyfile(first, out)
    print("wrote %s (training accuracy %.3f)" % (", ".join(outs), model.score(iris.data, iris.target)))


if __name__ == "__main__":
    main(sys.argv[1:])
