"""Model providers. Importing this package registers every built-in provider by name.

``local`` (llama.cpp, embedded GGUF models), ``openai`` (any OpenAI-compatible endpoint) and
``fake`` (scripted replies for tests and dry runs) are interchangeable behind
:class:`pipeline.llm.base.Provider`.
"""

from pipeline.llm import fake as _fake  # noqa: F401  (registers "fake")
from pipeline.llm.base import (
    Capabilities,
    ChatMessage,
    LLMRequest,
    LLMResponse,
    Provider,
    ProviderSettings,
    create_provider,
    default_stages,
    provider_names,
    provider_spec,
    register_provider,
    settings_problems,
    unregister_provider,
)

for _module in ("pipeline.llm.openai_provider", "pipeline.llm.local"):
    try:  # registration happens on import; the heavy libraries load lazily inside each provider
        __import__(_module)
    except ImportError:  # pragma: no cover - module not present in a partial install
        pass

__all__ = ["Capabilities", "ChatMessage", "LLMRequest", "LLMResponse", "Provider", "ProviderSettings",
           "create_provider", "default_stages", "provider_names", "provider_spec", "register_provider", "settings_problems",
           "unregister_provider"]
