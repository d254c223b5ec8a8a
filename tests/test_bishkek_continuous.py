"""The 5 October story on the continuous walking model (scenarios/bishkek_2020_10_05_continuous.toml):
the grid's own story checks (tests/test_bishkek_dispersal.py), run on the continuous variant's
evening to 20:50 (force comes at about 20:15, the square empties within half an hour). Slow: about
two to three minutes on a 2-core machine."""

import tomllib

import pytest

from sim.results import read_run
from sim.run.runner import run

# the grid's checks, collected here again: they read the fixture ``default_run``, which this module
# gives the continuous run
from tests.test_bishkek_dispersal import (  # noqa: F401
    test_injuries_on_both_sides_and_arrests, test_peaceful_until_the_splinter_group_is_at_the_gate,
    test_the_square_empties_into_the_side_streets,
)

VARIANT = "scenarios/bishkek_2020_10_05_continuous.toml"
SPAN_S = 4800.0  # to 20:50

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The continuous variant's evening, under the name the grid's checks ask for."""
    return read_run(run(VARIANT, duration_s=SPAN_S, out=tmp_path_factory.mktemp("runs") / "cont", progress=False))


def test_the_evening_walked_on_the_continuous_model(default_run):
    assert tomllib.loads(default_run.scenario_toml)["walking"]["model"] == "continuous"
