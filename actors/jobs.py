"""Ray jobs (``ray job submit``) as ``perturbo status`` lists them: read from the dashboard's
job API with Ray's own :class:`~ray.job_submission.JobSubmissionClient`."""

from __future__ import annotations

from dataclasses import dataclass

from perturbo.types import PerturboError


@dataclass(frozen=True)
class JobRow:
    submission_id: str
    job_id: str
    status: str
    entrypoint: str
    start_time: float
    """Unix seconds (0 where not started)."""


def perturbo_jobs(address: str) -> list[JobRow]:
    """The jobs at the dashboard ``address`` whose entrypoint runs perturbo, newest first."""
    if not address.startswith(("http://", "https://")):
        raise PerturboError(
            f"--address {address!r}: submitted jobs are listed from the Ray dashboard; pass its "
            "URL, e.g. --address http://127.0.0.1:8265 (the address `ray job submit` uses)"
        )
    try:
        from ray.job_submission import JobSubmissionClient

        jobs = JobSubmissionClient(address).list_jobs()
    except Exception as e:  # noqa: BLE001 - the dashboard, not the user's input
        msg = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise PerturboError(
            f"could not list the Ray jobs at {address!r} ({msg}): is the cluster up, and is that "
            "its dashboard URL (`ray start --head` prints it)?"
        ) from None
    rows = [
        JobRow(
            submission_id=str(j.submission_id or ""),
            job_id=str(j.job_id or ""),
            status=str(getattr(j.status, "value", j.status)),
            entrypoint=str(j.entrypoint or ""),
            start_time=(j.start_time or 0) / 1000.0,
        )
        for j in jobs
        if "perturbo" in str(j.entrypoint or "")
    ]
    return sorted(rows, key=lambda r: -r.start_time)


__all__ = ["JobRow", "perturbo_jobs"]
