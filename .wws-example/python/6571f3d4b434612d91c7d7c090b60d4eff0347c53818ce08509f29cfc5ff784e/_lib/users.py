# A helper module: folders starting with "_" are not routes; workers beside them import from them.
def describe_user(user_id):
    return {"id": user_id, "name": f"user {user_id}", "even": int(user_id) % 2 == 0}
