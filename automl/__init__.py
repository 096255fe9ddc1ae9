"""AutoML: search model families and hyperparameters under a budget, tracking every trial."""
