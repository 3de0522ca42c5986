"""Act on an audit: filter what was flagged (:mod:`.filter`), export a dataset with a card
that documents its artifacts (:mod:`.export`, :mod:`.card`)."""

from artifactual.curate.filter import FilterResult, filter_records
from artifactual.curate.rules import FilterRules, load_rules, parse_bounds

__all__ = ["filter_records", "FilterResult", "FilterRules", "load_rules", "parse_bounds"]
