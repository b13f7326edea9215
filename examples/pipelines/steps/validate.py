"""Checks the person: a name and a whole age, or the step fails (and the plan's on_failure edge takes over)."""


def step(state, env):
    person = state["data"]
    if not isinstance(person, dict) or not isinstance(person.get("name"), str):
        raise ValueError("a person needs a name")
    if not isinstance(person.get("age"), int) or person["age"] < 0:
        raise ValueError(f"{person['name']}: the age must be a whole number >= 0")
    return {"name": person["name"].strip(), "age": person["age"]}
