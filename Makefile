# The two commands a new developer needs (see README.md):
#   make run    start the whole stack (web, relay, consumers, dev broker) on http://127.0.0.1:8000/
#   make test   ruff + mypy + the full pytest suite (installs everything it needs)
.PHONY: run test bench bench-smoke

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

bench:
	bash scripts/bench.sh

bench-smoke:
	bash scripts/bench.sh --smoke
