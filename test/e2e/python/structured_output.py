"""The official OpenAI Python SDK's structured-output helpers against the gateway.

Run by test/e2e/structured-output.e2e.test.ts with OPENAI_BASE_URL and OPENAI_API_KEY set and
PYTHONPATH=.pydeps (requirements-dev.txt). For every model named on the command line it calls
`client.chat.completions.parse()` and `client.chat.completions.stream()` with a pydantic model
as `response_format`, and prints one JSON line per call with what the SDK parsed.
"""

import json
import sys
from typing import Literal, Optional

from openai import OpenAI
from pydantic import BaseModel


class Guest(BaseModel):
    name: str
    age: int


class Booking(BaseModel):
    hotel: str
    nights: int
    breakfast: bool
    room: Literal["single", "double"]
    guests: list[Guest]
    notes: Optional[str]


MESSAGES = [
    {"role": "system", "content": "Extract the hotel booking."},
    {"role": "user", "content": "Book the Grand Hotel for two nights, a double room for Ann (34) and Bo (36)."},
]


def report(model: str, mode: str, completion) -> None:
    choice = completion.choices[0]
    parsed = choice.message.parsed
    if not isinstance(parsed, Booking):
        raise SystemExit(f"{model} {mode}: the SDK parsed {parsed!r}, not a Booking")
    usage = completion.usage
    print(json.dumps({
        "model": model,
        "mode": mode,
        "response_model": completion.model,
        "finish_reason": choice.finish_reason,
        "parsed": parsed.model_dump(),
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
    }), flush=True)


def main(models: list[str]) -> None:
    client = OpenAI(max_retries=0, timeout=30)
    for model in models:
        report(model, "parse", client.chat.completions.parse(model=model, messages=MESSAGES, response_format=Booking))
        with client.chat.completions.stream(
            model=model, messages=MESSAGES, response_format=Booking, stream_options={"include_usage": True}
        ) as stream:
            report(model, "stream", stream.get_final_completion())


if __name__ == "__main__":
    main(sys.argv[1:])
