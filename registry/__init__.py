"""Model registry on the tracking store: versions, aliases, stages, history."""
