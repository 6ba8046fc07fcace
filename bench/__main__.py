"""`python -m bench`: run the benchmarks."""

from bench.run import main

# Guarded: the load generator's spawned process re-imports this module as __mp_main__.
if __name__ == "__main__":
    raise SystemExit(main())
