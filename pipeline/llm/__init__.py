"""Model providers. Importing this package registers every built-in provider by name.

``local`` (llama.cpp, embedded GGUF models), ``openai`` (any OpenAI-compatible endpoint) and
``fake`` (scripted replies for tests and dry runs) are interchangeable behind
:class:`pipeline.llm.base.Provider`.
"""

from pipeline.llm import fake as _fake  # noqa: F401  (registers "fake")
from pipeline.llm.base import (
    ChatMessage,
    LLMRequest,
    LLMResponse,
    Provider,
    create_provider,
    provider_names,
    register_provider,
)

for _module in ("pipeline.llm.openai_provider", "pipeline.llm.local"):
    try:  # registration happens on import; the heavy libraries load lazily inside each provider
        __import__(_module)
    except ImportError:  # pragma: no cover - module not present in a partial install
        pass

__all__ = ["ChatMessage", "LLMRequest", "LLMResponse", "Provider", "create_provider",
           "provider_names", "register_provider"]
