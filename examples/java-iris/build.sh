#!/bin/sh
# Builds the java-iris example in place: compiles the model class, trains it on data/iris.csv into
# model/weights.txt and writes model/iris-model.jar. The JAR is reproducible: entries sorted, timestamps fixed
# (the same JDK gives the same bytes). Needs a JDK 17+: javac, java and jar on PATH, or JAVA_HOME set.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${JAVA_HOME:+$JAVA_HOME/bin/}
build="$here/build"
rm -rf "$build"
mkdir -p "$build/classes" "$build/train" "$here/model"
"${bin}javac" --release 17 -encoding UTF-8 -d "$build/classes" "$here/src/example/iris/IrisModel.java"
"${bin}javac" --release 17 -encoding UTF-8 -d "$build/train" "$here/train/Train.java"
"${bin}java" -cp "$build/train" Train "$here/data/iris.csv" "$here/model/weights.txt"
printf 'Manifest-Version: 1.0\nOmaf-Model-Class: example.iris.IrisModel\n' > "$build/MANIFEST.MF"
cd "$build/classes"
# shellcheck disable=SC2046 # one argument per class file, sorted
"${bin}jar" --create --file "$here/model/iris-model.jar" --manifest "$build/MANIFEST.MF" --date 2000-01-01T00:00:02Z \
  $(find . -type f -name '*.class' | sed 's|^\./||' | LC_ALL=C sort)
cd "$here"
rm -rf "$build"
