"""Tables: inputs, data plan, split, preprocessing, model families, fitting, metrics, SHAP,
plots and the trial runner: what ``classify`` and ``regress`` search over."""
