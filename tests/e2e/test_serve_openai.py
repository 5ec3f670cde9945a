"""`tern serve` driven by the official `openai` client, as an editor or a script would use it."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from tests.support.serve import Serve

GREEDY = {"temperature": 0, "extra_body": {"ignore_eos": True}}  # the same text every time, to the token limit
STORY = [{"role": "user", "content": "Tell me a story"}]


def client(server: Serve, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=key, max_retries=0, timeout=120)


def test_models_lists_the_local_models_that_can_run(server: Serve) -> None:
    models = {m.id: m for m in client(server).models.list()}
    assert {"tiny:TQ2_0", "tiny:F16", "long:TQ2_0", "huge:TQ2_0"} <= set(models)
    tiny = models["tiny:TQ2_0"].model_extra["tern"]
    assert tiny["encoding"] == "TQ2_0" and tiny["synthetic"] is True and tiny["file_bytes"] > 0
    assert models["tiny:F16"].model_extra["tern"]["encoding"] == "F16"
    assert models["huge:TQ2_0"].model_extra["tern"]["ram_fit"] == "won't fit"


def test_chat_completion_with_usage_and_figures(server: Serve) -> None:
    r = client(server).chat.completions.create(model="tiny", messages=STORY, max_tokens=12, **GREEDY)
    choice = r.choices[0]
    assert r.model == "tiny:TQ2_0" and r.object == "chat.completion"
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason == "length"
    assert r.usage.completion_tokens == 12 and r.usage.prompt_tokens > 3
    assert r.usage.total_tokens == r.usage.prompt_tokens + 12
    tern = r.model_extra["tern"]
    assert tern["ttft_ms"] > 0 and tern["decode_tps"] > 0 and tern["peak_rss_bytes"] > 10 * 2**20
    assert tern["generated_tokens"] == 12 and tern["encoding"] == "TQ2_0"
    energy = tern["energy"]
    assert energy["label"]  # which power source, or that there is none
    if energy["j_per_token"] is None:
        assert energy["reason"]  # "—" always comes with why
    else:
        assert energy["j_per_token"] > 0 and energy["method"] in ("measured", "estimated")


def test_streaming_chat_equals_the_whole_reply(server: Serve) -> None:
    c = client(server)
    whole = c.chat.completions.create(model="tiny:tq2_0", messages=STORY, max_tokens=30, **GREEDY)
    chunks = list(c.chat.completions.create(model="tiny:tq2_0", messages=STORY, max_tokens=30, stream=True,
                                            stream_options={"include_usage": True}, **GREEDY))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == whole.choices[0].message.content
    finals = [ch for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert [f.choices[0].finish_reason for f in finals] == ["length"]
    assert finals[0].model_extra["tern"]["decode_tps"] > 0
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 30
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens
    assert all(ch.usage is None for ch in chunks[:-1])


def count_tokens(model: Path, text: str) -> int:
    """The model's own tokenizer (llama.cpp's, in a child: importing llama_cpp leaves two files open)."""
    code = ("import sys, llama_cpp; v = llama_cpp.Llama(sys.argv[1], vocab_only=True, verbose=False); "
            "print(len(v.tokenize(sys.argv[2].encode(), add_bos=True, special=True)))")
    out = subprocess.run([sys.executable, "-c", code, str(model), text], capture_output=True, text=True, timeout=60)
    return int(out.stdout.strip())


def test_text_completions_count_the_prompt_like_the_tokenizer(server: Serve, tiny_models: dict[str, Path]) -> None:
    prompt = "Once upon a time, a heron"
    c = client(server)
    r = c.completions.create(model="tiny", prompt=prompt, **GREEDY)  # OpenAI's default: 16 tokens
    assert r.object == "text_completion" and r.choices[0].text
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 16
    assert r.usage.prompt_tokens == count_tokens(tiny_models["tq2_0"], prompt)
    streamed = list(c.completions.create(model="tiny", prompt=prompt, max_tokens=16, stream=True, **GREEDY))
    assert "".join(ch.choices[0].text for ch in streamed) == r.choices[0].text
    assert streamed[-1].choices[0].finish_reason == "length"


def test_stop_sequence_cuts_the_reply_before_it(server: Serve) -> None:
    c = client(server)
    full = c.chat.completions.create(model="tiny", messages=STORY, max_tokens=40, **GREEDY).choices[0].message.content
    stop = full[12:15]  # text from the middle of the reply
    cut = full[: full.index(stop)]
    r = c.chat.completions.create(model="tiny", messages=STORY, max_tokens=40, stop=[stop, "never-there"], **GREEDY)
    assert r.choices[0].message.content == cut
    assert r.choices[0].finish_reason == "stop"
    assert 0 < r.usage.completion_tokens < 40
    chunks = list(c.chat.completions.create(model="tiny", messages=STORY, max_tokens=40, stop=stop, stream=True,
                                            **GREEDY))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == cut
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_max_completion_tokens_limits_the_reply(server: Serve) -> None:
    r = client(server).chat.completions.create(model="tiny", messages=STORY, max_completion_tokens=5, **GREEDY)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 5


def test_eight_concurrent_clients_all_complete(server: Serve) -> None:
    n = 23  # a length no other test asks for: the server's log lines of this test are the ones with it

    def one(i: int) -> tuple[str, int, str]:
        chunks = list(client(server).chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": f"Client {i} says hello"}], max_tokens=n,
            stream=True, stream_options={"include_usage": True}, seed=i, **GREEDY))
        text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        finish = next(ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason)
        return text, chunks[-1].usage.completion_tokens, finish

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert all(text and count == n and finish == "length" for text, count, finish in results), results
    mine = f"+{n} tokens · finish: length"
    server.wait_until(lambda lines: sum(line.startswith("/v1/chat/completions tiny:TQ2_0 200 · ") and mine in line
                                        for line in lines) == 8)


def test_unknown_model_is_a_404_naming_the_models_here(server: Serve) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        client(server).chat.completions.create(model="gpt-4o", messages=STORY)
    assert "tiny:TQ2_0" in str(e.value)


def test_a_conversation_longer_than_the_context_is_a_400_unless_a_policy_is_asked_for(server: Serve) -> None:
    chat = [m for i in range(10) for m in ({"role": "user", "content": f"Question {i}: " + "tell me more. " * 12},
                                           {"role": "assistant", "content": "Here is more of it. " * 12})]
    chat.append({"role": "user", "content": "And the last question?"})  # ~4,000 tokens; tiny's context is 2,048
    c = client(server)
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(model="tiny", messages=chat, max_tokens=4)
    assert e.value.code == "context_length_exceeded" and "2048" in str(e.value)
    r = c.chat.completions.create(model="tiny", messages=chat, max_tokens=4, temperature=0,
                                  extra_body={"ignore_eos": True, "context_policy": "truncate_middle"})
    context = r.model_extra["tern"]["context"]
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 4
    assert context["policy"] == "truncate_middle" and context["dropped"] >= 2 and context["n_ctx"] == 2048
    assert r.usage.prompt_tokens == context["prompt_tokens"] < 2048
