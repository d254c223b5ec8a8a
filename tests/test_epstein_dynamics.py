"""Epstein's results reproduced: punctuated equilibrium with the classic settings; a legitimacy
drop at once gives an outburst that the same drop in small steps does not; and with the rules
of Mesa's example, equilibrium counts close to those of Mesa's own example."""

import numpy as np
import pytest

from sim.epstein.bursts import outbursts
from sim.epstein.model import EpsteinModel
from sim.kinds import load_scenario

CLASSIC = "scenarios/epstein_2002.toml"
MESA = "scenarios/epstein_2002_mesa.toml"


def _active(scenario, seed, steps):
    model = EpsteinModel(scenario, seed=seed, steps=steps, agent_views=False)
    while model.running:
        model.step()
    ts = model.timeseries()
    return ts, model.citizens


@pytest.mark.parametrize("seed", [1, 2])
def test_classic_settings_give_punctuated_equilibrium(seed):
    ts, citizens = _active(load_scenario(CLASSIC), seed, 600)
    active = ts["active"].to_numpy()
    bursts = outbursts(active, high=0.05 * citizens, low=0.01 * citizens, quiet_steps=5)
    assert len(bursts) >= 8, bursts  # many separate outbursts ...
    assert max(active) > 0.1 * citizens
    assert np.mean(active <= 0.02 * citizens) > 0.4  # ... and much of the time quiet


def test_high_legitimacy_stays_quiet():
    """The negative control: the same measure finds no outburst when the regime is legitimate."""
    ts, citizens = _active(load_scenario(CLASSIC).with_values({"rules.legitimacy": 0.95}), 1, 300)
    assert outbursts(ts["active"], high=0.05 * citizens, low=0.01 * citizens) == []


def _after_drop(over_steps, seed):
    scenario = load_scenario(CLASSIC).with_values({
        "rules.legitimacy": 0.9, "rules.max_jail_term": 1000, "scenario.steps": 400,
        "legitimacy": [{"at_step": 100, "value": 0.7, "over_steps": over_steps}]})
    ts, citizens = _active(scenario, seed, None)
    assert ts["legitimacy"].iloc[-1] == pytest.approx(0.7)
    assert ts["active"].iloc[:100].max() < 0.02 * citizens  # calm before the change
    return ts["active"].iloc[100:].max() / citizens


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_drop_at_once_gives_an_outburst_the_same_drop_in_small_steps_does_not(seed):
    at_once, gradual = _after_drop(1, seed), _after_drop(200, seed)
    assert at_once > 0.25, at_once  # a quarter of all citizens active at the peak
    assert gradual < 0.1, gradual
    assert at_once > 4 * gradual


def test_mesa_settings_give_the_equilibrium_of_mesas_own_example():
    """Mesa's example runs agents one at a time; ours in phases. With its rules (round, von
    Neumann, jailed keep their cell, its densities and vision) and a regime that jails people
    (L = 0.7, J_max = 30), mean counts over steps 30-80 agree to within a quarter."""
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence, EpsteinScenario

    steps, settle = 80, 30
    theirs = []
    for seed in (1, 2):
        m = EpsteinCivilViolence(scenario=EpsteinScenario(rng=seed, legitimacy=0.7, max_jail_term=30))
        rows = []
        for _ in range(steps):
            m.step()
            rows.append((m.QUIET, m.ACTIVE, m.ARRESTED))
        theirs.append(np.array(rows)[settle:].mean(axis=0))
    scenario = load_scenario(MESA).with_values({"rules.legitimacy": 0.7, "rules.max_jail_term": 30})
    ours = []
    for seed in range(1, 7):
        ts, _ = _active(scenario, seed, steps)
        ours.append(ts[["quiet", "active", "jailed"]].to_numpy()[1:][settle:].mean(axis=0))
    theirs, ours = np.mean(theirs, axis=0), np.mean(ours, axis=0)
    assert ours[2] == pytest.approx(theirs[2], rel=0.25), (ours, theirs)  # jailed: ~70-90 of ~1100
    assert ours[0] == pytest.approx(theirs[0], rel=0.05), (ours, theirs)
    assert ours[1] < 0.01 * ours.sum() and theirs[1] < 0.01 * theirs.sum()  # actives: a handful at most
