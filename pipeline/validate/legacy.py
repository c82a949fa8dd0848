"""Reading paper documents written before the typed contracts (schema 1.0 / 1.1).

Those documents say where a text came from only in provenance notes ("source already English:
copied", "generated from the abstract: ...", "model reply unusable: ...", "fallback: ...") and why
a paper was skipped only in its one issue's ``check``. :func:`upgrade_document` derives the typed
``provenance.origins`` and ``validation.skip_reason`` from them once, when such a document is
loaded, so the rest of the pipeline reads types only and earlier outputs keep validating and
carrying over.
"""

from __future__ import annotations

from pipeline.models import SUMMARY_FIELDS, FieldOrigin, PaperDocument
from pipeline.stages.generate import GENERATED_PREFIX
from pipeline.stages.translate import COPIED_NOTE, REPLY_UNUSABLE_PREFIX

LEGACY_SCHEMAS = ("1.0", "1.1")
_SKIP_REASONS = ("budget", "provider", "not_selected")


def _notes(document: PaperDocument, stage: str) -> dict[str, str]:
    prov = document.provenance.stages.get(stage)
    return prov.notes if prov is not None else {}


def _field_origin(document: PaperDocument, name: str) -> FieldOrigin | None:
    translate, generate = _notes(document, "translate").get(name, ""), _notes(document, "generate").get(name, "")
    if translate == COPIED_NOTE:
        return "copied"
    if generate.startswith(GENERATED_PREFIX):
        return "generated"
    if translate.startswith(REPLY_UNUSABLE_PREFIX):
        return "unusable"
    return "translated" if getattr(document.translation, name) is not None else None


def legacy_origins(document: PaperDocument) -> dict[str, FieldOrigin]:
    """The typed origins a schema-1.1 document's notes describe (module docstring)."""
    origins: dict[str, FieldOrigin] = {}
    for name in SUMMARY_FIELDS:
        origin = _field_origin(document, name)
        if origin is not None:
            origins[f"translation.{name}"] = origin
    if any(n.startswith("fallback") for n in _notes(document, "resummarize").values()):
        origins["summary.tldr"] = "fallback"
    elif document.summary.tldr is not None:
        origins["summary.tldr"] = "generated"
    return origins


def upgrade_document(document: PaperDocument) -> PaperDocument:
    """``document`` with typed origins and skip reason derived from its notes and issues when it
    was written before they existed (schema 1.0/1.1); any other document as it is. The
    ``schema_version`` is kept: the document on disk is not rewritten by reading it."""
    if document.schema_version not in LEGACY_SCHEMAS:
        return document
    validation = document.validation
    if validation.status == "skipped" and validation.skip_reason is None:
        reason = next((i.check for i in validation.issues if i.check in _SKIP_REASONS), None)
        validation = validation.model_copy(update={"skip_reason": reason})
    provenance = document.provenance
    if not provenance.origins:
        provenance = provenance.model_copy(update={"origins": legacy_origins(document)})
    return document.model_copy(update={"validation": validation, "provenance": provenance})
