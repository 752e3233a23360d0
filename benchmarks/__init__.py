"""Benchmark and conformance suites; each module runs as a script (python -m kernforge.benchmarks.<name>)."""
