# Instructor's steps (see book/instructors.md). Included by the Makefile.
#   make release                            exercises/ from solutions/ (every assignment)
#   make collect     A=01_aggregators [FROM=dir]
#   make zip-collect A=01_aggregators ZIP=download.zip
#   make autograde   A=01_aggregators [WORKERS=2] [SEED=2025] [TIMEOUT=60]
#   make feedback    A=01_aggregators
#   make export      A=01_aggregators   -> grades/01_aggregators.csv

COURSE := $(BIN)/python -m course

.PHONY: release collect zip-collect autograde feedback export

define need-assignment
	@test -n "$(A)" || { echo "error: name the assignment, e.g. make $@ A=01_aggregators"; exit 1; }
endef

release: venv
	$(COURSE) release $(A)

collect: venv
	$(need-assignment)
	$(COURSE) collect $(A) $(if $(FROM),--from $(FROM))

zip-collect: venv
	$(need-assignment)
	@test -n "$(ZIP)" || { echo "error: give the LMS download, e.g. make zip-collect A=$(A) ZIP=download.zip"; exit 1; }
	$(COURSE) zip-collect $(A) $(ZIP)

autograde: venv
	$(need-assignment)
	$(COURSE) autograde $(A) $(if $(WORKERS),--workers $(WORKERS)) $(if $(SEED),--seed $(SEED)) $(if $(TIMEOUT),--timeout $(TIMEOUT))

feedback: venv
	$(need-assignment)
	$(COURSE) feedback $(A)

export: venv
	$(need-assignment)
	$(COURSE) export $(A)
