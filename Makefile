# The two commands of the README: `make run` and `make test`. Both create the virtualenv and
# install the project when needed; with no DATABASE_URL they start a private PostgreSQL.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench lint format setup browser pdflibs deploy-check assets dbstop reset

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The design system (Bootstrap 5.3 with the project's theme, LTR and RTL; axe-core for the
# browser tests) from the npm registry, compiled into frontend/static/frontend/build/.
ASSETS := frontend/static/frontend/build/muamalat.css
NODE_STAMP := node_modules/.installed-stamp

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(ASSETS): $(NODE_STAMP) frontend/build.mjs $(wildcard frontend/assets/*.scss)
	npm run --silent build

assets: $(ASSETS)

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium fonts-noto-core >/dev/null || \
	    (apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-noto-core >/dev/null); \
	  else echo "chromium missing: sudo apt-get install chromium (browser tests will be skipped)"; fi; }

# Pango (HarfBuzz shaping) and Arabic fonts for the PDF reports (weasyprint); pdftotext
# (poppler-utils) lets the tests read the text of the PDFs they generate.
pdflibs:
	@{ ldconfig -p | grep -q libpangoft2-1.0 && fc-list :lang=ar | grep -qi noto && command -v pdftotext >/dev/null; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q libpangoft2-1.0-0 fonts-noto-core poppler-utils >/dev/null || \
	    (apt-get update -q >/dev/null && apt-get install -y -q libpangoft2-1.0-0 fonts-noto-core poppler-utils >/dev/null); \
	  else echo "PDF reports need: sudo apt-get install libpangoft2-1.0-0 fonts-noto-core poppler-utils"; fi; }

run: $(STAMP) pdflibs assets
	$(PY) infra/run.py serve

test: $(STAMP) browser pdflibs assets
	$(PY) infra/run.py test -- $(ARGS)

bench: $(STAMP) assets
	$(PY) infra/run.py bench -- $(ARGS)

# ruff, then the layers contract of pyproject.toml (import-linter: no import runs back up).
lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

# Django's deployment checks with production-like settings (random keys, TLS, HSTS): any
# warning fails. No database is needed.
deploy-check: $(STAMP)
	env DEBUG=0 SECURE_COOKIES=1 SECURE_SSL_REDIRECT=1 SECURE_HSTS_SECONDS=31536000 \
	  SECURE_HSTS_INCLUDE_SUBDOMAINS=1 SECURE_HSTS_PRELOAD=1 \
	  ALLOWED_HOSTS=portal.example SITE_URL=https://portal.example \
	  EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend \
	  SMS_BACKEND=notifications.backends.sms.TwilioSmsBackend \
	  $$($(PY) -m portal.keys) \
	  $(PY) manage.py check --deploy --fail-level WARNING

format: $(STAMP)
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

dbstop:
	$(PY) infra/run.py dbstop

# Start afresh: stop `make run`'s private PostgreSQL and delete its data (var/pgdata: the demo
# data and everything entered) and the attachments (var/private), after typing "yes"
# (`make reset YES=1` does not ask). Stdlib only: works before the virtualenv exists.
reset:
	$(PYTHON) infra/run.py reset $(if $(YES),-- --yes)
