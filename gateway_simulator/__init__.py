"""SIMULATED payment gateway (no real money): the simulated card processor, with its state in the database.

:class:`gateway_simulator.gateway.DatabaseSimulatedGateway` plays the role of a remote processor
shared by every process (web, clock, workers) and surviving restarts. Nothing here moves money.
"""
