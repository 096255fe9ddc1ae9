"""Readable random run names ("brave-otter-42"), as MLflow users are used to."""

from __future__ import annotations

import random

_ADJECTIVES_TEXT = (
    "agile amber bold brave bright calm clever cosmic crisp daring eager fast fierce gentle "
    "glossy golden grand happy honest jolly keen kind lively lucky merry mighty nimble noble "
    "polite proud quick quiet rare rosy shy silent smart snowy sunny swift tidy vivid warm wise"
)
_NOUNS_TEXT = (
    "ant bat bear bee bison cat colt crab crow deer dingo dove duck eagle eel elk finch fox frog "
    "gnat goat hare hawk heron horse ibis jay koala lark lion lynx mole moth newt otter owl panda "
    "pig puma quail ram robin seal shark sloth snail swan tiger toad trout wasp whale wolf yak"
)
_ADJECTIVES = _ADJECTIVES_TEXT.split()
_NOUNS = _NOUNS_TEXT.split()
_rng = random.Random()


def random_run_name(rng: random.Random | None = None) -> str:
    """adjective-noun-number."""
    rng = rng or _rng
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{rng.randint(1, 999)}"
