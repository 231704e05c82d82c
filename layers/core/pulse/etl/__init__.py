"""ETL coordination: settings, jobs and their dispatch, status reports, scheduled syncs, live progress."""
