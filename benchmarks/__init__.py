"""Benchmarks: scripts that print tables comparing this project with its peers."""
