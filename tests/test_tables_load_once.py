"""The word tables of the checks load once per process, however many worker threads reach them
at the same moment (lemminflect and wordfreq load lazily with no lock: 16 threads each loaded a
copy, and the first run of a process with the openai provider at concurrency 16 took 18.9 s
instead of 3.8 s)."""

from __future__ import annotations

import subprocess
import sys

_CHILD = """
import threading
import lemminflect.codecs.LemmaLUCodec as codec
import wordfreq

loads = {"lemmas": 0, "frequencies": 0}
lemma_load, read_pack = codec.LemmaLUCodec.load, wordfreq.read_cBpack

def counted_lemmas(*args, **kwargs):
    loads["lemmas"] += 1
    return lemma_load(*args, **kwargs)

def counted_pack(*args, **kwargs):
    loads["frequencies"] += 1
    return read_pack(*args, **kwargs)

codec.LemmaLUCodec.load = counted_lemmas
wordfreq.read_cBpack = counted_pack

from pipeline.validate.terms_en import english_terms
from pipeline.validate.vocab import word_info

start = threading.Barrier(16)

def work(i):
    start.wait()
    word_info(f"hospitals{i}" if i % 2 else "hospitals")
    english_terms(f"Shanghai hospitals use Model Y{i}.")

threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(loads["lemmas"], loads["frequencies"])
"""


def test_sixteen_threads_load_each_word_table_once() -> None:
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["1", "1"], done.stdout + done.stderr
