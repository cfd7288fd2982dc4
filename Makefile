# Two commands for a newcomer: `make run` and `make test`. Both set up .venv first.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
CATALOGS := $(patsubst %.po,%.mo,$(wildcard portal/translations/*/LC_MESSAGES/messages.po portal/*/translations/*/LC_MESSAGES/messages.po))
DB ?= data/procurement.db
PYTHON ?= python3

.PHONY: run test demo build bench translations clean

run: $(STAMP) $(CATALOGS)
	@test -f $(DB) || $(BIN)/prongsai demo --db $(DB)
	$(BIN)/prongsai build --exports --db $(DB)
	@# a throwaway complaints key unless one is set: contact details from earlier runs stay unreadable
	PRONGSAI_COMPLAINTS_KEY="$${PRONGSAI_COMPLAINTS_KEY:-$$($(BIN)/prongsai users genkey)}" $(BIN)/prongsai serve --db $(DB)

test: $(STAMP) $(CATALOGS)
	$(BIN)/pytest $(PYTEST_ARGS)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

# Refresh the message catalogs after changing translatable text.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --ignore-dirs='.* ._ complaints watch' -k _l -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching
	$(BIN)/pybabel extract -F portal/complaints/babel.cfg -k _l -o portal/complaints/translations/messages.pot .
	$(BIN)/pybabel update -i portal/complaints/translations/messages.pot -d portal/complaints/translations --no-fuzzy-matching
	$(BIN)/pybabel extract -F portal/watch/babel.cfg -k _l -o portal/watch/translations/messages.pot .
	$(BIN)/pybabel update -i portal/watch/translations/messages.pot -d portal/watch/translations --no-fuzzy-matching

bench: $(STAMP)
	@for b in $(filter-out bench/harness.py,$(wildcard bench/*.py)); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(CATALOGS)
