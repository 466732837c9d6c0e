"""Trigger a plugin action and collect the jobs it starts (without changing what they do)."""

__all__ = ["trigger_recording_jobs"]


def trigger_recording_jobs(action, job_class, monkeypatch):
    """Trigger ``action`` with ``job_class.start`` recorded; return the jobs it started.

    Parameters
    ----------
    action : qtpy.QtWidgets.QAction
        The menu entry to trigger.
    job_class : type
        ``glue_turbml.qt.controller.ClassifyJob`` or ``MapJob``; patched only while the
        action runs, so later jobs start as usual.
    monkeypatch : pytest.MonkeyPatch

    Returns
    -------
    list
        The started jobs, in order (each still started for real).
    """
    jobs = []
    original_start = job_class.start

    def recording_start(job):
        jobs.append(job)
        return original_start(job)

    with monkeypatch.context() as patch:
        patch.setattr(job_class, "start", recording_start)
        action.trigger()
    return jobs
