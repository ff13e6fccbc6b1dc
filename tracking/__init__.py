"""Tracking: on-the-way status, GPS pings and ETA, job chat (the tracking issue). Empty until that work lands."""
