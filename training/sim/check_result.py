"""One row of the solver verification table: a measured value, its limit and where it comes from."""

from dataclasses import asdict, dataclass

__all__ = ["CheckResult"]


@dataclass
class CheckResult:
    """One row of the verification table."""

    name: str
    measured: float
    threshold: float
    comparison: str          # "<" or ">": how measured must relate to threshold
    source: str              # where the threshold comes from
    seconds: float = 0.0

    @property
    def passed(self):
        if self.comparison == "<":
            return bool(self.measured < self.threshold)
        return bool(self.measured > self.threshold)

    def as_dict(self):
        row = asdict(self)
        row["passed"] = self.passed
        return row
