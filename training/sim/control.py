"""Mach control: rescale the energy injection rate toward a target sonic Mach number."""

import math
from dataclasses import asdict, dataclass, field

__all__ = ["MachController", "corrected_injection_rate", "CONTROL_INTERVAL_TURNOVERS",
           "CONTROL_EXPONENT", "CONTROL_MAX_FACTOR"]

# rescale every half turnover, by (target / <M_s>)^CONTROL_EXPONENT, at most by a factor of 2;
# steady driven turbulence dissipates eps ~ v^3 / L, so an exponent of 3 would jump straight to
# the steady rate, but M_s answers a change of rate only after about one turnover: the full cubic
# step then over-corrects (measured: eps swinging by +-20% around its mean), half of it does not
CONTROL_INTERVAL_TURNOVERS = 0.5
CONTROL_EXPONENT = 1.5
CONTROL_MAX_FACTOR = 2.0


def corrected_injection_rate(rate, target_mach, measured_mach, *, exponent=CONTROL_EXPONENT,
                             max_factor=CONTROL_MAX_FACTOR):
    """The injection rate after one control update.

    Parameters
    ----------
    rate : float
        Current energy injection rate.
    target_mach, measured_mach : float
        Target and measured (interval-averaged) sonic Mach numbers.
    exponent : float
        Gain: the rate is multiplied by ``(target / measured) ** exponent``.
    max_factor : float
        Bound on the change per update, in either direction.

    Returns
    -------
    float
        The new rate (unchanged when ``measured_mach`` is not positive and finite).

    Examples
    --------
    >>> corrected_injection_rate(1.0, 2.0, 2.0)
    1.0
    >>> corrected_injection_rate(1.0, 4.0, 1.0)
    2.0
    """
    if not (math.isfinite(measured_mach) and measured_mach > 0.0):
        return rate
    factor = (target_mach / measured_mach) ** exponent
    return rate * min(max(factor, 1.0 / max_factor), max_factor)


@dataclass
class MachController:
    """Time-averages M_s over each control interval and corrects the injection rate after it.

    Parameters
    ----------
    target_mach : float
        Sonic Mach number aimed at.
    interval : float
        Control interval in code time.
    enabled : bool
        When False, the averages are still recorded (for the log) but the rate is never changed.
    first_update : float, optional
        Code time of the first update (its average covers the interval before it); two
        intervals by default. Later for runs whose spin-up is slow: updates during the spin-up
        raise the rate toward one the saturated flow does not need, and M_s overshoots.
    """

    target_mach: float
    interval: float
    enabled: bool = True
    first_update: float = 0.0
    next_time: float = 0.0
    mach_time_integral: float = 0.0
    elapsed: float = 0.0
    history: list = field(default_factory=list)

    def __post_init__(self):
        if not self.next_time:
            # the first half turnover is spin-up from rest: the first average starts after it
            self.next_time = self.first_update or 2.0 * self.interval

    def record(self, time, dt, mach):
        """Add a step of length ``dt`` that ended at ``time`` with sonic Mach number ``mach``;
        averages start one interval before the first update."""
        if time > self.next_time - self.interval:
            self.mach_time_integral += mach * dt
            self.elapsed += dt

    def due(self, time):
        return time >= self.next_time * (1.0 - 1.0e-12)

    def update(self, time, rate):
        """Close the interval at ``time``; returns the (possibly corrected) injection rate."""
        mean_mach = self.mach_time_integral / self.elapsed if self.elapsed > 0.0 else math.nan
        new_rate = (corrected_injection_rate(rate, self.target_mach, mean_mach)
                    if self.enabled else rate)
        self.history.append({"time": time, "mean_mach": mean_mach, "rate_before": rate,
                             "rate_after": new_rate})
        self.mach_time_integral, self.elapsed = 0.0, 0.0
        self.next_time += self.interval
        return new_rate

    def state_dict(self):
        return asdict(self)

    def load_state_dict(self, saved):
        for name, value in saved.items():
            setattr(self, name, value)
