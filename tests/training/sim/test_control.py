"""Mach control logic: the injection-rate correction and its convergence on a model of
driven turbulence (no solver: fast)."""

import math

import pytest

from training.sim.control import MachController, corrected_injection_rate


def test_correction_direction_and_bounds():
    assert corrected_injection_rate(0.3, 3.0, 3.0) == pytest.approx(0.3)
    assert 0.3 < corrected_injection_rate(0.3, 3.0, 2.5) < 0.3 * (3 / 2.5) ** 3
    assert corrected_injection_rate(0.3, 3.0, 3.5) < 0.3
    assert corrected_injection_rate(0.3, 3.0, 0.1) == pytest.approx(0.6)     # at most x2
    assert corrected_injection_rate(0.3, 3.0, 90.0) == pytest.approx(0.15)   # at most /2
    assert corrected_injection_rate(0.3, 3.0, math.nan) == 0.3
    assert corrected_injection_rate(0.3, 3.0, 0.0) == 0.3


def _model_run(controller, rate, *, dissipation=1.5, sound_speed=0.1, turnovers=10.0):
    """Kinetic energy budget dE/dt = eps - C v^3 / L (E = v^2 / 2, L = 1), with the Mach number
    read through the controller; returns [(t/T, interval-mean M_s, rate)]."""
    turnover = 1.0 / (controller.target_mach * sound_speed)
    dt = turnover / 100
    energy, time = 0.0, 0.0
    while time < turnovers * turnover:
        speed = math.sqrt(2 * energy)
        energy += dt * (rate - dissipation * speed ** 3)
        time += dt
        controller.record(time, dt, math.sqrt(2 * energy) / sound_speed)
        if controller.due(time):
            rate = controller.update(time, rate)
    return [(entry["time"] / turnover, entry["mean_mach"], entry["rate_after"])
            for entry in controller.history]


@pytest.mark.parametrize("dissipation", [0.4, 1.5, 4.0])
def test_controller_settles_within_5_percent(dissipation):
    target = 3.0
    controller = MachController(target, 0.5 / (target * 0.1))
    # start from the default guess 0.5 (M c_s)^3 / L, off by up to 8x from the steady rate
    history = _model_run(controller, 0.5 * (target * 0.1) ** 3, dissipation=dissipation)
    late = [mach for time, mach, _ in history if time > 5.0]
    assert len(late) >= 9
    assert all(abs(mach / target - 1) < 0.05 for mach in late)
    steady_rate = dissipation * (target * 0.1) ** 3
    assert history[-1][2] == pytest.approx(steady_rate, rel=0.05)


def test_disabled_controller_records_but_keeps_the_rate():
    controller = MachController(3.0, 0.5 / 0.3, enabled=False)
    history = _model_run(controller, 0.01, turnovers=3.0)
    assert len(history) == 5                      # updates at 1, 1.5, 2, 2.5, 3 T
    assert all(rate == 0.01 for _, _, rate in history)
    assert all(mach > 0 for _, mach, _ in history)


def test_controller_state_round_trip():
    controller = MachController(3.0, 1.0)
    controller.record(1.5, 0.5, 2.0)
    controller.update(2.0, 1.0)
    copy = MachController(1.0, 5.0)
    copy.load_state_dict(controller.state_dict())
    assert copy == controller


def _lagged_model_run(controller, rate, *, lag_turnovers, sound_speed=0.1, turnovers=5.0):
    """As `_model_run`, but the Mach number the run shows trails its energy budget by a
    first-order lag (a slow spin-up: energy parked in field-line bending before it shows as
    flow). Returns [(t/T, instantaneous M_s)] sampled at every step."""
    turnover = 1.0 / (controller.target_mach * sound_speed)
    dt = turnover / 200
    energy = shown = time = 0.0
    samples = []
    while time < turnovers * turnover:
        energy += dt * (rate - 1.5 * math.sqrt(2 * energy) ** 3)
        shown += dt * (energy - shown) / (lag_turnovers * turnover)
        time += dt
        mach = math.sqrt(2 * shown) / sound_speed
        samples.append((time / turnover, mach))
        controller.record(time, dt, mach)
        if controller.due(time):
            rate = controller.update(time, rate)
    return samples


def test_a_later_first_update_avoids_the_spin_up_overshoot():
    target, sound_speed = 3.0, 0.1
    interval = 0.5 / (target * sound_speed)
    steady_rate = 1.5 * (target * sound_speed) ** 3
    early = MachController(target, interval)
    samples = _lagged_model_run(early, steady_rate, lag_turnovers=0.7)
    overshoot_early = max(mach for time, mach in samples if time >= 2.0) / target - 1
    late = MachController(target, interval, first_update=1.5 / (target * sound_speed))
    samples = _lagged_model_run(late, steady_rate, lag_turnovers=0.7)
    overshoot_late = max(mach for time, mach in samples if time >= 2.0) / target - 1
    assert late.history[0]["time"] == pytest.approx(1.5 / (target * sound_speed), rel=1e-6)
    assert early.history[0]["time"] == pytest.approx(1.0 / (target * sound_speed), rel=1e-6)
    # corrections while the lagging flow spins up push the rate past the steady one
    assert overshoot_early > 2 * max(overshoot_late, 0.01)


def test_run_config_refuses_a_control_start_before_one_interval():
    from training.sim.config import RunConfig

    assert RunConfig(mach_control_start_turnovers=1.5).mach_control_start_turnovers == 1.5
    with pytest.raises(ValueError, match="mach_control_start_turnovers"):
        RunConfig(mach_control_start_turnovers=0.25)
