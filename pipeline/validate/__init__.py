"""Deterministic validation of translated fields and the English re-summary.

See :mod:`pipeline.validate.checks` for every check, its threshold and severity,
:mod:`pipeline.validate.suites` for which checks apply to which kind of text, and
:mod:`pipeline.validate.numbers` for number extraction.
"""

from pipeline.validate.suites import (
    CHECK_NAMES,
    GENERATED_CHECKS,
    SUMMARY_CHECKS,
    SUMMARY_FIELD,
    TRANSLATION_CHECKS,
    check_generated,
    check_summary,
    check_translation,
)
from pipeline.validate.numbers import extract_number_tokens, extract_numbers

__all__ = [
    "CHECK_NAMES",
    "GENERATED_CHECKS",
    "SUMMARY_CHECKS",
    "SUMMARY_FIELD",
    "TRANSLATION_CHECKS",
    "check_generated",
    "check_summary",
    "check_translation",
    "extract_number_tokens",
    "extract_numbers",
]
