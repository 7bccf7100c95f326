"""Side-by-side benchmarks of Dockyard and the reference registry; results in docs/benchmarks.md."""
