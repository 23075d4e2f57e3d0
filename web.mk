# Website set-up (issue 5): a local MathJax 3 served from the site, and Chromium for the browser test.
# Included by the Makefile; `make venv` (so `make book` and `make test`) builds these stamps.
#
# - `npm ci` installs the MathJax pinned in package-lock.json; the parts a page can load (the
#   tex-chtml bundle, its fonts, TeX extensions for \require/autoload, the menu and its
#   accessibility add-ons) are staged into node_modules/.site/mathjax, which _config.yml lists in
#   `html_extra_path`, so the site serves them at /mathjax/ and no page needs a CDN.
# - The same `npm ci` installs Plotly.js (the "basic" partial bundle: scatter, bar, pie, with
#   sliders, buttons and animation frames in its core; plotly.js-basic-dist-min in package.json),
#   staged into node_modules/.site/plotly so the site serves it at /plotly/. The interactive
#   figures of mplib/interactive.py load it once per page through _static/mp-interactive.js.
# - Tests drive Debian's Chromium (/usr/bin/chromium) through the Python `playwright` package
#   (requirements.txt); we never run `playwright install`.

MATHJAX_SRC   := node_modules/mathjax/es5
MATHJAX_SITE  := node_modules/.site/mathjax
MATHJAX_STAMP := node_modules/.site-staged
PLOTLY_SRC    := node_modules/plotly.js-basic-dist-min
PLOTLY_SITE   := node_modules/.site/plotly
CHROMIUM      := /usr/bin/chromium
SUDO          := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo)

SETUP_EXTRA += $(MATHJAX_STAMP) $(CHROMIUM)

.PHONY: web-check screenshots

$(MATHJAX_STAMP): package.json package-lock.json web.mk
	@command -v npm >/dev/null || { echo "error: npm not found (install Node.js and npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf node_modules/.site
	mkdir -p $(MATHJAX_SITE)/input $(MATHJAX_SITE)/output
	cp $(MATHJAX_SRC)/tex-chtml.js node_modules/mathjax/LICENSE $(MATHJAX_SITE)/
	cp -R $(MATHJAX_SRC)/input/tex $(MATHJAX_SITE)/input/
	cp -R $(MATHJAX_SRC)/output/chtml $(MATHJAX_SITE)/output/
	cp -R $(MATHJAX_SRC)/ui $(MATHJAX_SRC)/a11y $(MATHJAX_SRC)/sre $(MATHJAX_SITE)/
	mkdir -p $(PLOTLY_SITE)
	cp $(PLOTLY_SRC)/plotly-basic.min.js $(PLOTLY_SRC)/LICENSE $(PLOTLY_SITE)/
	touch $@

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser test (tests/test_site.py)"
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

# Run only the browser tests against the current _build/html (after `make book`): every page,
# and the interactive figures (tests/test_site_interactive.py).
web-check: venv
	$(BIN)/python -m pytest -q tests/test_site.py tests/test_site_interactive.py

# The same, saving a dark-mode screenshot of every page too (_build/screenshots/*-dark.png).
screenshots: venv
	SITE_DARK_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/test_site.py -k page_reads_cleanly
