"""digest-pipeline: daily arXiv digests (Chinese LLM summaries) to validated English JSON."""

__version__ = "0.1.0"
