"""Publishing where daily-arXiv-ai-enhanced sites read: the English data file, the Atom feed, the
HTML report, and ``digest-pipeline publish`` (copy into a checkout of the site's ``data`` branch).

Modules: :mod:`~pipeline.publish.names` (file-name and date rules), :mod:`~pipeline.publish.datafile`
(``<date>_AI_enhanced_English.jsonl``), :mod:`~pipeline.publish.feed` (``feed.xml``),
:mod:`~pipeline.publish.report` (``report.html``), :mod:`~pipeline.publish.command` (``publish``),
:mod:`~pipeline.publish.settings` (the ``publish:`` config section).
"""
