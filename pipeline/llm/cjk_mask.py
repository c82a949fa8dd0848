"""CJK suppression for the ``local`` provider: bar a model from writing CJK text.

Every output the pipeline asks for is English, and the small embedded models often answer a
Chinese source by echoing it. :func:`cjk_token_ids` finds the tokens of a model's vocabulary that
would write CJK ideographs, kana, Hangul, CJK or full-width punctuation (including byte-fallback
pieces of such characters); :func:`suppress_logits` gives them a logit of -inf during sampling.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["cjk_token_ids", "suppress_logits", "writes_cjk"]

_CJK_TEXT = re.compile(r"[\u2e80-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
_CJK_LEAD_BYTES = frozenset([*range(0xE3, 0xEE), 0xEF])
"""UTF-8 lead bytes of U+3000..U+DFFF and U+F000..U+FFFF (kana, CJK, Hangul, full-width forms);
a token holding one can only start such a character (byte-fallback and byte-level BPE pieces)."""


def writes_cjk(piece: bytes) -> bool:
    """True if the token bytes ``piece`` write (or start writing) a CJK character."""
    return any(b in _CJK_LEAD_BYTES for b in piece) or bool(_CJK_TEXT.search(piece.decode("utf-8", "ignore")))


def cjk_token_ids(llm: Any) -> Any:
    """Ids of the tokens of ``llm`` (a ``llama_cpp.Llama``) that write CJK text, as a numpy int
    array (~0.7 s for Gemma's 262k-token vocabulary: build it once per loaded model)."""
    import numpy as np

    model = llm._model  # llama_cpp internals: token_to_piece(id) -> bytes
    return np.asarray([i for i in range(llm.n_vocab()) if writes_cjk(model.token_to_piece(i))], dtype=np.intc)


def suppress_logits(token_ids: Any) -> Any:
    """A llama_cpp LogitsProcessorList setting the logits of ``token_ids`` to -inf.

    llama_cpp runs a logits processor first in its sampler chain, over the whole vocabulary in
    token-id order, so position == token id.
    """
    import numpy as np
    from llama_cpp import LogitsProcessorList

    def processor(_input_ids: Any, scores: Any) -> Any:
        scores[token_ids] = -np.inf
        return scores

    return LogitsProcessorList([processor])
