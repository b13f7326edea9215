"""Explains why the person was rejected, from the error the validation left in the state."""


def step(state, env):
    error = state["errors"]["validate"]
    return {"rejected": True, "reason": error["message"].strip().splitlines()[-1]}
