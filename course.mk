# Instructor's steps (see book/instructors.md). Included by the Makefile.
#   make release                            exercises/ from solutions/ (every assignment)
#   make collect     A=01_aggregators [FROM=dir]
#   make zip-collect A=01_aggregators ZIP=download.zip [LMS=canvas|moodle|generic]
#   make roster      FILE=gradebook.csv LMS=canvas|moodle|plain [A=04_wl for a Moodle worksheet]
#   make autograde   A=01_aggregators [WORKERS=2 | CLUSTER=tcp://host:8786] [SEED=2025] [TIMEOUT=60] [FORCE=1]
#   make feedback    A=01_aggregators
#   make export      A=01_aggregators   -> grades/01_aggregators.csv
#   make export      LMS=canvas|moodle [UNSCORED=blank|zero]   (no A: every assignment, LMS import sheet)

COURSE := $(BIN)/python -m course

.PHONY: release collect zip-collect roster autograde feedback export

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
	$(COURSE) zip-collect $(A) $(ZIP) $(if $(LMS),--lms $(LMS))

roster: venv
	@test -n "$(FILE)" || { echo "error: give the LMS's class list, e.g. make roster FILE=gradebook.csv LMS=canvas"; exit 1; }
	@test -n "$(LMS)" || { echo "error: say which LMS made $(FILE): LMS=canvas, moodle or plain"; exit 1; }
	$(COURSE) roster $(FILE) --lms $(LMS) $(if $(A),--assignment $(A))

autograde: venv
	$(need-assignment)
	$(COURSE) autograde $(A) $(if $(CLUSTER),--cluster $(CLUSTER)) $(if $(WORKERS),--workers $(WORKERS)) \
		$(if $(SEED),--seed $(SEED)) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(FORCE),--force)

feedback: venv
	$(need-assignment)
	$(COURSE) feedback $(A)

export: venv
	@test -n "$(A)$(LMS)" || { echo "error: name the assignment (A=01_aggregators), or LMS=canvas|moodle for the course sheet"; exit 1; }
	$(COURSE) export $(if $(A),$(A),--all) $(if $(LMS),--lms $(LMS)) $(if $(UNSCORED),--unscored $(UNSCORED))
