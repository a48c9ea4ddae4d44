"""The description's stream step, verbatim: doubles ``amount`` chunk by chunk."""


def run(ctx, input, output):
    def _iter_chunks():
        for chunk in input:
            frame = chunk.copy()
            frame["amount"] = frame["amount"] * 2
            yield frame

    return {"output": _iter_chunks()}


run.declared_inputs = ["input"]
run.declared_outputs = ["output"]
run.supports_stream = True
