"""One runner per job kind, ``run(job: JobRun, spec) -> None``; the table that names them is
``app.jobs.kinds.KINDS``."""
