"""The README's first command: a real AutoML run on a real dataset with the embedded store.

    python -m automl.demo [--minutes 1]

Classifies the Wisconsin breast-cancer biopsies that ship with scikit-learn, prints the
leaderboard, registers the winner, promotes it to the ``production`` alias and loads it back by
run id and by alias.
"""

from __future__ import annotations

import argparse
import logging

from sklearn.datasets import load_breast_cancer

import automl
import registry
import tracking


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="time budget (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    summary = automl.classify(
        frame,
        target_col="diagnosis",
        pos_label="malignant",
        primary_metric="roc_auc",
        timeout_minutes=args.minutes,
        experiment_name="demo_breast_cancer",
        register_model_name="breast_cancer",
    )
    print()
    print(summary)
    print()
    best = summary.best_trial
    version = summary.registered_model_version
    registry.set_registered_model_alias(version.name, "production", version.version)
    sample = frame.drop(columns=["diagnosis"]).head(3)
    by_run = automl.load_model(best.run_id)
    by_alias = tracking.load_model(f"models:/{version.name}@production")
    print(f"tracking store:        {tracking.get_tracking_uri()}")
    print(f"best trial notebook:   {best.notebook_path}")
    print(f"data exploration:      {summary.exploration_notebook_path}")
    print(f"load by run id:        automl.load_model({best.run_id!r})")
    print(f"  -> predicts          {list(by_run.predict(sample))}")
    print(f"load by alias:         tracking.load_model('models:/{version.name}@production')")
    print(f"  -> predicts          {list(by_alias.predict(sample))}")


if __name__ == "__main__":
    main()
