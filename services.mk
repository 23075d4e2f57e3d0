# Services for classes beyond one machine (issue 17, book/instructors.md): a PostgreSQL server for
# the gradebook tests. Included by the Makefile; `make venv` (so `make book` and `make test`) builds
# this stamp.
#
# - tests/test_course_postgres.py starts a throw-away server itself (initdb + pg_ctl in a temporary
#   directory, as `nobody` when run as root), so only Debian's `postgresql` package must be
#   installed; no cluster of the package is used or started.
# - The Python side (psycopg 3 for `postgresql://` URLs, dask and distributed for
#   `autograde --cluster`) is pinned in requirements.txt / constraints.txt like everything else.

POSTGRES_STAMP := $(VENV)/.postgresql
SUDO ?= $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo)

SETUP_EXTRA += $(POSTGRES_STAMP)

$(POSTGRES_STAMP): services.mk
	@if command -v initdb >/dev/null && command -v pg_ctl >/dev/null \
		|| ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; else \
		echo "Installing Debian's postgresql for the gradebook tests (tests/test_course_postgres.py)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; fi
	@mkdir -p $(VENV) && touch $@
