"""Small datasets for the ML-prep tests: one column of every semantic type, plus real data."""

from __future__ import annotations

import numpy as np
import pandas as pd

WORDS = ["good", "bad", "great", "poor", "fine", "awful", "nice", "slow", "fast", "cheap"]


def mixed_frame(n: int = 300, seed: int = 0, task: str = "classification") -> pd.DataFrame:
    """Numeric (with gaps), text categories (pandas ``str`` dtype), a low-cardinality integer,
    yes/no, date strings, free text, a 120-level category, an id and a constant column."""
    rng = np.random.default_rng(seed)
    city = rng.integers(0, 120, n)
    x = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], n)
    signal = x + (color == "red") * 1.5 + (city % 7 == 0) * 1.0
    days = pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    df = pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "x": np.where(rng.random(n) < 0.1, np.nan, x),
            "noise": rng.normal(size=n),
            "color": pd.array(np.where(rng.random(n) < 0.05, None, color), dtype="str"),
            "rooms": rng.integers(1, 5, n),
            "member": rng.choice(["yes", "no"], n),
            "signup": (pd.Timestamp("2021-01-01") + days).strftime("%Y-%m-%d"),
            "review": [" ".join(rng.choice(WORDS, 5)) for _ in range(n)],
            "city": pd.array([f"city_{c}" for c in city], dtype="str"),
            "const": 7,
        }
    )
    if task == "classification":
        df["label"] = np.where(signal + rng.normal(scale=0.5, size=n) > 0.5, "yes", "no")
    else:
        df["label"] = 3 * signal + rng.normal(scale=0.3, size=n)
    return df


def penguins_like(n: int = 240, seed: int = 1) -> pd.DataFrame:
    """Three species told apart by two measurements and an island; some values missing."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], n, p=[0.45, 0.2, 0.35])
    centre = {"Adelie": (38.8, 18.3), "Chinstrap": (48.8, 18.4), "Gentoo": (47.5, 15.0)}
    bill = np.array([centre[s][0] for s in species]) + rng.normal(scale=2.5, size=n)
    depth = np.array([centre[s][1] for s in species]) + rng.normal(scale=0.8, size=n)
    island = np.where(species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen"], n))
    bill[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {"bill_length_mm": bill, "bill_depth_mm": depth, "island": island, "species": species}
    )
