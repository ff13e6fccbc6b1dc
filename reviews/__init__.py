"""Feedback: a job's customer reviews the tradesperson who did it; rating summaries (a read model) for profiles and matching."""
