"""Scenarios: worlds built from knobs, run in virtual time, reported as a matrix."""
