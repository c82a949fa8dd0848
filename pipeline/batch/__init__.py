"""Batch mode: the model requests of a run answered by a provider's batch engine instead of direct calls.

The OpenAI Batch API (``POST /v1/files`` with ``purpose=batch``, ``POST /v1/batches``, ``GET
/v1/batches/{id}``; OpenAI API reference, "Batch" and "Files") and vLLM's ``run_batch``
(``python -m vllm.entrypoints.openai.run_batch -i requests.jsonl -o results.jsonl``) read the same
JSONL input lines and write the same kind of output lines. A run goes round by round:

1. plan the selected papers (:mod:`pipeline.plan`): the requests that can be sent now;
2. write them as batch input lines (:mod:`pipeline.batch.lines`), one per distinct cache key,
   split at the API's limits;
3. submit, poll to the end and download (:mod:`pipeline.batch.client`), recording every batch in
   the state file (:mod:`pipeline.batch.state`) so a killed run resumes polling instead of
   submitting again;
4. put each answer into the stage cache (:mod:`pipeline.batch.results`);
5. plan again: re-summaries and re-asks become sendable; repeat (:mod:`pipeline.batch.driver`);

then write the outputs through the normal run path, every answer from the cache
(:mod:`pipeline.batch.finish`). ``batch export`` / ``batch import`` (:mod:`pipeline.batch.app`)
do steps 1-2 and 4 for an engine the user runs.
"""
