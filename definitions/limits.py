"""How big a definition may be: every size limit of the definitions format, in one place.

A provision type is also the snapshot each of its cases carries in its Temporal history,
so a definition that validates must stay well inside what Temporal accepts (it warns at
512 KB a payload and refuses 2 MB) and what a worker can read quickly. The limits are set
far above anything a housing organisation writes, so only a mistake or a hostile file
meets them. The schema (`definitions.schema`, `definitions.calendars`), the YAML reader
(`definitions.yaml_files`) and the loader all read them from here; the README lists them.

Durations have their own limits, per unit, in `definitions.durations.MAXIMUM`.
"""

from __future__ import annotations

# --- files ------------------------------------------------------------------------------

FILE_BYTES = 1024 * 1024
"""A types file or calendars.yaml larger than this (1 MiB) is refused before it is parsed."""

YAML_DEPTH = 40
"""Mappings and lists nested deeper than this in a YAML file are refused while parsing.
The deepest a provision type goes, follow-on rules at their deepest included, is about 20."""

YAML_VALUES = 100_000
"""A YAML file whose values, counting each alias as a copy of what it names, are more than
this is refused while parsing: it stops "billion laughs" alias bombs."""

PROBLEMS_PER_FILE = 200
"""Problems listed for one file; past them, one line says how many more there are (a file
of forty thousand unknown keys is one mistake, not forty thousand)."""

SNAPSHOT_BYTES = 256 * 1024
"""The largest a published type may be as JSON (with its calendar and bank holidays), as
each of its cases carries it in the start event of its Temporal history: half of what
Temporal warns at, an eighth of what it refuses."""

# --- texts (characters) ---------------------------------------------------------------------

NAME_LENGTH = 200
"""Names, labels, owners, services, partner agencies, options, durations, calendar ids."""

ADDRESS_LENGTH = 254
"""An email address (the longest a mail server accepts)."""

HELP_LENGTH = 2_000
"""Guidance shown beside an information field."""

DESCRIPTION_LENGTH = 10_000
"""What a provision type or a task is for."""

# --- lists ---------------------------------------------------------------------------------

TASKS = 100
"""Tasks of one provision type."""

DEPENDENCIES = 50
"""Dependencies of one task."""

FIELDS = 50
"""Information fields of one task."""

OPTIONS = 200
"""Answers of one lookup or multi-lookup field."""

OUTCOMES = 50
"""Outcomes of one task, or of one provision type."""

OCCURRENCES = 1_000
"""Occurrences of one recurring task by `times`: a weekly task for nineteen years."""

ADDED_TASKS = 50
"""Tasks one outcome adds to the plan (a workflow path)."""

PATHS = 20
"""Paths (decisions on what was recorded) of one task."""

CONDITION_PARTS = 20
"""Conditions directly under one `all` or `any`."""

CONDITION_DEPTH = 4
"""`all` / `any` nested in one another, at most this many levels: a decision a person can
still read (arrears above 500 and, any of, two debts or no income, is two)."""

CONDITION_TESTS = 50
"""Tests of a field in one path's condition, at every level together."""

NUMBER_BOUND = 10**15
"""The largest a field's `min` or `max` may be either way: the largest number answer a
request may carry (`casemodel.requests`)."""

ESCALATION_RULES = 20
"""Escalation rules of one task, or of one provision type."""

FOLLOW_ON_RULES = 10
"""Follow-on rules directly under one rule."""

FOLLOW_ON_DEPTH = 5
"""Follow-on rules under follow-on rules, at most this many levels below a rule."""

GROUPS = 50
"""Stakeholder groups one rule notifies."""

ADDRESSES = 100
"""Fixed addresses one rule notifies."""

SERVICES = 50
"""Services one provision type lists."""

PARTNER_AGENCIES = 50
"""Partner agencies one provision type lists."""

CALENDARS = 50
"""Calendars in calendars.yaml."""

EXTRA_CLOSURES = 500
"""Extra closure dates of one calendar."""

BANK_HOLIDAY_DATES = 1_000
"""Bank holiday dates a calendar carries in a snapshot (the loader fills in about 240)."""

LIST_LENGTHS = {
    "tasks": TASKS,
    "depends_on": DEPENDENCIES,
    "fields": FIELDS,
    "options": OPTIONS,
    "outcomes": OUTCOMES,
    "adds_tasks": ADDED_TASKS,
    "escalations": ESCALATION_RULES,
    "paths": PATHS,
    "all": CONDITION_PARTS,
    "any": CONDITION_PARTS,
    "one_of": OPTIONS,
    "follow_on": FOLLOW_ON_RULES,
    "groups": GROUPS,
    "addresses": ADDRESSES,
    "services": SERVICES,
    "partner_agencies": PARTNER_AGENCIES,
}
"""The limit of each list of a provision type, by field name. Checks that read raw YAML
read a list no further than this: the schema reports the rest as too long, and a file
cannot make them do a hundred times the work of a valid one."""
