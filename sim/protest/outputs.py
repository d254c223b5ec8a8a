"""The protest model's data dictionary: unit and meaning of every column and summary key a run writes
(``sim.schema``; ``docs/outputs.md`` is rendered from it by ``scripts/write_outputs_doc.py``)."""

from __future__ import annotations

from ..schema import Dictionary, Entry, common_summary

_STATES = {  # protester states: what each counts
    "quiet": "protesters on the map, neither active nor fleeing (Epstein's quiet)",
    "active": "protesters on the map openly rebelling: grievance minus risk times the arrest chance they see "
              "exceeds the threshold (Epstein's active)",
    "fleeing": "protesters running from gas, a grenade, a jet or the fear of people around them",
    "injured": "protesters injured so far (the injured stay where they fell and stay counted)",
    "arrested": "protesters arrested so far (taken off the map)",
    "left": "protesters who left the map by an exit so far",
}
_POLICE = {
    "on_duty": "officers on the map and unhurt",
    "injured": "officers injured so far",
    "left": "officers who left the map by an exit so far",
}
_CAUSES = "gas (tear-gas dose), water_cannon (knocked down by a jet), stun_grenade, baton, crush (packed flight), " \
          "projectile (thrown objects: police only)"


def _t(name, kind, unit, meaning):
    return Entry(name, kind, unit, meaning)


TIMESERIES = (
    _t("time_s", "number", "s", "seconds since the scenario's start"),
    _t("clock", "clock", "", "clock time of the row, HH:MM:SS (past midnight it starts again at 00)"),
    *(_t(f"protesters_{s}", "integer", "people", m) for s, m in _STATES.items()),
    *(_t(f"police_{s}", "integer", "people", m) for s, m in _POLICE.items()),
    _t("protesters_mean_legitimacy", "number", "share",
       "mean legitimacy L (0-1) the unhurt protesters on the map see in the police; with [protest] dynamics it "
       "falls as they see force used on people and recovers without it, else it stays as the scenario set it "
       "(empty when nobody is left)"),
    _t("protesters_tired", "integer", "people",
       "unhurt protesters on the map whose energy is below [protest] tired_energy: being active tires people "
       "(with [protest] dynamics; 0 without)"),
    _t("gas_grams", "number", "g", "tear-gas agent in the air over the whole map at that moment"),
    _t("gate_strength", "number", "share", "strength the gate has left: 1 intact, 0 broken (1 throughout without a "
                                            "[gate])"),
    _t("protesters_in_<place>", "integer", "people", "protesters standing in the place <place> (exits are not "
                                                      "places here: whoever steps on one leaves)"),
    _t("police_in_<place>", "integer", "people", "officers standing in the place <place>"),
    _t("protesters_left_via_<exit>", "integer", "people",
       "protesters who left the map by the exit <exit> so far: the exit nearest where each stood a step before "
       "leaving; summed over exits it is protesters_left"),
)

EVENTS = (
    _t("time_s", "number", "s", "seconds since the scenario's start when it happened; water cannon rows: the "
                                "first jet of the minute they sum"),
    _t("clock", "clock", "", "clock time of time_s, HH:MM:SS"),
    _t("kind", "text", "", "what happened: event (a scenario event), trigger (police change posture), pursuit (a "
                           "pursuing unit picks a street), gate (the gate gives way), force (a use of tear gas, a "
                           "stun grenade or water cannon), first_force (marks the first of them, which also has "
                           "its force row), injury, arrest (baton blows show as injuries by baton)"),
    _t("label", "text", "", "one line for people: the scenario's label of an event or trigger, else a summary"),
    _t("detail", "text", "", "more about it: who was sent where; 'N injured' for a stun grenade, 'N knocked "
                             "down' for a water cannon row, the canister's grams for tear gas"),
    _t("side", "text", "", "protesters or police: who acted (force, trigger, pursuit) or to whom it happened "
                           "(injury, arrest; gate: the protesters pressing it); empty for scenario events"),
    _t("unit", "text", "", "the police unit that acted (force, trigger: every unit it moves, comma-separated, "
                           "pursuit) or whose officers were injured; empty otherwise"),
    _t("crowd", "text", "", "the crowd a scenario event moved, or whose protesters were injured or arrested"),
    _t("place", "text", "", "where: the place a canister, grenade or jet was aimed at, where the injured or "
                            "arrested stood, where a trigger or event sends people; empty for floor outside every "
                            "named place"),
    _t("means", "text", "", "force and first_force rows: tear_gas, stun_grenades or water_cannon"),
    _t("cause", "text", "", "injury rows: " + _CAUSES),
    _t("count", "integer", "", "how many: people (event: people sent; pursuit: people in the street; gate: "
                               "active protesters pressing; injury, arrest: people, one row per step, side, group, "
                               "place and cause), canisters (tear_gas, 1 per row), grenades (stun_grenades, 1 per "
                               "row); empty for water cannon rows"),
    _t("duration_s", "number", "s", "tear_gas: seconds the canister emits; water_cannon: seconds of jet in the "
                                    "row's minute at that place, summed over the unit's trucks (a truck fires in "
                                    "many steps while people are in reach, so its rows sum one unit's jets per "
                                    "minute and place); empty otherwise"),
)

SUMMARY = (
    *common_summary("dt seconds"),
    _t("map", "text", "", "the map: a built-in map's name, or ascii for a text map"),
    _t("cell_size", "number", "m", "side of a grid cell (one person per cell at most)"),
    _t("dt", "number", "s", "simulated seconds per step"),
    _t("sim_seconds", "number", "s", "simulated seconds run"),
    _t("start_clock", "text", "", "the scenario's start, HH:MM"),
    _t("end_clock", "clock", "", "clock time the run ended, HH:MM:SS"),
    _t("protesters", "integer", "people", "protesters in the scenario"),
    _t("police", "integer", "people", "officers in the scenario"),
    *(_t(f"final_counts.protesters.{s}", "integer", "people", f"at the end: {m}") for s, m in _STATES.items()),
    *(_t(f"final_counts.police.{s}", "integer", "people", f"at the end: {m}") for s, m in _POLICE.items()),
    _t("left_the_area", "integer", "people", "people of either side who left the map by an exit"),
    _t("protesters_left_via.<exit>", "integer", "people", "protesters who left by the exit <exit> (the last row "
                                                          "of the time series' protesters_left_via columns)"),
    _t("events", "list", "", "labels of the scenario events that fired, in order"),
    _t("first_force_s", "number", "s", "seconds after the start of the first use of force: tear gas, a stun "
                                       "grenade or water cannon (batons and arrests not counted); null if none"),
    _t("first_force_clock", "clock", "", "clock time of first_force_s; null if none"),
    _t("first_force_means", "text", "", "the means first used: tear_gas, stun_grenades or water_cannon; null if none"),
    _t("first_force_unit", "text", "", "the unit that first used force; null if none"),
    _t("triggers.<label>", "clock", "", "clock time the trigger <label> fired (triggers that never fired are "
                                        "absent)"),
    _t("injured_protesters", "integer", "people", "protesters injured in all (the sum of "
                                                  "injuries_by_cause.protesters)"),
    _t("injured_police", "integer", "people", "officers injured in all"),
    _t("injuries_by_cause.protesters.<cause>", "integer", "people",
       "protesters injured by <cause>; causes with none are absent. Causes: " + _CAUSES),
    _t("injuries_by_cause.police.<cause>", "integer", "people", "officers injured by <cause>; causes with none "
                                                                "are absent"),
    _t("arrested", "integer", "people", "protesters arrested in all"),
    _t("means_used.tear_gas", "integer", "canisters", "tear-gas canisters thrown"),
    _t("means_used.stun_grenades", "integer", "grenades", "stun grenades thrown"),
    _t("means_used.water_cannon_s", "number", "s", "seconds of water cannon jet, summed over trucks (a truck "
                                                   "with people in reach fires in a share water_cannon.duty of "
                                                   "the steps, 0.5 by default)"),
    _t("gate_strength", "number", "share", "strength the gate had left at the end: 1 intact, 0 broken"),
)

TRAJECTORIES = (
    _t("time_s", "number", "s", "seconds since the scenario's start (float32)"),
    _t("frame", "integer", "", "frame number: time_s / [output] trajectories_every_s (int32; PedPy's frame)"),
    _t("id", "integer", "", "the person's (or vehicle's) index, the same all run (int32)"),
    _t("kind", "text", "", "protester, police or vehicle (a water cannon truck)"),
    _t("x_m", "number", "m", "east of the map grid's south-west corner, at the centre of the person's cell; "
                             "on the continuous walking model the person's own position (float32)"),
    _t("y_m", "number", "m", "north of the map grid's south-west corner, at the centre of the person's cell; "
                             "on the continuous walking model the person's own position (float32)"),
    _t("state", "text", "", "protesters: quiet, active, fleeing or injured; police and vehicles: on_duty or "
                            "injured (the arrested and those who left have no rows)"),
    _t("cause", "text", "", "injured rows: " + _CAUSES + "; empty (null) otherwise"),
)

GAS = (
    _t("time_s", "number", "s", "seconds since the scenario's start (float32): a frame of trajectories.parquet"),
    _t("frame", "integer", "", "the frame of trajectories.parquet at that time (int32)"),
    _t("cell", "integer", "", "the gas grid's cell, x * ny + y (int32): the grid's shape [nx, ny] and its factor (map "
                              "cells per side of a gas cell) are in the file's metadata"),
    _t("conc", "number", "g/m2", "tear-gas agent over a square metre of ground in that cell (float32 to 8 significant "
                                 "bits, as the browser view draws it); only cells "
                                 "above 5% of [tear_gas] flee_concentration, the ones the browser view draws"),
)

HARM_CELLS = (
    _t("side", "text", "", "protesters, or police (officers and their vehicles)"),
    _t("ix", "integer", "", "column of the harm cell: x_m / harm_cell_m, rounded down"),
    _t("iy", "integer", "", "row of the harm cell: y_m / harm_cell_m, rounded down"),
    _t("x_m", "number", "m", "centre of the harm cell, east of the map's south-west corner"),
    _t("y_m", "number", "m", "centre of the harm cell, north of the map's south-west corner"),
    _t("visits", "integer", "people", "arrivals of people of that side in the cell, one frame a second (first "
                                      "frame on the map, or standing in another cell a second before)"),
    _t("person_s", "number", "s", "person-seconds people of that side spent in the cell"),
    _t("injured_<cause>", "integer", "people", "people of that side injured in the cell by <cause>. Causes: "
                                               + _CAUSES),
)

DICTIONARY = Dictionary(
    kind="protest",
    about="A protest run (scenarios without a model key) writes counts every record_every seconds, every event, "
          "use of force, injury and arrest, and a summary; protesters and police are always counted apart.",
    files={
        "timeseries.parquet": ("One row every record_every seconds of simulated time (and one at the end).",
                               TIMESERIES),
        "events.csv": ("One row per event, in time order; empty cells where a column does not apply.", EVENTS),
        "summary.json": ("The run in numbers (keys are paths into the JSON objects).", SUMMARY),
        "trajectories.parquet": ("Only with --trajectories or [output] trajectories_every_s: one row per person "
                                 "and vehicle on the map every trajectories_every_s seconds, written as the run "
                                 "goes. Map metres: origin at the south-west corner of the map grid, x east, y "
                                 "north.", TRAJECTORIES),
        "gas.parquet": ("Written with trajectories.parquet: the tear-gas cloud at its frames, one row per gas "
                        "cell the browser view draws (a frame without visible gas has no rows), so a replay "
                        "draws the cloud.", GAS),
        "harm_cells.parquet": ("Only with [output] harm_cells = true: per side and harm cell (harm_cell_m metres) "
                               "anyone visited, visits and injuries by cause; the per-run input of "
                               "protest-sim harm.", HARM_CELLS),
    },
)
