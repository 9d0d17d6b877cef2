"""Scenario replay: the scenario file, the simulator, chaos, the provider sandbox, audits."""
