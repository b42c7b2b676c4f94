# llama.cpp peer for `sprout bench llm --vs-llama-cpp` (needs the PyPI package llama-cpp-python).
# Protocol: argv = model path, threads, context; then one JSON request per stdin line
# {"prompt": [token ids], "gen": N}; one JSON result per stdout line.
import json, resource, sys, time

import llama_cpp
import numpy as np
from llama_cpp import Llama

path, threads, n_ctx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
llm = Llama(model_path=path, n_threads=threads, n_threads_batch=threads, n_ctx=n_ctx,
            n_batch=512, logits_all=False, verbose=False)
load_s = time.perf_counter() - t0
n_vocab = llm.n_vocab()


def peak_rss():
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def last_logits():
    # The logits of the last evaluated token, straight from llama.cpp (`Llama.scores` only
    # holds them with logits_all=True).
    ptr = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(n_vocab,))


print(json.dumps({"ready": True, "load_s": load_s}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    prompt, gen = req["prompt"], req["gen"]
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(prompt)
    t1 = time.perf_counter()
    tok = int(np.argmax(last_logits()))
    ttft = time.perf_counter() - t0
    out = [tok]
    t2 = time.perf_counter()
    for _ in range(gen - 1):
        llm.eval([tok])
        tok = int(np.argmax(last_logits()))
        out.append(tok)
    t3 = time.perf_counter()
    rss = peak_rss()
    print(json.dumps({"prompt_s": t1 - t0, "gen_s": t3 - t2, "ttft_s": ttft, "tokens": out,
                      "peak_rss": rss}), flush=True)
