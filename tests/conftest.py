import os

# Chains run in one process in tests: with tiny models, spawning worker
# processes costs more than it saves, and CI has only two cores.
os.environ.setdefault("BAYES_SKLEARN_TEST", "1")
