"""Benchmarks: they print figures with their baseline from the same run; they are not tests."""
