"""Knowledge-point ids for synthetic load (the benchmark has no database)."""
FAKE_KPS = list(range(1, 301))
